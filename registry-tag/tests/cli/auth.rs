//! Credentials: environment, docker config `auths`, a `credHelpers` helper,
//! wrong passwords (named source, secret never printed), and the Bearer
//! token flow.

use serde_json::json;
use testkit::image::Kind;
use testkit::registry::{PASSWORD, USER};
use testkit::token_server::{base64_std, TokenField, TokenServer};

use crate::support::{
    assert_code, assert_exit, assert_hidden, assert_says, call, path_with, single_record, Registry,
    Sandbox, HTPASSWD_ENV,
};

/// Pushes `staging-1` to the shared htpasswd registry and returns
/// (registry, source reference, pushed digest).
fn protected() -> (Registry, String, String) {
    let registry = Registry::htpasswd();
    let pushed = registry.push("app", "staging-1", Kind::OciIndex, "auth");
    let source = registry.image("app:staging-1");
    (registry, source, pushed.digest)
}

#[test]
fn htpasswd_with_registry_username_and_password() {
    let (registry, source, digest) = protected();
    let out = Sandbox::new().run(&[&source, "latest"], &HTPASSWD_ENV, None);
    assert_code(&out, 0);
    assert_eq!(single_record(&out).digest, digest.as_str());
    registry.assert_at("app", "latest", &digest);
    assert_hidden(&out, PASSWORD);
}

#[test]
fn htpasswd_through_docker_config_auths() {
    let (registry, source, digest) = protected();
    let sandbox = Sandbox::new();
    let auth = base64_std(format!("{USER}:{PASSWORD}").as_bytes());
    sandbox.docker_config(&json!({"auths": {registry.authority(): {"auth": auth}}}));
    let out = sandbox.call(&[&source, "latest"]);
    assert_code(&out, 0);
    registry.assert_at("app", "latest", &digest);

    // DOCKER_CONFIG points elsewhere: that directory's config.json is used.
    let other = testkit::TempDir::new("docker-config").unwrap();
    std::fs::write(
        other.join("config.json"),
        json!({"auths": {format!("http://{}", registry.authority()): {"username": USER, "password": PASSWORD}}}).to_string(),
    )
    .unwrap();
    let out = sandbox.run(
        &[&source],
        &[("DOCKER_CONFIG", other.path().to_str().unwrap())],
        None,
    );
    assert_code(&out, 0);
}

#[test]
fn htpasswd_through_a_credential_helper_on_path() {
    let (registry, source, digest) = protected();
    let sandbox = Sandbox::new();
    let bin = sandbox.script(
        "docker-credential-testkit",
        &format!(
            "#!/bin/sh\n[ \"$1\" = get ] || exit 3\nserver=$(cat)\n\
             [ \"$server\" = \"{host}\" ] || {{ echo 'credentials not found in native keychain'; exit 1; }}\n\
             printf '{{\"ServerURL\":\"%s\",\"Username\":\"{USER}\",\"Secret\":\"{PASSWORD}\"}}' \"$server\"\n",
            host = registry.authority()
        ),
    );
    sandbox.docker_config(&json!({"credHelpers": {registry.authority(): "testkit"}}));
    let out = sandbox.run(&[&source, "latest"], &[("PATH", &path_with(&bin))], None);
    assert_code(&out, 0);
    registry.assert_at("app", "latest", &digest);
    assert_hidden(&out, PASSWORD);

    // The same helper as credsStore.
    sandbox.docker_config(&json!({"credsStore": "testkit"}));
    let out = sandbox.run(&[&source], &[("PATH", &path_with(&bin))], None);
    assert_code(&out, 0);
}

#[test]
fn a_wrong_password_names_the_source_and_never_the_secret() {
    let (registry, source, _) = protected();
    let wrong = "Wr0ng-Hunter2-secret";
    let sandbox = Sandbox::new();
    let out = sandbox.run(
        &[&source, "latest"],
        &[("REGISTRY_USERNAME", USER), ("REGISTRY_PASSWORD", wrong)],
        None,
    );
    assert_exit(&out, 1, "REGISTRY_USERNAME/REGISTRY_PASSWORD");
    assert_eq!(out.stderr.lines().count(), 1, "one line: {}", out.stderr);
    assert_hidden(&out, wrong);
    registry.assert_absent("app", "latest");

    let config = sandbox.docker_config(
        &json!({"auths": {registry.authority(): {"username": USER, "password": wrong}}}),
    );
    let out = sandbox.call(&[&source]);
    assert_exit(&out, 1, &format!("{} auths", config.display()));
    assert_hidden(&out, wrong);

    // No credentials at all: say so.
    let out = call(&[&source]);
    assert_exit(&out, 1, "anonymous");
}

#[test]
fn secrets_are_masked_first_under_github_actions() {
    let (_registry, source, _) = protected();
    let out = Sandbox::new().run(
        &[&source],
        &[HTPASSWD_ENV[0], HTPASSWD_ENV[1], ("GITHUB_ACTIONS", "true")],
        None,
    );
    assert_code(&out, 0);
    assert_eq!(
        out.stderr.lines().next(),
        Some(format!("::add-mask::{PASSWORD}").as_str())
    );
    assert!(!out.stdout.contains(PASSWORD));
}

#[test]
fn a_broken_config_is_a_usage_error() {
    let (_registry, source, _) = protected();
    let sandbox = Sandbox::new();
    std::fs::create_dir_all(sandbox.home.join(".docker")).unwrap();
    std::fs::write(sandbox.home.join(".docker/config.json"), "{not json").unwrap();
    let out = sandbox.call(&[&source]);
    assert_exit(&out, 2, "config.json");
}

#[test]
fn bearer_tokens_anonymous_pull_and_authenticated_push() {
    let tokens = TokenServer::start(&[("robot", "T0ken-Pass-9")], TokenField::AccessToken);
    // Its own registry and token service: the test counts every grant.
    let registry = Registry::token(&tokens);
    let pushed = registry.push("org/app", "staging-1", Kind::Oci, "bearer");
    let source = registry.image("org/app:staging-1");
    let sandbox = Sandbox::new();

    // Anonymous pull: a pull token, no credentials sent.
    let out = sandbox.call(&[&source]);
    assert_code(&out, 0);
    assert_eq!(single_record(&out).digest, pushed.digest.as_str());
    let grants = tokens.grants();
    assert_eq!(grants.len(), 1);
    assert_eq!(grants[0].user, None);
    assert_eq!(grants[0].scopes, ["repository:org/app:pull"]);

    // Anonymous push: the token holds pull only, so the registry refuses.
    let out = sandbox.call(&[&source, "latest"]);
    assert_exit(&out, 1, "anonymous");
    assert_eq!(registry.digest_of("org/app", "latest"), None);

    // Authenticated: one pull,push token for the whole move.
    let before = tokens.requests();
    let out = sandbox.run(
        &[&source, "latest"],
        &[
            ("REGISTRY_USERNAME", "robot"),
            ("REGISTRY_PASSWORD", "T0ken-Pass-9"),
        ],
        None,
    );
    assert_code(&out, 0);
    let grants = tokens.grants();
    assert_eq!(tokens.requests() - before, 1, "{grants:?}");
    let last = grants.last().unwrap();
    assert_eq!(last.user.as_deref(), Some("robot"));
    assert_eq!(last.scopes, ["repository:org/app:pull,push"]);
    assert_eq!(registry.digest_of("org/app", "latest"), Some(pushed.digest));
    assert_hidden(&out, "T0ken-Pass-9");

    // A wrong password is refused by the token service, and named.
    let out = sandbox.run(
        &[&source, "stable"],
        &[
            ("REGISTRY_USERNAME", "robot"),
            ("REGISTRY_PASSWORD", "nope-Secret-1"),
        ],
        None,
    );
    assert_exit(&out, 1, "REGISTRY_USERNAME/REGISTRY_PASSWORD");
    assert_says(&out, "token service");
    assert_hidden(&out, "nope-Secret-1");
}
