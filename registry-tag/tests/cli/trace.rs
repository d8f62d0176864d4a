//! `-v` traces every exchange and each auth step (the ping and its
//! challenge, a token fetch with its scope, a cached token reused) and marks
//! retries; `-vv` adds headers and body excerpts. No credential or token
//! appears at either level.

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use testkit::image::Kind;
use testkit::proxy::Fault;
use testkit::token_server::{TokenField, TokenServer};

use crate::support::{
    assert_code, assert_exit, assert_hidden, assert_says, call, Registry, Sandbox,
};

const ROBOT: &str = "robot";
const ROBOT_PASSWORD: &str = "Tr4ce-Robot-Pass";

#[test]
fn auth_steps_are_traced_and_no_secret_is() {
    let tokens = TokenServer::start(&[(ROBOT, ROBOT_PASSWORD)], TokenField::Both);
    // Its own registry and token service: the trace names this realm.
    let registry = Registry::token(&tokens);
    registry.push("org/app", "staging-1", Kind::OciIndex, "trace");
    let host = registry.host();
    let source = format!("{host}/org/app:staging-1");
    let env = [
        ("REGISTRY_USERNAME", ROBOT),
        ("REGISTRY_PASSWORD", ROBOT_PASSWORD),
    ];
    let sandbox = Sandbox::new();

    let out = sandbox.run(&["-v", &source, "latest"], &env, None);
    assert_code(&out, 0);
    let realm = tokens.signer().realm().to_string();
    for expected in [
        format!("registry-tag: GET http://{host}/v2/ -> 401 in "),
        format!(
            "registry-tag: ping {host}: Bearer tokens from {realm} (service testkit-registry), \
             credentials from REGISTRY_USERNAME/REGISTRY_PASSWORD"
        ),
        format!("registry-tag: token for repository:org/app:pull,push from {realm}"),
        "registry-tag: token for repository:org/app:pull,push (cached)".to_string(),
        format!("registry-tag: PUT http://{host}/v2/org/app/manifests/latest -> 201 in "),
    ] {
        assert_says(&out, &expected);
    }
    assert_hidden(&out, ROBOT_PASSWORD);

    // -vv: headers and bodies; the Authorization header is never shown.
    let out = sandbox.run(&["-vv", &source, "stable"], &env, None);
    assert_exit(&out, 0, "authorization: ***");
    assert_hidden(&out, ROBOT_PASSWORD);
    assert_hidden(&out, &STANDARD.encode(format!("{ROBOT}:{ROBOT_PASSWORD}")));
}

#[test]
fn retries_are_numbered() {
    let (registry, _) = Registry::holding("app", "v1", Kind::Oci);
    let proxy = registry.proxy();
    proxy.add_fault(Fault::status("HEAD", "/app/manifests/v1", 1, 503).times(1));
    let out = call(&["-v", &proxy.image("app:v1")]);
    assert_code(&out, 0);
    let url = format!(
        "{}/v2/{}/app/manifests/v1",
        proxy.url(),
        registry.namespace()
    );
    assert_says(&out, &format!("HEAD {url} -> 503 in "));
    assert!(
        out.stderr
            .lines()
            .any(|l| l.contains(&format!("HEAD {url} -> 200 in ")) && l.ends_with("(retry 1)")),
        "{}",
        out.stderr
    );
}
