//! A registry holding the two images the tool moves, reached through a
//! counting/fault proxy, and the tool's output parsed into typed records.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, Weak};

use registry_tag::TagRecord;
use serde::Deserialize;
use testkit::image::{Kind, Pusher};
use testkit::proxy::{Fault, Proxy};
use testkit::registry::Registry;
use testkit::{Output, Sandbox};

pub use testkit::sandbox::{assert_code, assert_hidden};

pub const BIN: &str = env!("CARGO_BIN_EXE_rollback-latest");
pub const SHA: &str = "4c1d56e";
pub const FULL_SHA: &str = "4c1d56e2f0a1b2c3d4e5f60718293a4b5c6d7e8f";
pub const PLATFORM: &str = "molecule-ai/platform";
pub const TENANT: &str = "molecule-ai/platform-tenant";

/// A tag record as the tool prints it: registry-tag's [`TagRecord`], plus
/// the two fields only `--list` adds. Any other field fails the test.
#[derive(Debug)]
pub struct Tag {
    record: TagRecord,
    pub latest: Option<bool>,
    pub created: Option<String>,
}

/// What a record carries besides [`TagRecord`]'s own fields.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Listed {
    latest: Option<bool>,
    created: Option<String>,
}

impl std::ops::Deref for Tag {
    type Target = TagRecord;

    fn deref(&self) -> &TagRecord {
        &self.record
    }
}

impl Tag {
    /// One stdout line as a [`Tag`], or why it is not one.
    pub fn parse(line: &str) -> serde_json::Result<Tag> {
        let mut record: TagRecord = serde_json::from_str(line)?;
        let extra = std::mem::take(&mut record.extra);
        let listed: Listed = serde_json::from_value(extra.into())?;
        Ok(Tag {
            record,
            latest: listed.latest,
            created: listed.created,
        })
    }
}

/// Parses every stdout line as a [`Tag`]; any other line fails the test.
pub fn tags(out: &Output) -> Vec<Tag> {
    out.stdout
        .lines()
        .map(|l| Tag::parse(l).unwrap_or_else(|e| panic!("not a tag record {l:?}: {e}")))
        .collect()
}

/// The one record about `image`.
#[track_caller]
pub fn by_image<'a>(records: &'a [Tag], image: &str) -> &'a Tag {
    let mut found = records.iter().filter(|r| r.image == image);
    let record = found
        .next()
        .unwrap_or_else(|| panic!("no record for {image} in {records:#?}"));
    assert!(found.next().is_none(), "two records for {image}");
    record
}

/// `needle` is in `haystack`, or the test fails showing both.
#[track_caller]
pub fn assert_has(haystack: &str, needle: &str) {
    assert!(
        haystack.contains(needle),
        "missing {needle:?} in:\n{haystack}"
    );
}

/// One registry shared by the tests that run at the same time (each
/// fleet in its own namespace), started again when none holds it; killed
/// when the last holder is done, so none outlives the test run.
fn shared_registry() -> Arc<Registry> {
    static SHARED: Mutex<Weak<Registry>> = Mutex::new(Weak::new());
    let mut slot = SHARED.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(registry) = slot.upgrade() {
        return registry;
    }
    let registry = Arc::new(Registry::start());
    *slot = Arc::downgrade(&registry);
    registry
}

/// A registry with both images at an old `latest` and, unless told
/// otherwise, a `staging-4c1d56e` build of each; reached through a proxy
/// of its own (so requests are counted per test). Repositories live under a
/// namespace of their own: `fleet.image(PLATFORM)` is
/// `127.0.0.1:PORT/t7/molecule-ai/platform`.
pub struct Fleet {
    _registry: Arc<Registry>,
    pusher: Pusher,
    namespace: String,
    pub proxy: Proxy,
    pub old: [String; 2],
    pub new: [String; 2],
}

impl Fleet {
    pub fn new(tenant_has_staging: bool) -> Fleet {
        Fleet::on(shared_registry(), tenant_has_staging)
    }

    /// A fleet on a registry of its own (one with authentication, say).
    pub fn with(registry: Registry, tenant_has_staging: bool) -> Fleet {
        Fleet::on(Arc::new(registry), tenant_has_staging)
    }

    fn on(registry: Arc<Registry>, tenant_has_staging: bool) -> Fleet {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let proxy = Proxy::start(&registry.url());
        let mut fleet = Fleet {
            pusher: registry.pusher(),
            _registry: registry,
            namespace: format!("t{}", NEXT.fetch_add(1, Ordering::Relaxed)),
            proxy,
            old: Default::default(),
            new: Default::default(),
        };
        let staging = format!("staging-{SHA}");
        let mut builds = vec![
            (PLATFORM, "latest", Kind::OciIndex, "platform-old"),
            (TENANT, "latest", Kind::DockerV2, "tenant-old"),
            (PLATFORM, staging.as_str(), Kind::OciIndex, "platform-new"),
        ];
        if tenant_has_staging {
            builds.push((TENANT, staging.as_str(), Kind::DockerV2, "tenant-new"));
        }
        // Pushed side by side: one after another, they were most of a
        // test's time, spent waiting on the registry.
        let pushed: Vec<String> = std::thread::scope(|scope| {
            let fleet = &fleet;
            let pushing: Vec<_> = builds
                .into_iter()
                .map(|(repo, tag, kind, seed)| {
                    scope.spawn(move || fleet.pusher.push(&fleet.repo(repo), tag, kind, seed))
                })
                .collect();
            let done = pushing.into_iter().map(|p| p.join().expect("a push"));
            done.map(|p| p.digest).collect()
        });
        let old = [pushed[0].clone(), pushed[1].clone()];
        let new = [
            pushed[2].clone(),
            pushed.get(3).cloned().unwrap_or_default(),
        ];
        (fleet.old, fleet.new) = (old, new);
        fleet
    }

    /// `repo` in this fleet's namespace, as stored in the registry.
    fn repo(&self, repo: &str) -> String {
        format!("{}/{repo}", self.namespace)
    }

    /// `repo` as the tool sees it: through the proxy.
    pub fn image(&self, repo: &str) -> String {
        format!("{}/{}", self.proxy.host(), self.repo(repo))
    }

    /// What `repo:tag` points at, read without the tool.
    pub fn digest_of(&self, repo: &str, tag: &str) -> Option<String> {
        self.pusher.digest_of(&self.repo(repo), tag)
    }

    /// Points `repo:tag` at an image pushed before.
    pub fn put_manifest(&self, repo: &str, tag: &str, built: &Built) {
        self.pusher
            .put_manifest(&self.repo(repo), tag, built.media_type, &built.bytes);
    }

    /// `ROLLBACK_IMAGES` naming both images.
    pub fn images_var(&self) -> String {
        format!("{} {}", self.image(PLATFORM), self.image(TENANT))
    }

    /// The tool, with both images named by `ROLLBACK_IMAGES`.
    pub fn cmd(&self, sandbox: &Sandbox, args: &[&str]) -> std::process::Command {
        let mut cmd = sandbox.cmd(args);
        cmd.env("ROLLBACK_IMAGES", self.images_var());
        cmd
    }

    /// Runs the tool with both images named by `ROLLBACK_IMAGES`.
    pub fn run(&self, args: &[&str], extra_env: &[(&str, &str)]) -> Output {
        let images = self.images_var();
        let mut env = vec![("ROLLBACK_IMAGES", images.as_str())];
        env.extend_from_slice(extra_env);
        Sandbox::new(BIN).run(args, &env, None)
    }

    /// Where each image's `latest` points, read without the tool.
    pub fn latest(&self) -> [Option<String>; 2] {
        [
            self.digest_of(PLATFORM, "latest"),
            self.digest_of(TENANT, "latest"),
        ]
    }

    pub fn old_latest(&self) -> [Option<String>; 2] {
        self.old.clone().map(Some)
    }

    pub fn new_latest(&self) -> [Option<String>; 2] {
        self.new.clone().map(Some)
    }

    /// The tenant image's `latest` PUT is refused (a 400 is not retried):
    /// the second move of a rollback fails.
    pub fn refuse_tenant_move(&self) {
        let refused = Fault::status("PUT", "/platform-tenant/manifests/latest", 1, 400);
        self.proxy.add_fault(refused);
    }

    /// Manifest PUTs seen by the proxy so far.
    pub fn puts(&self) -> usize {
        self.proxy
            .requests()
            .iter()
            .filter(|(m, _)| m == "PUT")
            .count()
    }

    /// Pushes another image under `repo:tag` (a build, or a re-push).
    pub fn push(&self, repo: &str, tag: &str, seed: &str) -> String {
        self.pusher
            .push(&self.repo(repo), tag, Kind::Oci, seed)
            .digest
    }
}

/// Runs the tool with stdout already closed by its reader (as in
/// `rollback-latest … | true` once `true` has gone): the first write fails
/// with a broken pipe, deterministically. `stdout` is empty.
pub fn run_with_closed_stdout(fleet: &Fleet, args: &[&str], extra_env: &[(&str, &str)]) -> Output {
    let sandbox = Sandbox::new(BIN);
    let mut cmd = fleet.cmd(&sandbox, args);
    cmd.envs(extra_env.iter().copied());
    testkit::terminal::run_with_closed_stdout(cmd, None)
}

/// Runs the tool on a real terminal, with both images named by
/// `ROLLBACK_IMAGES`: `stdout` is what a person sees (stderr included).
pub fn run_on_terminal(fleet: &Fleet, args: &[&str]) -> Output {
    let sandbox = Sandbox::new(BIN);
    testkit::terminal::run_on_terminal(fleet.cmd(&sandbox, args))
}

/// An image pushed with a `created` time in its config (testkit's images
/// carry none), to tell builds apart by age.
pub struct Built {
    pub digest: String,
    pub media_type: &'static str,
    pub bytes: Vec<u8>,
}

impl Fleet {
    /// Pushes `repo:tag` as an OCI image whose config says `created`; with
    /// `index`, as an OCI index whose first platform says `created` and whose
    /// second says a later time (which must not be the one shown).
    pub fn push_built(&self, repo: &str, tag: &str, created: &str, index: bool) -> Built {
        let repo = &self.repo(repo);
        use testkit::image::{sha256_digest, OCI_CONFIG, OCI_INDEX, OCI_LAYER, OCI_MANIFEST};
        let platform = |arch: &str, created: &str| -> Built {
            let layer = format!("layer {repo} {tag} {arch}\n").into_bytes();
            let layer_digest = self.pusher.push_blob(repo, &layer);
            let config = serde_json::json!({
                "created": created,
                "architecture": arch,
                "os": "linux",
                "rootfs": {"type": "layers", "diff_ids": [layer_digest]},
            })
            .to_string()
            .into_bytes();
            let config_digest = self.pusher.push_blob(repo, &config);
            let bytes = serde_json::to_vec(&serde_json::json!({
                "schemaVersion": 2,
                "mediaType": OCI_MANIFEST,
                "config": {"mediaType": OCI_CONFIG, "digest": config_digest, "size": config.len()},
                "layers": [{"mediaType": OCI_LAYER, "digest": layer_digest, "size": layer.len()}],
            }))
            .unwrap();
            Built {
                digest: sha256_digest(&bytes),
                media_type: OCI_MANIFEST,
                bytes,
            }
        };
        let built = if index {
            let children = [
                ("amd64", platform("amd64", created)),
                ("arm64", platform("arm64", "2030-01-01T00:00:00Z")),
            ];
            for (_, child) in &children {
                self.pusher
                    .put_manifest(repo, &child.digest, child.media_type, &child.bytes);
            }
            let manifests: Vec<serde_json::Value> = children
                .iter()
                .map(|(arch, c)| {
                    serde_json::json!({
                        "mediaType": c.media_type, "digest": c.digest, "size": c.bytes.len(),
                        "platform": {"architecture": arch, "os": "linux"},
                    })
                })
                .collect();
            let bytes = serde_json::to_vec(&serde_json::json!({
                "schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": manifests,
            }))
            .unwrap();
            Built {
                digest: sha256_digest(&bytes),
                media_type: OCI_INDEX,
                bytes,
            }
        } else {
            platform("amd64", created)
        };
        self.pusher
            .put_manifest(repo, tag, built.media_type, &built.bytes);
        built
    }
}
