//! What every test of `registry-tag` stands on: a hermetic sandbox to run
//! it in, one shared registry per kind (a namespace per test), typed
//! records, GitHub Actions files read back, and the assertions the tests
//! share.

use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, Weak};

use registry_tag::TagRecord;
use serde_json::Value;
use testkit::image::{Kind, Pushed};
use testkit::registry::{PASSWORD, USER};
use testkit::token_server::TokenServer;
use testkit::Output;

pub const BIN: &str = env!("CARGO_BIN_EXE_registry-tag");

pub use testkit::sandbox::{assert_code, assert_hidden, path_with};

/// The htpasswd registry's credentials as `REGISTRY_USERNAME`/`_PASSWORD`.
pub const HTPASSWD_ENV: [(&str, &str); 2] =
    [("REGISTRY_USERNAME", USER), ("REGISTRY_PASSWORD", PASSWORD)];

/// A hermetic home for `registry-tag` runs: no real docker config, no
/// inherited credentials or proxies.
#[derive(Debug)]
pub struct Sandbox(testkit::Sandbox);

impl Sandbox {
    pub fn new() -> Sandbox {
        Sandbox(testkit::Sandbox::new(BIN))
    }

    /// `registry-tag args`, nothing on stdin.
    pub fn call(&self, args: &[&str]) -> Output {
        self.run(args, &[], None)
    }

    /// `registry-tag args` reading `stdin` (move requests).
    pub fn feed(&self, args: &[&str], stdin: &str) -> Output {
        self.run(args, &[], Some(stdin))
    }

    /// `~/.docker/config.json` with `content`.
    pub fn docker_config(&self, content: &Value) -> PathBuf {
        let dir = self.home.join(".docker");
        std::fs::create_dir_all(&dir).expect("mkdir .docker");
        let path = dir.join("config.json");
        std::fs::write(&path, content.to_string()).expect("write config.json");
        path
    }

    /// Runs as a GitHub Actions step with `env` besides: the output, and the
    /// step summary and outputs the run wrote.
    pub fn in_actions(&self, args: &[&str], env: &[(&str, &str)], stdin: Option<&str>) -> Step {
        let summary = self.path("summary.md");
        let outputs = self.path("outputs");
        let mut all = vec![
            ("GITHUB_ACTIONS", "true"),
            ("GITHUB_STEP_SUMMARY", summary.to_str().unwrap()),
            ("GITHUB_OUTPUT", outputs.to_str().unwrap()),
        ];
        all.extend_from_slice(env);
        let out = self.run(args, &all, stdin);
        let read = |p: PathBuf| std::fs::read_to_string(p).unwrap_or_default();
        Step {
            out,
            summary: read(summary),
            outputs: testkit::actions::step_outputs(&read(outputs)),
        }
    }
}

impl std::ops::Deref for Sandbox {
    type Target = testkit::Sandbox;

    fn deref(&self) -> &testkit::Sandbox {
        &self.0
    }
}

/// `registry-tag args` in a fresh sandbox, nothing on stdin.
pub fn call(args: &[&str]) -> Output {
    Sandbox::new().call(args)
}

/// `registry-tag args` in a fresh sandbox, reading `stdin`.
pub fn feed(args: &[&str], stdin: &str) -> Output {
    Sandbox::new().feed(args, stdin)
}

/// `registry-tag args` in a fresh sandbox as a GitHub Actions step.
pub fn in_actions(args: &[&str], stdin: Option<&str>) -> Step {
    Sandbox::new().in_actions(args, &[], stdin)
}

/// A run as a GitHub Actions step: what it printed, the step summary and
/// the step outputs (in the order written).
#[derive(Debug)]
pub struct Step {
    pub out: Output,
    pub summary: String,
    pub outputs: Vec<(String, String)>,
}

impl Step {
    /// The step output `name`, if set.
    pub fn output(&self, name: &str) -> Option<&str> {
        let mut named = self.outputs.iter().filter(|(n, _)| n == name);
        named.next().map(|(_, value)| value.as_str())
    }

    /// The `digests` output: image (or image:tag) → digest.
    #[track_caller]
    pub fn digests(&self) -> std::collections::BTreeMap<String, String> {
        let json = self.output("digests").expect("a digests output");
        serde_json::from_str(json).expect("digests is a JSON object")
    }

    /// Exit `code` saying `text`, in exactly one `::error` annotation.
    #[track_caller]
    pub fn assert_annotated_once(&self, code: i32, text: &str) {
        assert_exit(&self.out, code, text);
        let stderr = &self.out.stderr;
        let annotations = testkit::actions::commands(stderr, "error");
        assert_eq!(annotations.len(), 1, "one annotation:\n{stderr}");
        let annotation = annotations[0];
        assert!(
            annotation.starts_with("::error title=registry-tag::") && annotation.contains(text),
            "{text:?} in {annotation:?}"
        );
    }

    /// The summary starts with `verdict` (its first line states it).
    #[track_caller]
    pub fn assert_verdict(&self, verdict: &str) {
        let summary = &self.summary;
        assert!(
            summary.starts_with(verdict),
            "{verdict:?} first in:\n{summary}"
        );
    }

    /// The summary shows `digest` in full, in a code span.
    #[track_caller]
    pub fn assert_shows(&self, digest: &str) {
        let summary = &self.summary;
        assert!(
            summary.contains(&format!("`{digest}`")),
            "{digest} in:\n{summary}"
        );
    }
}

/// stderr says `text`.
#[track_caller]
pub fn assert_says(out: &Output, text: &str) {
    assert!(
        out.stderr.contains(text),
        "{text:?} not in stderr:\n{}",
        out.stderr
    );
}

/// Exits `code`, saying `text` on stderr.
#[track_caller]
pub fn assert_exit(out: &Output, code: i32, text: &str) {
    assert_code(out, code);
    assert_says(out, text);
}

/// The only record printed, typed.
#[track_caller]
pub fn single_record(out: &Output) -> TagRecord {
    let mut records = tag_records(out);
    assert_eq!(
        records.len(),
        1,
        "expected one record, got:\n{}\nstderr:\n{}",
        out.stdout,
        out.stderr
    );
    records.remove(0)
}

/// Every record printed, typed.
#[track_caller]
pub fn tag_records(out: &Output) -> Vec<TagRecord> {
    out.stdout
        .lines()
        .map(|line| {
            serde_json::from_str(line).unwrap_or_else(|e| {
                panic!("not a tag record ({e}): {line}\nstderr:\n{}", out.stderr)
            })
        })
        .collect()
}

/// A move request line: `{"image","source","tag"}`.
pub fn request(host: &str, repo: &str, source: &str, tag: &str) -> String {
    format!("{{\"image\":\"{host}/{repo}\",\"source\":\"{source}\",\"tag\":\"{tag}\"}}\n")
}

/// One request per repository moving its `latest` to `source`.
pub fn to_latest(host: &str, repos: &[&str], source: &str) -> String {
    let lines = repos
        .iter()
        .map(|repo| request(host, repo, source, "latest"));
    lines.collect()
}

/// `registry-tag args` on a real terminal: `stdout` is what a person sees.
pub fn run_on_terminal(args: &[&str]) -> Output {
    let sandbox = Sandbox::new();
    testkit::terminal::run_on_terminal(sandbox.cmd(args))
}

/// `registry-tag args` with its stdout closed before it starts: its first
/// write fails with a broken pipe. `stdout` is empty.
pub fn run_with_closed_stdout(args: &[&str], stdin: Option<&str>) -> Output {
    let sandbox = Sandbox::new();
    testkit::terminal::run_with_closed_stdout(sandbox.cmd(args), stdin)
}

/// Runs the tool in the background (`args`, `stdin`), for a test that acts
/// while the proxy holds one of its requests; join the handle for the output.
pub fn in_background(args: &[&str], stdin: String) -> std::thread::JoinHandle<Output> {
    let args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
    std::thread::spawn(move || {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        feed(&args, &stdin)
    })
}

/// One running `docker-registry` of a kind, shared by the tests running at
/// the same time (starting one costs more than most tests); it stops when
/// the last test using it ends, so none outlives the test binary.
struct Shared {
    running: Mutex<Weak<testkit::registry::Registry>>,
    start: fn() -> testkit::registry::Registry,
}

impl Shared {
    const fn new(start: fn() -> testkit::registry::Registry) -> Shared {
        Shared {
            running: Mutex::new(Weak::new()),
            start,
        }
    }

    fn get(&self) -> Arc<testkit::registry::Registry> {
        let mut weak = self.running.lock().unwrap_or_else(|e| e.into_inner());
        weak.upgrade().unwrap_or_else(|| {
            let started = Arc::new((self.start)());
            *weak = Arc::downgrade(&started);
            started
        })
    }
}

static PLAIN: Shared = Shared::new(testkit::registry::Registry::start);
static HTPASSWD: Shared = Shared::new(testkit::registry::Registry::start_htpasswd);
static NAMESPACES: AtomicUsize = AtomicUsize::new(0);

/// A registry for one test: its own namespace (`127.0.0.1:PORT/tN/...`) in
/// a `docker-registry` shared with the tests running at the same time.
#[derive(Debug)]
pub struct Registry {
    shared: Arc<testkit::registry::Registry>,
    namespace: String,
    /// Pushes and reads back under the namespace: `registry.push(…)`.
    pusher: Pusher,
}

impl Registry {
    /// Without authentication.
    pub fn start() -> Registry {
        Registry::within(&PLAIN)
    }

    /// Without authentication, holding `repo:latest` and a candidate
    /// `repo:tag` of `kind` (see [`Pusher::latest_and`]): the registry, old
    /// and new.
    pub fn promoting(repo: &str, tag: &str, kind: Kind) -> (Registry, Pushed, Pushed) {
        let registry = Registry::start();
        let (old, new) = registry.latest_and(repo, tag, kind);
        (registry, old, new)
    }

    /// Without authentication, holding `repo:tag` of `kind`: the registry
    /// and that build.
    pub fn holding(repo: &str, tag: &str, kind: Kind) -> (Registry, Pushed) {
        let registry = Registry::start();
        let pushed = registry.push(repo, tag, kind, &format!("{repo}:{tag}"));
        (registry, pushed)
    }

    /// Behind htpasswd (Basic) auth: [`USER`]/[`PASSWORD`], see [`HTPASSWD_ENV`].
    pub fn htpasswd() -> Registry {
        Registry::within(&HTPASSWD)
    }

    /// Behind Bearer tokens from `tokens`: a registry of the test's own
    /// (its test counts what `tokens` grants), without a namespace.
    pub fn token(tokens: &TokenServer) -> Registry {
        let own = testkit::registry::Registry::start_token(tokens);
        Registry::new(Arc::new(own), String::new())
    }

    fn within(shared: &Shared) -> Registry {
        let namespace = format!("t{}", NAMESPACES.fetch_add(1, Ordering::Relaxed));
        Registry::new(shared.get(), namespace)
    }

    fn new(shared: Arc<testkit::registry::Registry>, namespace: String) -> Registry {
        let pusher = Pusher {
            inner: shared.pusher(),
            namespace: namespace.clone(),
        };
        Registry {
            shared,
            namespace,
            pusher,
        }
    }

    /// `127.0.0.1:PORT/tN`: put `/repo` after it for an image name.
    pub fn host(&self) -> String {
        within(&self.shared.host(), &self.namespace)
    }

    /// `127.0.0.1:PORT`, the registry as docker's config names it.
    pub fn authority(&self) -> String {
        self.shared.host()
    }

    /// `127.0.0.1:PORT/tN/name`: an image, or a reference with `:tag`.
    pub fn image(&self, name: &str) -> String {
        format!("{}/{name}", self.host())
    }

    /// `tN`, the first path component of every repository of this test.
    pub fn namespace(&self) -> &str {
        &self.namespace
    }

    /// A counting/fault proxy in front of the registry, for this test.
    pub fn proxy(&self) -> Proxy {
        Proxy {
            inner: testkit::proxy::Proxy::start(&self.shared.url()),
            namespace: self.namespace.clone(),
        }
    }
}

impl std::ops::Deref for Registry {
    type Target = Pusher;

    fn deref(&self) -> &Pusher {
        &self.pusher
    }
}

/// [`testkit::image::Pusher`] inside one test's namespace.
#[derive(Debug, Clone)]
pub struct Pusher {
    inner: testkit::image::Pusher,
    namespace: String,
}

impl Pusher {
    fn repo(&self, repo: &str) -> String {
        within(&self.namespace, repo)
    }

    pub fn push(&self, repo: &str, tag: &str, kind: Kind, seed: &str) -> Pushed {
        self.inner.push(&self.repo(repo), tag, kind, seed)
    }

    /// `repo:latest` (seed `repo-old`) and a candidate `repo:tag` (seed
    /// `repo-new`), both of `kind`: (old, new).
    pub fn latest_and(&self, repo: &str, tag: &str, kind: Kind) -> (Pushed, Pushed) {
        let old = self.push(repo, "latest", kind, &format!("{repo}-old"));
        (old, self.push(repo, tag, kind, &format!("{repo}-new")))
    }

    pub fn put_manifest(&self, repo: &str, reference: &str, media_type: &str, bytes: &[u8]) {
        self.inner
            .put_manifest(&self.repo(repo), reference, media_type, bytes)
    }

    pub fn digest_of(&self, repo: &str, reference: &str) -> Option<String> {
        self.inner.digest_of(&self.repo(repo), reference)
    }

    /// `repo:tag` points at `digest`, read independently of the tool.
    #[track_caller]
    pub fn assert_at(&self, repo: &str, tag: &str, digest: &str) {
        let now = self.digest_of(repo, tag);
        assert_eq!(now.as_deref(), Some(digest), "{repo}:{tag}");
    }

    /// `repo:tag` does not exist.
    #[track_caller]
    pub fn assert_absent(&self, repo: &str, tag: &str) {
        assert_eq!(self.digest_of(repo, tag), None, "{repo}:{tag}");
    }
}

/// [`testkit::proxy::Proxy`] whose `host()` carries the test's namespace.
#[derive(Debug)]
pub struct Proxy {
    inner: testkit::proxy::Proxy,
    namespace: String,
}

impl Proxy {
    /// `127.0.0.1:PROXYPORT/tN`: put `/repo` after it for an image name.
    pub fn host(&self) -> String {
        within(&self.inner.host(), &self.namespace)
    }

    /// `127.0.0.1:PROXYPORT/tN/name`.
    pub fn image(&self, name: &str) -> String {
        format!("{}/{name}", self.host())
    }

    /// `127.0.0.1:PROXYPORT`, the registry as docker's config names it.
    pub fn authority(&self) -> String {
        self.inner.host()
    }

    /// Waits (at most 20 s, a bound, not a timing) until `n` requests are
    /// held at once.
    pub fn held(&self, n: usize) -> bool {
        self.wait_held(n, std::time::Duration::from_secs(20))
    }
}

impl std::ops::Deref for Proxy {
    type Target = testkit::proxy::Proxy;

    fn deref(&self) -> &testkit::proxy::Proxy {
        &self.inner
    }
}

/// `outer/inner`; without a namespace (an empty side), the other alone.
fn within(outer: &str, inner: &str) -> String {
    match (outer, inner) {
        (only, "") | ("", only) => only.to_string(),
        _ => format!("{outer}/{inner}"),
    }
}
