//! Output fit for people on a terminal (a real pty), for programs on a
//! pipe: a bare digest or a table on a terminal, records on a pipe or with
//! `--json`, digests only with `-q`.

use testkit::image::Kind;

use crate::support::{assert_code, run_on_terminal, tag_records, Registry, Sandbox};

#[test]
fn a_resolve_on_a_terminal_prints_the_bare_digest() {
    let registry = Registry::start();
    let pushed = registry.pusher().push("app", "v1", Kind::OciIndex, "tty");
    let out = run_on_terminal(&[&format!("{}/app:v1", registry.host())]);
    assert_code(&out, 0);
    assert_eq!(out.stdout, format!("{}\n", pushed.digest));

    // --json forces the record, on a terminal too.
    let out = run_on_terminal(&["--json", &format!("{}/app:v1", registry.host())]);
    assert_code(&out, 0);
    assert_eq!(tag_records(&out)[0].digest, pushed.digest);
}

#[test]
fn a_list_on_a_terminal_is_digest_and_tag_lines() {
    let registry = Registry::start();
    let pusher = registry.pusher();
    let a = pusher.push("app", "v1", Kind::Oci, "a");
    let b = pusher.push("app", "v2", Kind::Oci, "b");
    let out = run_on_terminal(&["--list", &format!("{}/app", registry.host())]);
    assert_code(&out, 0);
    let mut lines: Vec<&str> = out.stdout.lines().collect();
    lines.sort();
    let mut want = vec![format!("{}  v1", a.digest), format!("{}  v2", b.digest)];
    want.sort();
    assert_eq!(lines, want, "{}", out.stdout);
}

#[test]
fn a_move_on_a_terminal_is_a_table_without_records() {
    let registry = Registry::start();
    let pusher = registry.pusher();
    let old = pusher.push("app", "latest", Kind::Oci, "old");
    let new = pusher.push("app", "staging-1", Kind::Oci, "new");
    let image = format!("{}/app", registry.host());
    let out = run_on_terminal(&[&format!("{image}:staging-1"), "latest", "stable"]);
    assert_code(&out, 0);
    let lines: Vec<&str> = out.stdout.lines().collect();
    assert_eq!(lines.len(), 3, "a header and two rows:\n{}", out.stdout);
    assert!(
        lines[0].starts_with("TAG") && lines[0].contains("DIGEST"),
        "{}",
        out.stdout
    );
    let latest = lines
        .iter()
        .find(|l| l.starts_with(&format!("{image}:latest ")))
        .expect("latest's row");
    assert!(
        latest.contains(&new.digest) && latest.contains(&old.digest),
        "{latest}"
    );
    assert!(latest.ends_with("moved"), "{latest}");
    assert!(
        !out.stdout.contains('{'),
        "no records on a terminal: {}",
        out.stdout
    );
}

#[test]
fn quiet_prints_only_digests() {
    let registry = Registry::start();
    let pusher = registry.pusher();
    let pushed = pusher.push("app", "staging-2", Kind::DockerList, "quiet");
    let image = format!("{}/app", registry.host());
    let sandbox = Sandbox::new();
    let out = sandbox.run(&["-q", &format!("{image}:staging-2")], &[], None);
    assert_code(&out, 0);
    assert_eq!(out.stdout, format!("{}\n", pushed.digest));
    let out = sandbox.run(
        &["--quiet", &format!("{image}:staging-2"), "latest", "stable"],
        &[],
        None,
    );
    assert_code(&out, 0);
    assert_eq!(out.stdout, format!("{0}\n{0}\n", pushed.digest));
    assert!(out.stderr.is_empty(), "{}", out.stderr);
    let out = sandbox.run(&["-q", "--json", &format!("{image}:staging-2")], &[], None);
    assert_code(&out, 2);
}
