//! Resolving and listing tags; bad and missing references.

use testkit::image::Kind;

use crate::support::{
    assert_code, assert_exit, call, single_record, tag_records, Registry, Sandbox,
};

#[test]
fn resolve_prints_the_tag_record() {
    let (registry, pushed) = Registry::holding("team/app", "v1", Kind::Oci);
    let image = registry.image("team/app");
    let out = call(&[&format!("{image}:v1")]);
    assert_code(&out, 0);
    let record = single_record(&out);
    assert_eq!(record.image, image);
    assert_eq!(record.tag, "v1");
    assert_eq!(record.digest, pushed.digest);
    assert!(!record.changed);
    assert!(record.previous.is_none() && record.source.is_none());
}

#[test]
fn resolve_by_digest_checks_it_exists() {
    let (registry, pushed) = Registry::holding("app", "v1", Kind::DockerV2);
    let sandbox = Sandbox::new();
    let out = sandbox.call(&[&format!("{}/app@{}", registry.host(), pushed.digest)]);
    assert_code(&out, 0);
    assert_eq!(single_record(&out).digest, pushed.digest.as_str());

    let absent = format!("sha256:{}", "0".repeat(64));
    let out = sandbox.call(&[&format!("{}/app@{absent}", registry.host())]);
    assert_exit(&out, 1, &format!("manifest {absent} not found"));
}

#[test]
fn missing_tag_is_exit_1_with_a_readable_message() {
    let (registry, _) = Registry::holding("x/y", "v1", Kind::Oci);
    let sandbox = Sandbox::new();
    let out = sandbox.call(&[&registry.image("x/y:staging-abc")]);
    assert_code(&out, 1);
    assert_eq!(
        out.stderr.trim(),
        format!(
            "registry-tag: tag staging-abc not found in {}/x/y",
            registry.host()
        )
    );
    assert!(out.stdout.is_empty());

    // A repository that does not exist at all reads the same way.
    let out = sandbox.call(&[&registry.image("nope:v1")]);
    assert_exit(&out, 1, "tag v1 not found in");
}

#[test]
fn bad_references_are_exit_2() {
    let sandbox = Sandbox::new();
    for bad in [
        "127.0.0.1:5000/UPPER:v1",
        "127.0.0.1:5000/app:-v1",
        "127.0.0.1:5000/app@sha256:abc",
        "127.0.0.1:5000//app:v1",
        &format!("127.0.0.1:5000/app:{}", "t".repeat(129)),
    ] {
        let out = sandbox.call(&[bad]);
        assert_code(&out, 2);
        assert!(
            out.stderr.starts_with("registry-tag: bad reference"),
            "{bad}: {}",
            out.stderr
        );
        assert_eq!(out.stderr.lines().count(), 1, "one line: {}", out.stderr);
    }
    // A bad new tag is a bad reference too; nothing is contacted.
    let out = sandbox.call(&["127.0.0.1:9/app:v1", "bad tag"]);
    assert_code(&out, 2);
    let out = sandbox.call(&[
        "--expect-current",
        "sha256:1",
        "127.0.0.1:9/app:v1",
        "latest",
    ]);
    assert_code(&out, 2);
    let out = sandbox.call(&["--bogus"]);
    assert_code(&out, 2);
}

#[test]
fn list_prints_every_tag_with_its_digest() {
    let (registry, a) = Registry::holding("app", "staging-aaaaaaa", Kind::Oci);
    let b = registry.push("app", "staging-bbbbbbb", Kind::OciIndex, "b");
    registry.put_manifest("app", "latest", a.media_type, &a.bytes);
    let out = call(&["--list", &registry.image("app")]);
    assert_code(&out, 0);
    let mut got: Vec<(String, String)> = tag_records(&out)
        .into_iter()
        .map(|r| (r.tag, r.digest))
        .collect();
    got.sort();
    assert_eq!(
        got,
        vec![
            ("latest".to_string(), a.digest.clone()),
            ("staging-aaaaaaa".to_string(), a.digest.clone()),
            ("staging-bbbbbbb".to_string(), b.digest.clone()),
        ]
    );
}

#[test]
fn help_documents_flags_variables_and_exit_codes() {
    let out = call(&["--help"]);
    assert_code(&out, 0);
    for needle in [
        "--list",
        "--atomic",
        "--expect-current",
        "--dry-run",
        "--insecure",
        "REGISTRY_USERNAME",
        "REGISTRY_PASSWORD",
        "GITHUB_TOKEN",
        "GITHUB_ACTOR",
        "DOCKER_CONFIG",
        "EXIT STATUS",
    ] {
        assert!(out.stdout.contains(needle), "--help lacks {needle}");
    }
}

#[test]
fn list_prints_each_page_before_the_next_is_fetched() {
    use std::time::Duration;
    use testkit::process::Running;
    use testkit::proxy::Fault;

    let (registry, v1) = Registry::holding("app", "v1", Kind::Oci);
    let v2 = registry.push("app", "v2", Kind::Oci, "page-2");
    let proxy = registry.proxy();
    // Two pages (distribution 2.8 itself serves one): the first names the
    // second in its Link header; the second is held until released.
    proxy.add_fault(
        Fault::status("GET", "/app/tags/list", 1, 200)
            .times(1)
            .body(
                "application/json",
                br#"{"name":"app","tags":["v1"]}"#.to_vec(),
            )
            .header(
                "Link",
                &format!(
                    r#"</v2/{}/app/tags/list?last=v1&n=1>; rel="next""#,
                    registry.namespace()
                ),
            ),
    );
    proxy.add_fault(Fault::hold("GET", "/app/tags/list", 2).body(
        "application/json",
        br#"{"name":"app","tags":["v2"]}"#.to_vec(),
    ));
    let sandbox = Sandbox::new();
    let run = Running::start(sandbox.cmd(&["--list", &proxy.image("app")]));
    let first: registry_tag::TagRecord =
        serde_json::from_str(&run.next_line()).expect("a tag record");
    assert_eq!(
        (first.tag.as_str(), first.digest.as_str()),
        ("v1", v1.digest.as_str())
    );
    assert!(
        proxy.wait_held(1, Duration::from_secs(20)),
        "page 2 was asked for"
    );
    run.assert_no_line_yet();
    proxy.release();
    let done = run.finish();
    assert_eq!(done.code, 0, "{}", done.stderr);
    let rest: Vec<registry_tag::TagRecord> = done
        .stdout
        .iter()
        .map(|l| serde_json::from_str(l).expect("a tag record"))
        .collect();
    assert_eq!(rest.len(), 1);
    assert_eq!(
        (rest[0].tag.as_str(), rest[0].digest.as_str()),
        ("v2", v2.digest.as_str())
    );
}
