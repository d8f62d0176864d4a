//! End-to-end tests: the built `rollback-latest` binary against a real
//! `docker-registry` holding two images, through a counting/fault proxy.

use serde_json::Value;
use testkit::image::{Kind, Pusher};
use testkit::proxy::{Fault, Proxy};
use testkit::registry::{Registry, PASSWORD, USER};
use testkit::sandbox::{assert_code, assert_hidden};
use testkit::{Output, Sandbox};

const BIN: &str = env!("CARGO_BIN_EXE_rollback-latest");
const SHA: &str = "4c1d56e";
const FULL_SHA: &str = "4c1d56e2f0a1b2c3d4e5f60718293a4b5c6d7e8f";
const PLATFORM: &str = "molecule-ai/platform";
const TENANT: &str = "molecule-ai/platform-tenant";

/// A registry with both images at an old `latest` and, unless told
/// otherwise, a `staging-4c1d56e` build of each; reached through a proxy.
struct Fleet {
    _registry: Registry,
    pusher: Pusher,
    proxy: Proxy,
    old: [String; 2],
    new: [String; 2],
}

impl Fleet {
    fn new(tenant_has_staging: bool) -> Fleet {
        Fleet::with(Registry::start(), tenant_has_staging)
    }

    fn with(registry: Registry, tenant_has_staging: bool) -> Fleet {
        let pusher = registry.pusher();
        let old = [
            pusher
                .push(PLATFORM, "latest", Kind::OciIndex, "platform-old")
                .digest,
            pusher
                .push(TENANT, "latest", Kind::DockerV2, "tenant-old")
                .digest,
        ];
        let staging = format!("staging-{SHA}");
        let new = [
            pusher
                .push(PLATFORM, &staging, Kind::OciIndex, "platform-new")
                .digest,
            if tenant_has_staging {
                pusher
                    .push(TENANT, &staging, Kind::DockerV2, "tenant-new")
                    .digest
            } else {
                String::new()
            },
        ];
        let proxy = Proxy::start(&registry.url());
        Fleet {
            _registry: registry,
            pusher,
            proxy,
            old,
            new,
        }
    }

    fn image(&self, repo: &str) -> String {
        format!("{}/{repo}", self.proxy.host())
    }

    fn image_env(&self) -> Vec<(String, String)> {
        vec![
            ("IMAGE_NAME".into(), self.image(PLATFORM)),
            ("TENANT_IMAGE_NAME".into(), self.image(TENANT)),
        ]
    }

    /// Runs the tool with the two images from IMAGE_NAME/TENANT_IMAGE_NAME.
    fn run(&self, args: &[&str], extra_env: &[(&str, &str)]) -> Output {
        let env = self.image_env();
        let mut all: Vec<(&str, &str)> =
            env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        all.extend_from_slice(extra_env);
        Sandbox::new(BIN).run(args, &all, None)
    }

    fn latest(&self) -> [Option<String>; 2] {
        [
            self.pusher.digest_of(PLATFORM, "latest"),
            self.pusher.digest_of(TENANT, "latest"),
        ]
    }

    fn puts(&self) -> usize {
        self.proxy
            .requests()
            .iter()
            .filter(|(m, _)| m == "PUT")
            .count()
    }
}

fn by_image(records: &[Value], image: &str) -> Value {
    records
        .iter()
        .find(|r| r["image"] == image)
        .unwrap_or_else(|| panic!("no record for {image} in {records:?}"))
        .clone()
}

#[test]
fn rollback_moves_latest_of_both_images() {
    let fleet = Fleet::new(true);
    let out = fleet.run(&[SHA], &[]);
    assert_code(&out, 0);
    let [new_p, new_t] = fleet.new.clone();
    assert_eq!(fleet.latest(), [Some(new_p.clone()), Some(new_t.clone())]);

    let records = out.records();
    assert_eq!(records.len(), 2, "{}", out.stdout);
    let p = by_image(&records, &fleet.image(PLATFORM));
    assert_eq!(p["tag"], "latest");
    assert_eq!(p["digest"], new_p.as_str());
    assert_eq!(p["previous"], fleet.old[0].as_str());
    assert_eq!(p["source"], format!("staging-{SHA}"));
    assert_eq!(p["changed"], true);
    assert_eq!(
        by_image(&records, &fleet.image(TENANT))["digest"],
        new_t.as_str()
    );

    // The old script's lines, on stderr.
    for line in [
        format!("→ {}", fleet.image(PLATFORM)),
        format!("  OK   {}:latest → {new_p}", fleet.image(PLATFORM)),
        format!("  OK   {}:latest → {new_t}", fleet.image(TENANT)),
        "=== ROLLBACK COMPLETE ===".to_string(),
    ] {
        assert!(
            out.stderr.contains(&line),
            "missing {line:?} in:\n{}",
            out.stderr
        );
    }
}

#[test]
fn a_forty_character_sha_selects_the_short_staging_tag() {
    let fleet = Fleet::new(true);
    let platform = fleet.image(PLATFORM);
    let tenant = fleet.image(TENANT);
    // --image replaces the variables (which point nowhere here).
    let out = Sandbox::new(BIN).run(
        &["--image", &platform, "--image", &tenant, FULL_SHA],
        &[("IMAGE_NAME", "127.0.0.1:1/nowhere")],
        None,
    );
    assert_code(&out, 0);
    assert_eq!(fleet.latest(), fleet.new.clone().map(Some));
}

#[test]
fn a_missing_staging_tag_changes_nothing() {
    let fleet = Fleet::new(false);
    let before = fleet.latest();
    let out = fleet.run(&[SHA], &[]);
    assert_code(&out, 1);
    assert_eq!(
        fleet.latest(),
        before,
        "latest must not move on either image"
    );
    assert_eq!(fleet.puts(), 0, "nothing may be written");
    assert_eq!(out.stdout, "");
    let tenant = fleet.image(TENANT);
    assert!(
        out.stderr
            .contains(&format!("staging-{SHA} not found in {tenant}")),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr.contains("did you type the wrong sha?"),
        "{}",
        out.stderr
    );
    assert!(out.stderr.contains("nothing was changed"), "{}", out.stderr);
}

#[test]
fn a_failed_second_move_restores_the_first() {
    let fleet = Fleet::new(true);
    let before = fleet.latest();
    assert_eq!(before, fleet.old.clone().map(Some));
    fleet.proxy.add_fault(Fault::status(
        "PUT",
        "/platform-tenant/manifests/latest",
        1,
        500,
    ));
    let out = fleet.run(&[SHA], &[]);
    assert_code(&out, 1);
    assert_eq!(
        fleet.latest(),
        before,
        "both latest tags read back at their old digests"
    );
    assert!(
        fleet
            .proxy
            .requests()
            .iter()
            .any(|(m, p)| m == "PUT" && p.ends_with("/molecule-ai/platform/manifests/latest")),
        "the first image was moved before the failure"
    );
    assert!(
        out.stderr.contains("=== ROLLBACK FAILED ==="),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr
            .contains("every tag is back at its previous digest"),
        "{}",
        out.stderr
    );
    assert!(!out.stderr.contains("ROLLBACK COMPLETE"), "{}", out.stderr);
    // The records state where each image's latest is now: where it was.
    for record in out.records() {
        assert_eq!(record["changed"], false, "{record}");
    }
}

#[test]
fn invalid_shas_are_usage_errors_before_any_request() {
    let fleet = Fleet::new(true);
    fleet.proxy.reset_counts();
    let forty_one = "a".repeat(41);
    for bad in [
        "latest",
        "staging-abc1234",
        "4C1D56E",
        "",
        "4c1d56",
        forty_one.as_str(),
        "4c1d56g",
    ] {
        let out = fleet.run(&[bad], &[]);
        assert_code(&out, 2);
        assert_eq!(out.stdout, "", "{bad:?}");
        assert!(
            out.stderr.starts_with("rollback-latest: "),
            "{bad:?}: {}",
            out.stderr
        );
        assert!(
            out.stderr.contains("like 4c1d56e")
                || out.stderr.contains("lowercase")
                || out.stderr.contains("staging- is added"),
            "{bad:?} should show the expected form: {}",
            out.stderr
        );
    }
    assert_eq!(fleet.proxy.count(), 0, "no request for a bad sha");
    assert_eq!(fleet.latest(), fleet.old.clone().map(Some));
}

#[test]
fn dry_run_shows_the_plan_and_changes_nothing() {
    let fleet = Fleet::new(true);
    let out = fleet.run(&["--dry-run", SHA], &[]);
    assert_code(&out, 0);
    assert_eq!(fleet.latest(), fleet.old.clone().map(Some));
    assert_eq!(fleet.puts(), 0);
    for i in 0..2 {
        let line = format!("would move {} → {}", fleet.old[i], fleet.new[i]);
        assert!(
            out.stderr.contains(&line),
            "missing {line:?}:\n{}",
            out.stderr
        );
    }
    let records = out.records();
    assert_eq!(records.len(), 2);
    assert!(records
        .iter()
        .all(|r| r["dry_run"] == true && r["changed"] == false));
}

#[test]
fn list_shows_staging_tags_and_marks_latest() {
    let fleet = Fleet::new(true);
    // Roll forward first so latest matches a staging tag.
    assert_code(&fleet.run(&[SHA], &[]), 0);
    fleet
        .pusher
        .push(PLATFORM, "staging-1111111", Kind::Oci, "older");
    let puts = fleet.puts();
    let out = fleet.run(&["--list"], &[]);
    assert_code(&out, 0);
    assert_eq!(fleet.puts(), puts, "--list writes nothing");
    let records = out.records();
    let platform: Vec<&Value> = records
        .iter()
        .filter(|r| r["image"] == fleet.image(PLATFORM))
        .collect();
    let tags: Vec<&str> = platform
        .iter()
        .map(|r| r["tag"].as_str().unwrap())
        .collect();
    assert_eq!(tags, ["staging-1111111", &format!("staging-{SHA}")]);
    assert_eq!(platform[1]["latest"], true);
    assert_eq!(platform[1]["digest"], fleet.new[0].as_str());
    assert_eq!(platform[0]["latest"], false);
    assert!(
        !records.iter().any(|r| r["tag"] == "latest"),
        "only staging tags are listed"
    );
    assert!(
        out.stderr
            .contains(&format!("* staging-{SHA}  {}  ← latest", fleet.new[0])),
        "{}",
        out.stderr
    );
}

#[test]
fn already_at_the_target_is_success_without_writing() {
    let fleet = Fleet::new(true);
    assert_code(&fleet.run(&[SHA], &[]), 0);
    let puts = fleet.puts();
    let out = fleet.run(&[SHA], &[]);
    assert_code(&out, 0);
    assert_eq!(fleet.puts(), puts, "no PUT when latest is already there");
    assert!(out.stderr.contains("nothing to do"), "{}", out.stderr);
    assert!(out.records().iter().all(|r| r["changed"] == false));
}

#[test]
fn a_two_image_rollback_makes_at_most_twelve_requests() {
    let fleet = Fleet::new(true);
    fleet.proxy.reset_counts();
    let out = fleet.run(&[SHA], &[]);
    assert_code(&out, 0);
    let requests = fleet.proxy.requests();
    assert!(
        requests.len() <= 12,
        "{} requests: {requests:#?}",
        requests.len()
    );
    assert_eq!(fleet.puts(), 2, "one PUT per image");
}

#[test]
fn credentials_work_and_never_show() {
    let fleet = Fleet::with(Registry::start_htpasswd(), true);
    let wrong = "Wr0ng-Passw0rd-91f2";
    let out = fleet.run(
        &[SHA],
        &[
            ("REGISTRY_USERNAME", USER),
            ("REGISTRY_PASSWORD", wrong),
            ("GITHUB_ACTIONS", "true"),
        ],
    );
    assert_code(&out, 1);
    let lines: Vec<&str> = out.stderr.lines().collect();
    let masks = lines
        .iter()
        .take_while(|l| l.starts_with("::add-mask::"))
        .count();
    assert!(
        lines[..masks].contains(&format!("::add-mask::{wrong}").as_str()),
        "the password is masked before anything else:\n{}",
        out.stderr
    );
    let after_mask = lines[masks..].join("\n");
    assert!(
        !after_mask.contains(wrong),
        "password leaked:\n{after_mask}"
    );
    assert!(!out.stdout.contains(wrong));
    assert!(
        after_mask.contains("REGISTRY_USERNAME"),
        "names the credential source:\n{after_mask}"
    );
    assert_eq!(fleet.latest(), fleet.old.clone().map(Some));

    let out = fleet.run(
        &[SHA],
        &[("REGISTRY_USERNAME", USER), ("REGISTRY_PASSWORD", PASSWORD)],
    );
    assert_code(&out, 0);
    assert_hidden(&out, PASSWORD);
    assert_eq!(fleet.latest(), fleet.new.clone().map(Some));
}

#[test]
fn the_step_summary_tables_every_image() {
    let fleet = Fleet::new(true);
    let sandbox = Sandbox::new(BIN);
    let summary = sandbox.path("summary.md");
    let env = fleet.image_env();
    let mut cmd = sandbox.cmd(&[SHA]);
    cmd.envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .env("GITHUB_ACTIONS", "true")
        .env("GITHUB_STEP_SUMMARY", &summary);
    assert_code(&Output::of(&mut cmd, None), 0);
    let md = std::fs::read_to_string(&summary).expect("summary written");
    assert!(md.contains(&format!("staging-{SHA}")), "{md}");
    assert!(
        md.contains(&fleet.image(PLATFORM)) && md.contains(&fleet.image(TENANT)),
        "{md}"
    );
    assert!(md.contains("| image | before | now |"), "{md}");
}
