//! Issue 13.5: under GitHub Actions an error that stops a tool (exit 2: a
//! missing variable, a bad sha or reference) is exactly one `::error`
//! annotation titled with the tool and one step-summary line, and nothing
//! else claims a verdict.

use super::support::*;
use testkit::actions::commands;

#[test]
fn every_usage_error_is_one_annotation_and_one_summary_line() {
    let cases: [(&str, &[&str]); 5] = [
        ("tenant-list", &[]),
        ("canary-wait", &["--sha", "latest"]),
        ("canary-smoke", &["--from-env"]),
        (
            "registry-tag",
            &["--expect-current", "not-a-digest", "x/y:z", "w"],
        ),
        ("rollback-latest", &["latest"]),
    ];
    let mut problems = Vec::new();
    for (tool, args) in cases {
        let run = Step::new(tool, args).run(None);
        expect_code(&run, 2, &mut problems);
        let annotations = commands(&run.out.stderr, "error");
        let title = format!("::error title={tool}::");
        if annotations.len() != 1 || !annotations[0].starts_with(&title) {
            problems.push(format!(
                "{}: expected one {title} annotation, got {annotations:#?}",
                run.what
            ));
        }
        let summary: Vec<&str> = run
            .summary
            .lines()
            .filter(|l| !l.trim().is_empty())
            .collect();
        if summary.len() != 1 || !summary[0].contains(tool) {
            problems.push(format!(
                "{}: expected one summary line naming the tool, got {summary:#?}",
                run.what
            ));
        }
    }
    assert_none(&problems);
}
