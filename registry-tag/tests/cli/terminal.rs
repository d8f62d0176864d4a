//! Output fit for people on a terminal (a real pty), for programs on a
//! pipe: a bare digest or a table on a terminal, records on a pipe or with
//! `--json`, digests only with `-q`.

use testkit::image::Kind;

use crate::support::{assert_code, run_on_terminal, tag_records, Registry, Sandbox};

#[test]
fn a_resolve_on_a_terminal_prints_the_bare_digest() {
    let (registry, pushed) = Registry::holding("app", "v1", Kind::OciIndex);
    let reference = registry.image("app:v1");
    let out = run_on_terminal(&[&reference]);
    assert_code(&out, 0);
    assert_eq!(out.stdout, format!("{}\n", pushed.digest));

    // --json forces the record, on a terminal too.
    let out = run_on_terminal(&["--json", &reference]);
    assert_code(&out, 0);
    assert_eq!(tag_records(&out)[0].digest, pushed.digest);
}

#[test]
fn a_list_on_a_terminal_is_digest_and_tag_lines() {
    let (registry, a) = Registry::holding("app", "v1", Kind::Oci);
    let b = registry.push("app", "v2", Kind::Oci, "b");
    let out = run_on_terminal(&["--list", &registry.image("app")]);
    assert_code(&out, 0);
    let mut lines: Vec<&str> = out.stdout.lines().collect();
    lines.sort();
    let mut want = vec![format!("{}  v1", a.digest), format!("{}  v2", b.digest)];
    want.sort();
    assert_eq!(lines, want, "{}", out.stdout);
}

#[test]
fn a_move_on_a_terminal_is_a_table_without_records() {
    let (registry, old, new) = Registry::promoting("app", "staging-1", Kind::Oci);
    let image = registry.image("app");
    let out = run_on_terminal(&[&format!("{image}:staging-1"), "latest", "stable"]);
    assert_code(&out, 0);
    let (stdout, lines) = (&out.stdout, out.stdout.lines().collect::<Vec<_>>());
    assert_eq!(lines.len(), 3, "a header and two rows:\n{stdout}");
    let header = lines[0];
    assert!(
        header.starts_with("TAG") && header.contains("DIGEST"),
        "{stdout}"
    );
    let latest = lines
        .iter()
        .find(|l| l.starts_with(&format!("{image}:latest ")))
        .expect("latest's row");
    let both = latest.contains(&new.digest) && latest.contains(&old.digest);
    assert!(both, "{latest}");
    assert!(latest.ends_with("moved"), "{latest}");
    assert!(!stdout.contains('{'), "no records on a terminal: {stdout}");
}

#[test]
fn quiet_prints_only_digests() {
    let (registry, pushed) = Registry::holding("app", "staging-2", Kind::DockerList);
    let source = registry.image("app:staging-2");
    let sandbox = Sandbox::new();
    let out = sandbox.call(&["-q", &source]);
    assert_code(&out, 0);
    assert_eq!(out.stdout, format!("{}\n", pushed.digest));
    let out = sandbox.call(&["--quiet", &source, "latest", "stable"]);
    assert_code(&out, 0);
    assert_eq!(out.stdout, format!("{0}\n{0}\n", pushed.digest));
    assert!(out.stderr.is_empty(), "{}", out.stderr);
    assert_code(&sandbox.call(&["-q", "--json", &source]), 2);
}
