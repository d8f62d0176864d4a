//! canary-smoke inside the pipe: records from canary-wait (stragglers
//! included), context carried through, the build under test, and what the
//! workflow reads afterwards (summary, outputs).

use serde_json::{json, Value};
use testkit::actions::step_outputs;

use crate::support::*;

/// Tenant `i`'s line with `extra` fields added, as upstream tools write it.
fn line_with(fleet: &Fleet, i: usize, extra: Value) -> String {
    let mut line: Value = serde_json::from_str(&fleet.tenant_line(i)).unwrap();
    let object = line.as_object_mut().unwrap();
    for (key, value) in extra.as_object().unwrap() {
        object.insert(key.clone(), value.clone());
    }
    format!("{line}\n")
}

#[test]
fn a_tenant_canary_wait_gave_up_on_fails_without_being_probed() {
    let fleet = fleet(vec![
        TenantSpec::healthy("ready"),
        TenantSpec::healthy("straggler"),
    ]);
    let stragglers = json!({"canary_wait": {"ready": false, "expected": "4c1d56e",
        "reported": "9e8d7c6", "reason": "timeout"}, "region": "eu"});
    let input = fleet.tenant_line(0) + "\n" + &line_with(&fleet, 1, stragglers);
    let sandbox = sandbox();
    let summary = sandbox.path("summary.md");
    let out = sandbox.run(
        &[],
        &[("GITHUB_STEP_SUMMARY", summary.to_str().unwrap())],
        Some(&input),
    );
    assert_code(&out, 1);
    let records = records(&out);
    let straggler: Vec<&CheckRecord> = records.iter().filter(|r| r.tenant == "straggler").collect();
    assert_eq!(straggler.len(), 1, "one failing record: {straggler:?}");
    assert_eq!(straggler[0].check, "canary-wait");
    assert!(!straggler[0].ok);
    assert_eq!(
        straggler[0].reason.as_deref(),
        Some("never reported 4c1d56e (it reports 9e8d7c6)")
    );
    assert_eq!(straggler[0].tenant_fields.get("region"), Some(&json!("eu")));
    assert!(!straggler[0].tenant_fields.contains_key("canary_wait"));
    assert_eq!(fleet.requests(1), 0, "a straggler is never probed");
    assert_eq!(pairs(&out, true), every_check_of("ready", &DEFAULT_CHECKS));
    // The summary does not read "passed" though every probed check did.
    let summary = std::fs::read_to_string(&summary).unwrap();
    let first = summary.lines().next().unwrap();
    assert_eq!(
        first, "### canary-smoke: FAILED: 1 of 2 tenant(s) failed (1 of 7 checks)",
        "{summary}"
    );

    // Ready tenants carry no canary_wait field, or a ready one: probed.
    let proceeded = json!({"canary_wait": {"ready": true, "confirmed": false,
        "expected": "4c1d56e", "reported": null, "reason": "timeout"}});
    let out = smoke(&[], &line_with(&fleet, 1, proceeded));
    assert_code(&out, 0);
    assert_eq!(out.stdout.lines().count(), 6);
}

#[test]
fn results_carry_the_tenant_fields_and_the_build_under_test() {
    let fleet = fleet(vec![
        TenantSpec::healthy("eu-1").with_fault(Fault::OrgHeader("org-9".into())),
        TenantSpec::healthy("us-1").with_fault(Fault::Status500("/events".into())),
    ]);
    let input = line_with(
        &fleet,
        0,
        json!({"region": "eu", "owner": {"team": "pm"}, "Password": "hunter2-extra"}),
    ) + &line_with(&fleet, 1, json!({"region": "us"}));
    let out = smoke(&["--sha", "4C1D56E"], &input);
    assert_code(&out, 1);
    let records = records(&out);
    assert_eq!(records.len(), 12);
    for r in &records {
        assert_eq!(r.sha.as_deref(), Some("4c1d56e"), "{r:?}");
        assert!(!r.tenant_fields.contains_key("token"));
        assert!(!r.tenant_fields.contains_key("headers"));
        assert!(!r.tenant_fields.contains_key("url"));
    }
    let failed: Vec<&CheckRecord> = records.iter().filter(|r| !r.ok).collect();
    assert_eq!(failed.len(), 1);
    assert_eq!(failed[0].tenant_fields.get("region"), Some(&json!("us")));
    let eu = record(&records, "eu-1", "liveness");
    assert_eq!(eu.tenant_fields.get("owner"), Some(&json!({"team": "pm"})));
    // The raw records, as jq sees them.
    let raw: Vec<Value> = out
        .stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let regions: Vec<&Value> = raw
        .iter()
        .filter(|r| r["ok"] == false)
        .map(|r| &r["tenant_fields"]["region"])
        .collect();
    assert_eq!(regions, [&json!("us")]);
    assert!(!out.stdout.contains(&fleet.token(0)));
    assert!(!out.stdout.contains("org-9"), "headers stay out of results");
    assert!(
        !out.stdout.contains("hunter2-extra"),
        "a field named like a credential is not echoed"
    );
}

#[test]
fn step_outputs_and_the_summary_state_the_verdict() {
    let evil = "evil\nverdict<<EOF\npassed\nEOF";
    let fleet = fleet(vec![
        TenantSpec::healthy("good"),
        TenantSpec::healthy(evil).with_fault(Fault::HtmlError),
    ]);
    let sandbox = sandbox();
    let outputs = sandbox.path("outputs");
    let summary = sandbox.path("summary.md");
    let env = [
        ("GITHUB_ACTIONS", "true"),
        ("GITHUB_OUTPUT", outputs.to_str().unwrap()),
        ("GITHUB_STEP_SUMMARY", summary.to_str().unwrap()),
    ];
    let out = sandbox.run(&["--sha", "4c1d56e"], &env, Some(&fleet.tenant_lines()));
    assert_code(&out, 1);
    let got = step_outputs(&std::fs::read_to_string(&outputs).unwrap());
    let names: Vec<&str> = got.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(
        names,
        ["passed", "failed", "failed_tenants", "verdict"],
        "{got:?}"
    );
    let value = |name: &str| got.iter().find(|(n, _)| n == name).unwrap().1.clone();
    assert_eq!(value("passed"), "1");
    assert_eq!(value("failed"), "1");
    assert_eq!(value("verdict"), "failed");
    let failed: Vec<String> = serde_json::from_str(&value("failed_tenants")).unwrap();
    assert_eq!(failed, [evil]);
    let text = std::fs::read_to_string(&summary).unwrap();
    assert_eq!(
        text.lines().next(),
        Some("### canary-smoke for `4c1d56e`: FAILED: 1 of 2 tenant(s) failed (6 of 12 checks)")
    );

    std::fs::remove_file(&outputs).unwrap();
    std::fs::remove_file(&summary).unwrap();
    let out = sandbox.run(&[], &env, Some(&(fleet.tenant_line(0) + "\n")));
    assert_code(&out, 0);
    let got = step_outputs(&std::fs::read_to_string(&outputs).unwrap());
    assert_eq!(
        got,
        [
            ("passed".to_string(), "1".to_string()),
            ("failed".to_string(), "0".to_string()),
            ("failed_tenants".to_string(), "[]".to_string()),
            ("verdict".to_string(), "passed".to_string()),
        ]
    );
    let text = std::fs::read_to_string(&summary).unwrap();
    assert!(
        text.starts_with("### canary-smoke: passed: all 6 checks on 1 tenant(s)\n"),
        "{text}"
    );
}

#[test]
fn a_run_cut_short_by_a_bad_line_never_reads_passed() {
    let fleet = fleet(vec![TenantSpec::healthy("good")]);
    let sandbox = sandbox();
    let summary = sandbox.path("summary.md");
    let outputs = sandbox.path("outputs");
    let input = fleet.tenant_line(0) + "\n{\"name\":\"no-url\",\"token\":\"tok-nourl-0001\"}\n";
    let out = sandbox.run(
        &[],
        &[
            ("GITHUB_ACTIONS", "true"),
            ("GITHUB_STEP_SUMMARY", summary.to_str().unwrap()),
            ("GITHUB_OUTPUT", outputs.to_str().unwrap()),
        ],
        Some(&input),
    );
    assert_code(&out, 2);
    assert_eq!(
        records(&out).len(),
        6,
        "the tenant before the bad line was checked"
    );
    let text = std::fs::read_to_string(&summary).unwrap();
    assert!(
        text.starts_with(
            "### canary-smoke: FAILED: stopped early (stdin:2: missing field \"url\"); 0 of 1 tenant(s) failed"
        ),
        "{text}"
    );
    let got = step_outputs(&std::fs::read_to_string(&outputs).unwrap());
    assert!(
        got.contains(&("verdict".to_string(), "failed".to_string())),
        "{got:?}"
    );
}
