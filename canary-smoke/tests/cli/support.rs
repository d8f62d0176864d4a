//! What every canary-smoke test needs: the binary in a hermetic sandbox,
//! the fake fleet, typed records, and a raw loopback server for the
//! transport behaviour the fleet does not fake (dropped connections,
//! redirects, oversized bodies).

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::thread;

pub use canary_smoke::CheckRecord;
pub use testkit::actions::without_masks;
pub use testkit::fleet::{Fault, Fleet, TenantSpec};
pub use testkit::sandbox::assert_code;
pub use testkit::Output;

pub const BIN: &str = env!("CARGO_BIN_EXE_canary-smoke");

pub const DEFAULT_CHECKS: [&str; 6] = [
    "liveness",
    "workspaces",
    "memory-commit",
    "memory-search",
    "events",
    "auth-required",
];

/// A hermetic home for canary-smoke runs.
pub fn sandbox() -> testkit::Sandbox {
    testkit::Sandbox::new(BIN)
}

/// Runs canary-smoke with `args` and `stdin` as its input.
pub fn smoke(args: &[&str], stdin: &str) -> Output {
    sandbox().run(args, &[], Some(stdin))
}

pub fn fleet(specs: Vec<TenantSpec>) -> Fleet {
    Fleet::start(specs).expect("start the fake fleet")
}

/// Refused as bad input: exit 2, and `said` holds for stderr; fails
/// showing what the run wrote otherwise.
#[track_caller]
pub fn assert_refused(out: &Output, said: impl Fn(&str) -> bool) {
    assert_code(out, 2);
    assert!(said(&out.stderr), "unexpected stderr:\n{}", out.stderr);
}

/// `stderr` holds `text`; fails showing all of it otherwise.
#[track_caller]
pub fn assert_stderr_has(stderr: &str, text: &str) {
    assert!(stderr.contains(text), "no {text:?} on stderr:\n{stderr}");
}

/// stdout parsed as check records (a line that is not one fails the test).
#[track_caller]
pub fn records(out: &Output) -> Vec<CheckRecord> {
    out.stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("bad record {l:?}: {e}")))
        .collect()
}

/// The (tenant, check) pairs whose record says `ok: false`.
pub fn failing(out: &Output) -> BTreeSet<(String, String)> {
    pairs(out, false)
}

pub fn pairs(out: &Output, ok: bool) -> BTreeSet<(String, String)> {
    records(out)
        .into_iter()
        .filter(|r| r.ok == ok)
        .map(|r| (r.tenant, r.check))
        .collect()
}

#[track_caller]
pub fn record<'a>(records: &'a [CheckRecord], tenant: &str, check: &str) -> &'a CheckRecord {
    records
        .iter()
        .find(|r| r.tenant == tenant && r.check == check)
        .unwrap_or_else(|| panic!("no record for {tenant}/{check}"))
}

/// The reason of a failing record.
#[track_caller]
pub fn reason(records: &[CheckRecord], tenant: &str, check: &str) -> String {
    let r = record(records, tenant, check);
    r.reason
        .clone()
        .unwrap_or_else(|| panic!("{tenant}/{check} has no reason: {r:?}"))
}

pub fn every_check_of(tenant: &str, checks: &[&str]) -> BTreeSet<(String, String)> {
    checks
        .iter()
        .map(|c| (tenant.to_string(), c.to_string()))
        .collect()
}

/// A suite file in the sandbox's home.
pub fn suite_file(sandbox: &testkit::Sandbox, text: &str) -> String {
    let path = sandbox.path("suite.jsonl");
    std::fs::write(&path, text).expect("write the suite");
    path.to_str().expect("a UTF-8 path").to_string()
}

/// What a [`Stub`] does with one request.
#[derive(Debug, Clone)]
pub enum Reply {
    /// Closes the connection without a word.
    Drop,
    /// Answers with this status, extra headers and body.
    Respond(u16, Vec<(String, String)>, String),
}

/// How a [`Stub`] answers: connection number (from 0) and request head → reply.
pub type Behaviour = dyn Fn(usize, &str) -> Reply + Send + Sync;

/// A one-port loopback HTTP server answering one request per connection,
/// keeping every request head it received.
#[derive(Debug)]
pub struct Stub {
    pub port: u16,
    heads: Arc<Mutex<Vec<String>>>,
}

impl Stub {
    pub fn start(behaviour: Box<Behaviour>) -> Stub {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind a loopback port");
        let port = listener.local_addr().expect("local address").port();
        let heads = Arc::new(Mutex::new(Vec::new()));
        let seen = heads.clone();
        // Lives as long as the test process: accept blocks until then.
        thread::spawn(move || {
            for (n, stream) in listener.incoming().enumerate() {
                let Ok(stream) = stream else { continue };
                let Some(head) = read_request(&stream) else {
                    continue;
                };
                seen.lock().unwrap().push(head.clone());
                if let Reply::Respond(status, headers, body) = behaviour(n, &head) {
                    respond(stream, status, &headers, &body);
                }
            }
        });
        Stub { port, heads }
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// The request heads received so far (request line and headers).
    pub fn heads(&self) -> Vec<String> {
        self.heads.lock().unwrap().clone()
    }

    /// A tenant line for this server.
    pub fn tenant_line(&self, name: &str, token: &str, extra: &str) -> String {
        format!(
            "{{\"name\":\"{name}\",\"url\":\"{}\",\"token\":\"{token}\"{extra}}}\n",
            self.url()
        )
    }
}

fn read_request(stream: &TcpStream) -> Option<String> {
    let mut reader = BufReader::new(stream);
    let mut head = String::new();
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).ok()? == 0 {
            return None;
        }
        if line == "\r\n" {
            break;
        }
        head.push_str(&line);
    }
    let length = head
        .lines()
        .find_map(|l| {
            let (name, value) = l.split_once(':')?;
            name.eq_ignore_ascii_case("content-length")
                .then(|| value.trim().parse::<u64>().ok())?
        })
        .unwrap_or(0);
    let mut body = Vec::new();
    reader.take(length).read_to_end(&mut body).ok()?;
    Some(head)
}

fn respond(mut stream: TcpStream, status: u16, headers: &[(String, String)], body: &str) {
    let mut text = format!(
        "HTTP/1.1 {status} Stub\r\nContent-Length: {}\r\nConnection: close\r\n",
        body.len()
    );
    for (name, value) in headers {
        text.push_str(&format!("{name}: {value}\r\n"));
    }
    text.push_str("\r\n");
    text.push_str(body);
    let _ = stream.write_all(text.as_bytes());
}
