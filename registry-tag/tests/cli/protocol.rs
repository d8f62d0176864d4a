//! Registry protocol details: HEAD without a digest, oversized manifests,
//! and no `Authorization` header across a redirect.

use serde_json::json;
use testkit::image::{Kind, OCI_MANIFEST};
use testkit::proxy::Fault;
use testkit::registry::PASSWORD;

use crate::support::{
    assert_code, assert_exit, assert_hidden, call, single_record, Registry, Sandbox, HTPASSWD_ENV,
};

#[test]
fn a_head_without_digest_falls_back_to_get() {
    let (registry, pushed) = Registry::holding("app", "v1", Kind::DockerList);
    let proxy = registry.proxy();
    proxy.strip_response_header("Docker-Content-Digest");
    let out = call(&[&proxy.image("app:v1")]);
    assert_code(&out, 0);
    assert_eq!(single_record(&out).digest, pushed.digest.as_str());
    assert_eq!(proxy.methods_at("/manifests/v1"), ["HEAD", "GET"]);
}

#[test]
fn manifests_over_4_mib_are_refused() {
    // distribution 2.8 itself refuses to store them, so the proxy forges one.
    let (registry, small) = Registry::holding("big", "latest", Kind::Oci);
    registry.push("big", "huge", Kind::Oci, "huge");
    let bytes = serde_json::to_vec(&json!({
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "layers": [],
        "annotations": {"padding": "x".repeat(5 << 20)},
    }))
    .unwrap();
    let proxy = registry.proxy();
    proxy.add_fault(Fault::status("GET", "/big/manifests/huge", 1, 200).body(OCI_MANIFEST, bytes));
    let out = call(&[&proxy.image("big:huge"), "latest"]);
    assert_exit(&out, 1, "larger than 4 MiB");
    assert_eq!(registry.digest_of("big", "latest"), Some(small.digest));
}

#[test]
fn authorization_is_not_sent_across_a_redirect() {
    let registry = Registry::htpasswd();
    registry.push("app", "v1", Kind::Oci, "redirect");
    let elsewhere = registry.proxy();
    let front = registry.proxy();
    let ns = registry.namespace();
    front.add_fault(Fault::redirect(
        "GET",
        "/app/manifests/v1",
        1,
        &format!("{}/v2/{ns}/app/manifests/v1", elsewhere.url()),
    ));
    let args = [&front.image("app:v1"), "latest"];
    let out = Sandbox::new().run(&args, &HTPASSWD_ENV, None);
    // The redirected GET reaches the other host without credentials, and
    // the registry behind it refuses it.
    assert_code(&out, 1);
    assert!(
        !elsewhere.requests().is_empty(),
        "the redirect was not followed"
    );
    assert_eq!(
        elsewhere.authorized_requests(),
        Vec::<(String, String)>::new()
    );
    assert!(!front.authorized_requests().is_empty());
    assert_hidden(&out, PASSWORD);
}
