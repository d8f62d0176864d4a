use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, Weak};

use registry_tag::TagRecord;
use serde_json::Value;
use testkit::image::{Kind, Pushed};
use testkit::Output;

pub const BIN: &str = env!("CARGO_BIN_EXE_registry-tag");

pub use testkit::sandbox::{assert_code, assert_hidden, path_with};

/// A hermetic home for one `registry-tag` run: no real docker config, no
/// inherited credentials or proxies.
#[derive(Debug)]
pub struct Sandbox(testkit::Sandbox);

impl Sandbox {
    pub fn new() -> Sandbox {
        Sandbox(testkit::Sandbox::new(BIN))
    }

    /// `~/.docker/config.json` with `content`.
    pub fn docker_config(&self, content: &Value) -> PathBuf {
        let dir = self.home.join(".docker");
        std::fs::create_dir_all(&dir).expect("mkdir .docker");
        let path = dir.join("config.json");
        std::fs::write(&path, content.to_string()).expect("write config.json");
        path
    }
}

impl std::ops::Deref for Sandbox {
    type Target = testkit::Sandbox;

    fn deref(&self) -> &testkit::Sandbox {
        &self.0
    }
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

/// Runs the tool on a real terminal (a pty from util-linux `script`): stdout
/// and stderr both reach the terminal, so `stdout` is what a person sees,
/// with `\r\n` made `\n`.
pub fn run_on_terminal(args: &[&str]) -> Output {
    let sandbox = Sandbox::new();
    let quote = |word: &str| format!("'{}'", word.replace('\'', r"'\''"));
    let mut line = quote(BIN);
    for arg in args {
        line.push(' ');
        line.push_str(&quote(arg));
    }
    let mut cmd = testkit::hermetic("script", sandbox.home());
    cmd.args(["-qec", &line, "/dev/null"]);
    let mut out = Output::of(&mut cmd, None);
    out.stdout = out.stdout.replace("\r\n", "\n");
    out
}

/// Runs the tool with stdout already closed by its reader (`… | true` once
/// `true` has gone): its first write fails with a broken pipe,
/// deterministically. `stdout` is empty.
pub fn run_with_closed_stdout(args: &[&str], stdin: Option<&str>) -> Output {
    use std::io::Write;
    use std::os::fd::OwnedFd;
    use std::os::unix::net::UnixStream;
    use std::process::Stdio;

    let sandbox = Sandbox::new();
    let mut cmd = sandbox.cmd(args);
    let (writer, reader) = UnixStream::pair().expect("a socket pair");
    drop(reader);
    cmd.stdout(Stdio::from(OwnedFd::from(writer)))
        .stderr(Stdio::piped());
    if stdin.is_some() {
        cmd.stdin(Stdio::piped());
    }
    let mut child = cmd.spawn().expect("spawn the tool under test");
    if let Some(input) = stdin {
        let mut pipe = child.stdin.take().expect("stdin is piped");
        pipe.write_all(input.as_bytes()).expect("write stdin");
    }
    let out = child.wait_with_output().expect("wait for the tool");
    Output {
        code: out.status.code().unwrap_or(-1),
        stdout: String::new(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// Runs the tool in the background (`args`, `stdin`), for a test that acts
/// while the proxy holds one of its requests; join the handle for the output.
pub fn in_background(args: &[&str], stdin: String) -> std::thread::JoinHandle<Output> {
    let args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
    std::thread::spawn(move || {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        Sandbox::new().run(&args, &[], Some(&stdin))
    })
}

/// A registry for one test: its own namespace (`127.0.0.1:PORT/tN/...`) in
/// a `docker-registry` shared with the tests running at the same time
/// (starting one costs more than most tests). The process stops when the
/// last test using it ends, so none outlives the test binary.
#[derive(Debug)]
pub struct Registry {
    shared: Arc<testkit::registry::Registry>,
    namespace: String,
}

static SHARED: Mutex<Weak<testkit::registry::Registry>> = Mutex::new(Weak::new());
static NAMESPACES: AtomicUsize = AtomicUsize::new(0);

impl Registry {
    pub fn start() -> Registry {
        let shared = {
            let mut weak = SHARED.lock().unwrap_or_else(|e| e.into_inner());
            weak.upgrade().unwrap_or_else(|| {
                let started = Arc::new(testkit::registry::Registry::start());
                *weak = Arc::downgrade(&started);
                started
            })
        };
        let namespace = format!("t{}", NAMESPACES.fetch_add(1, Ordering::Relaxed));
        Registry { shared, namespace }
    }

    /// `127.0.0.1:PORT/tN`: put `/repo` after it for an image name.
    pub fn host(&self) -> String {
        format!("{}/{}", self.shared.host(), self.namespace)
    }

    /// `tN`, the first path component of every repository of this test.
    pub fn namespace(&self) -> &str {
        &self.namespace
    }

    /// Pushes and reads back under this test's namespace.
    pub fn pusher(&self) -> Pusher {
        Pusher {
            inner: self.shared.pusher(),
            namespace: self.namespace.clone(),
        }
    }

    /// A counting/fault proxy in front of the registry, for this test.
    pub fn proxy(&self) -> Proxy {
        Proxy {
            inner: testkit::proxy::Proxy::start(&self.shared.url()),
            namespace: self.namespace.clone(),
        }
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
        format!("{}/{repo}", self.namespace)
    }

    pub fn push(&self, repo: &str, tag: &str, kind: Kind, seed: &str) -> Pushed {
        self.inner.push(&self.repo(repo), tag, kind, seed)
    }

    pub fn put_manifest(&self, repo: &str, reference: &str, media_type: &str, bytes: &[u8]) {
        self.inner
            .put_manifest(&self.repo(repo), reference, media_type, bytes)
    }

    pub fn digest_of(&self, repo: &str, reference: &str) -> Option<String> {
        self.inner.digest_of(&self.repo(repo), reference)
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
        format!("{}/{}", self.inner.host(), self.namespace)
    }
}

impl std::ops::Deref for Proxy {
    type Target = testkit::proxy::Proxy;

    fn deref(&self) -> &testkit::proxy::Proxy {
        &self.inner
    }
}
