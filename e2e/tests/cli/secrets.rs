//! Issue 11.7 / 14.1: no form of any secret in any output of any tool, on a
//! success and a failure path, quiet and at `-vv`.

use testkit::fleet::{Fault, Fleet, TenantSpec};
use testkit::image::Kind;
use testkit::registry::Registry;
use testkit::token_server::{TokenField, TokenServer};

use super::support::*;

/// Runs `make(verbose)` without and with `-vv`, checks the exit code and
/// every output for `secrets`, and returns every problem found.
fn check(
    secrets: &[(String, String)],
    tokens_in_records: bool,
    want_code: i32,
    make: impl Fn(&[&str]) -> Run + Sync,
) -> Vec<String> {
    // Both levels at once: the suite's time is what it waits for.
    let runs: Vec<(bool, Run)> = std::thread::scope(|scope| {
        let make = &make;
        let runs: Vec<_> = [&[][..], &["-vv"][..]]
            .into_iter()
            .map(|verbose| scope.spawn(move || (!verbose.is_empty(), make(verbose))))
            .collect();
        runs.into_iter().map(|r| r.join().unwrap()).collect()
    });
    let mut problems = Vec::new();
    for (verbose, run) in runs {
        // E2E_SHOW=1 prints everything each run wrote, to see what was checked.
        if std::env::var_os("E2E_SHOW").is_some() {
            eprintln!(
                "=== {}\n{}\n--- stderr\n{}\n--- summary\n{}\n--- output\n{}\n--- files {:?}",
                run.what, run.out.stdout, run.out.stderr, run.summary, run.output, run.files
            );
        }
        if verbose && refuses_verbose(&run) {
            // Reported by every_tool_takes_verbose; the quiet run was checked.
            eprintln!("{}: -vv is refused, traces not checked", run.what);
            continue;
        }
        expect_code(&run, want_code, &mut problems);
        problems.extend(leaks(&run, secrets, tokens_in_records));
    }
    problems
}

fn with_args(mut step: Step, args: &[&str]) -> Step {
    for a in args {
        step = step.arg(a);
    }
    step
}

#[test]
fn every_tool_takes_verbose() {
    let refused: Vec<String> = TOOLS
        .iter()
        .filter_map(|tool| {
            let run = Step::new(tool, &["-vv", "--version"]).run(None);
            (run.out.code != 0)
                .then(|| format!("{tool}: exit {}: {}", run.out.code, run.out.stderr))
        })
        .collect();
    assert_none(&refused);
}

#[test]
fn tenant_list_never_shows_a_token() {
    let secrets = forms(TENANT_TOKEN, None);
    let tokens = format!("{TENANT_TOKEN} e2e-other-token-1");
    let list = |urls: &str, verbose: &[&str]| {
        with_args(Step::new("tenant-list", &[]), verbose)
            .env("CANARY_TENANT_URLS", urls)
            .env("CANARY_ADMIN_TOKENS", &tokens)
            .run(None)
    };
    let mut problems = check(&secrets, true, 0, |v| {
        list("https://a.example.com https://b.example.com", v)
    });
    // A port out of range: refused, naming the entry, never the token.
    problems.extend(check(&secrets, false, 2, |v| {
        list("https://a.example.com https://b.example.com:99999", v)
    }));
    assert_none(&problems);
}

fn tenant(name: &str, sha: &str) -> TenantSpec {
    let mut spec = TenantSpec::healthy(name).with_sha(sha);
    spec.token = TENANT_TOKEN.to_string();
    spec
}

/// canary-wait for [`SHA`] on `fleet`, sending the token (`--auth`),
/// giving up after `timeout`.
fn wait_for(fleet: &Fleet, timeout: &str, verbose: &[&str]) -> Run {
    let args = [
        "--sha",
        SHA,
        "--auth",
        "--interval",
        "100ms",
        "--timeout",
        timeout,
    ];
    with_args(Step::new("canary-wait", &args), verbose).run(Some(&fleet.tenant_lines()))
}

#[test]
fn canary_wait_never_shows_a_token() {
    let secrets = forms(TENANT_TOKEN, None);
    let ready = Fleet::start(vec![tenant("e2e-ready", SHA)]).unwrap();
    let mut problems = check(&secrets, true, 0, |v| wait_for(&ready, "5s", v));
    // Tenants that echo the token back as the build they report, in each
    // form: progress lines, the timeout error, straggler records and the
    // summary all quote what a tenant reports.
    let echoing: Vec<TenantSpec> = forms(TENANT_TOKEN, None)
        .iter()
        .take(6)
        .enumerate()
        .map(|(i, (_, form))| tenant(&format!("e2e-echo-{i}"), form))
        .collect();
    let echoing = Fleet::start(echoing).unwrap();
    problems.extend(check(&secrets, true, 1, |v| wait_for(&echoing, "500ms", v)));
    assert_none(&problems);
}

#[test]
fn canary_smoke_never_shows_a_token() {
    let secrets = forms(TENANT_TOKEN, None);
    let healthy = Fleet::start(vec![tenant("e2e-healthy", SHA)]).unwrap();
    let mut problems = check(&secrets, false, 0, |v| {
        with_args(
            Step::new("canary-smoke", &["--request-timeout", "2s", "--sha", SHA]),
            v,
        )
        .file_arg("--junit", "junit.xml")
        .run(Some(&healthy.tenant_lines()))
    });
    // A tenant whose every admin route answers 500 with the token echoed in
    // several forms: `got`, FAIL lines, JUnit and the summary quote bodies.
    let echoing = Fleet::start(vec![
        tenant("e2e-fine", SHA),
        tenant("e2e-echo", SHA).with_fault(Fault::Respond(500, echo_body(TENANT_TOKEN))),
    ])
    .unwrap();
    problems.extend(check(&secrets, false, 1, |v| {
        with_args(
            Step::new("canary-smoke", &["--request-timeout", "2s", "--sha", SHA]),
            v,
        )
        .file_arg("--junit", "junit.xml")
        .run(Some(&echoing.tenant_lines()))
    }));
    // The drop-in for canary-smoke.sh: the script's text on stdout, records
    // in a file.
    let urls = format!("{} {}", echoing.url(0), echoing.url(1));
    let tokens = format!("{TENANT_TOKEN},{TENANT_TOKEN}");
    problems.extend(check(&secrets, false, 1, |v| {
        with_args(
            Step::new("canary-smoke", &["--from-env", "--request-timeout", "2s"]),
            v,
        )
        .env("CANARY_TENANT_URLS", &urls)
        .env("CANARY_ADMIN_TOKENS", &tokens)
        .file_arg("--records", "records.jsonl")
        .file_arg("--junit", "junit.xml")
        .run(None)
    }));
    assert_none(&problems);
}

/// A registry behind token auth whose token service knows
/// [`REGISTRY_USER`]/[`REGISTRY_PASSWORD`], holding `staging-<SHA>` and an
/// older `latest` of each repository.
fn registry(repos: &[&str]) -> (TokenServer, Registry) {
    let tokens = TokenServer::start(&[(REGISTRY_USER, REGISTRY_PASSWORD)], TokenField::Token);
    let registry = Registry::start_token(&tokens);
    let pusher = registry.pusher();
    for repo in repos {
        pusher.push(
            repo,
            &format!("staging-{SHA}"),
            Kind::Oci,
            &format!("{repo}-new"),
        );
        pusher.push(repo, "latest", Kind::Oci, &format!("{repo}-old"));
    }
    (tokens, registry)
}

fn registry_secrets() -> Vec<(String, String)> {
    let mut secrets = forms(REGISTRY_PASSWORD, Some(REGISTRY_USER));
    secrets.extend(forms(WRONG_PASSWORD, Some(REGISTRY_USER)));
    secrets
}

fn with_credentials(step: Step, registry: &Registry, password: &str) -> Step {
    step.env("REGISTRY_USERNAME", REGISTRY_USER)
        .env("REGISTRY_PASSWORD", password)
        .env("REGISTRY_HOST", &registry.host())
}

/// One run of a registry tool: its arguments, the password it is given,
/// and the exit code expected.
type Case<'a> = (Vec<&'a str>, &'a str, i32);

/// [`check`] of `tool` for every case, all at once (the suite's time is
/// what the slowest waits for): every problem found.
fn check_cases(tool: &str, registry: &Registry, cases: &[Case]) -> Vec<String> {
    let secrets = registry_secrets();
    std::thread::scope(|scope| {
        let running: Vec<_> = cases
            .iter()
            .map(|(args, password, code)| {
                let secrets = &secrets;
                scope.spawn(move || {
                    check(secrets, false, *code, |v| {
                        let step = with_args(Step::new(tool, args), v);
                        with_credentials(step, registry, password).run(None)
                    })
                })
            })
            .collect();
        running
            .into_iter()
            .flat_map(|r| r.join().unwrap())
            .collect()
    })
}

#[test]
fn registry_tag_never_shows_a_password() {
    let (_tokens, registry) = registry(&["e2e/platform"]);
    let image = format!("{}/e2e/platform", registry.host());
    let staging = format!("{image}:staging-{SHA}");
    let missing = format!("{image}:staging-0000000");
    let problems = check_cases(
        "registry-tag",
        &registry,
        &[
            (vec![&staging], REGISTRY_PASSWORD, 0),
            (vec![&staging, "e2e-moved"], REGISTRY_PASSWORD, 0),
            (vec![&missing, "e2e-never"], REGISTRY_PASSWORD, 1),
            // Refused credentials: the error names the source, never the
            // password.
            (vec![&staging, "e2e-refused"], WRONG_PASSWORD, 1),
        ],
    );
    assert_none(&problems);
}

#[test]
fn rollback_latest_never_shows_a_password() {
    let (_tokens, registry) = registry(&["e2e/platform", "e2e/platform-tenant"]);
    let platform = format!("{}/e2e/platform", registry.host());
    let tenant = format!("{}/e2e/platform-tenant", registry.host());
    let images = ["--image", &platform, "--image", &tenant];
    let with = |sha: &'static str| [&[sha][..], &images].concat();
    let problems = check_cases(
        "rollback-latest",
        &registry,
        &[
            (with("9e8d7c6"), REGISTRY_PASSWORD, 1),
            (with(SHA), WRONG_PASSWORD, 1),
            (with(SHA), REGISTRY_PASSWORD, 0),
        ],
    );
    assert_none(&problems);
}

#[test]
fn the_leak_check_finds_every_form_everywhere() {
    let secrets = forms(REGISTRY_PASSWORD, Some(REGISTRY_USER));
    for (form, value) in &secrets {
        for place in 0..5 {
            let mut texts = vec![String::new(); 5];
            texts[place] = format!("x {value} y");
            let run = Run {
                what: "planted".into(),
                out: testkit::Output {
                    code: 0,
                    stdout: texts[0].clone(),
                    stderr: texts[1].clone(),
                },
                summary: texts[2].clone(),
                output: texts[3].clone(),
                files: vec![("junit.xml".into(), texts[4].clone())],
            };
            assert!(
                !leaks(&run, &secrets, false).is_empty(),
                "{form} in place {place}"
            );
        }
    }
    // A tenant record's own token travels; anything else in it does not.
    let record = format!(r#"{{"token":"{TENANT_TOKEN}","url":"https://a"}}"#);
    let run = Run {
        what: "record".into(),
        out: testkit::Output {
            code: 0,
            stdout: record.clone(),
            stderr: format!("::add-mask::{TENANT_TOKEN}"),
        },
        summary: String::new(),
        output: String::new(),
        files: Vec::new(),
    };
    let tenant = forms(TENANT_TOKEN, None);
    assert!(leaks(&run, &tenant, true).is_empty());
    assert!(!leaks(&run, &tenant, false).is_empty());
}

#[test]
fn registry_error_bodies_echoing_credentials_are_redacted() {
    // Issue 11.6: an error body that echoes the Basic credentials reaches
    // stderr, the annotation and the summary only as ***.
    let host = echoing_registry();
    let secrets = forms(REGISTRY_PASSWORD, Some(REGISTRY_USER));
    let image = format!("{host}/e2e/platform");
    let staging = format!("{image}:staging-{SHA}");
    let credentials = |step: Step| {
        step.env("REGISTRY_USERNAME", REGISTRY_USER)
            .env("REGISTRY_PASSWORD", REGISTRY_PASSWORD)
            .env("REGISTRY_HOST", &host)
    };
    let mut problems = check(&secrets, false, 1, |v| {
        credentials(with_args(Step::new("registry-tag", &[&staging]), v)).run(None)
    });
    problems.extend(check(&secrets, false, 1, |v| {
        let step = with_args(Step::new("rollback-latest", &[SHA, "--image", &image]), v);
        credentials(step).run(None)
    }));
    assert_none(&problems);
}

/// Issue 14.1: at `-vv` the trace shows a body excerpt of the token
/// service's reply (`{"token":"eyJ…","access_token":"eyJ…"}`), read before
/// the tool has parsed the token and registered it for scrubbing. No piece
/// of any token the service issued may show, in either tool.
#[test]
fn issued_tokens_never_show_in_traces() {
    let tokens = TokenServer::start(&[(REGISTRY_USER, REGISTRY_PASSWORD)], TokenField::Both);
    let registry = Registry::start_token(&tokens);
    let pusher = registry.pusher();
    for repo in ["e2e/platform", "e2e/platform-tenant"] {
        pusher.push(repo, &format!("staging-{SHA}"), Kind::Oci, repo);
        pusher.push(repo, "latest", Kind::Oci, &format!("{repo}-old"));
    }
    // Every token this service signs starts with the same JWT header (it
    // carries the signing certificate, over a thousand characters): any 20
    // characters of it in an output are a piece of an issued token.
    let sample = tokens.signer().token("e2e/platform", &["pull"]);
    let header: Vec<char> = sample.split('.').next().unwrap().chars().collect();
    assert!(header.len() > 1000, "{sample}");
    let mut secrets: Vec<(String, String)> = header
        .windows(20)
        .map(|w| {
            (
                "20 characters of an issued token".into(),
                w.iter().collect(),
            )
        })
        .collect();
    secrets.extend(registry_secrets());
    let platform = format!("{}/e2e/platform", registry.host());
    let tenant = format!("{}/e2e/platform-tenant", registry.host());
    let staging = format!("{platform}:staging-{SHA}");
    let steps = [
        Step::new("registry-tag", &["-vv", &staging, "e2e-traced"]),
        Step::new("registry-tag", &["-vv", "--list", &platform]),
        Step::new(
            "rollback-latest",
            &["-vv", SHA, "--image", &platform, "--image", &tenant],
        ),
    ];
    // All at once: the suite's time is what it waits for.
    let runs: Vec<Run> = std::thread::scope(|scope| {
        let registry = &registry;
        let running: Vec<_> = steps
            .into_iter()
            .map(|step| {
                scope.spawn(move || with_credentials(step, registry, REGISTRY_PASSWORD).run(None))
            })
            .collect();
        running.into_iter().map(|r| r.join().unwrap()).collect()
    });
    let mut problems = Vec::new();
    let mut traced = 0;
    for run in runs {
        expect_code(&run, 0, &mut problems);
        traced += run
            .out
            .stderr
            .matches("< body: {\"access_token\":\"***\"")
            .count()
            + run.out.stderr.matches("< body: {\"token\":\"***\"").count();
        let found = leaks(&run, &secrets, false);
        if !found.is_empty() {
            // One leaked token matches hundreds of windows: show a few.
            problems.push(format!("{} leak(s), the first:", found.len()));
            problems.extend(found.into_iter().take(3));
        }
    }
    assert_none(&problems);
    assert!(
        traced >= 3,
        "each run traces at least one token reply, masked ({traced} seen)"
    );
}
