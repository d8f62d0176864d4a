//! Finding the built tools, running one as a GitHub Actions step, and
//! looking for every form of a secret in everything it wrote.

use std::path::{Path, PathBuf};
use std::process::Command;

use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD};
use base64::Engine;
use serde_json::Value;
use testkit::actions::without_masks;
use testkit::{hermetic, Output, TempDir};

/// A secret as an attacker-friendly server might echo it: with `/` (JSON's
/// optional `\/`) and other characters JSON and base64 treat specially.
pub const TENANT_TOKEN: &str = "e2e/T0ken+Adm1n=~!x";
/// The registry password (Basic on the token request).
pub const REGISTRY_USER: &str = "e2e-robot";
pub const REGISTRY_PASSWORD: &str = "e2e/Pa55+w0rd=~!y";
/// A wrong password, tried on a failure path: a secret all the same.
pub const WRONG_PASSWORD: &str = "e2e/Wr0ng+Pa55=~!z";

pub const SHA: &str = "4c1d56e";

/// The five tools.
pub const TOOLS: [&str; 5] = [
    "tenant-list",
    "canary-wait",
    "canary-smoke",
    "registry-tag",
    "rollback-latest",
];

/// The built binary `name`, next to this test executable: the profile
/// directory is the parent of the `deps/` directory holding the test.
pub fn bin(name: &str) -> PathBuf {
    let exe = std::env::current_exe().expect("the test executable's path");
    let profile = exe
        .parent()
        .and_then(Path::parent)
        .expect("the test runs from <target>/<profile>/deps/");
    let path = profile.join(name);
    assert!(
        path.is_file(),
        "{} is missing: build every tool first (`cargo test --workspace` or `cargo build --bins`)",
        path.display()
    );
    path
}

/// Every form of `secret` that must not appear in any output: raw, JSON
/// string-escaped (serde's, with `\/`, and `\u00XX` for every non-alphanumeric
/// character in lower and upper case hex), base64 (standard and URL-safe,
/// padded or not), and with a `user` the base64 of `user:secret`.
pub fn forms(secret: &str, user: Option<&str>) -> Vec<(String, String)> {
    let serde = serde_json::to_string(secret).unwrap();
    let serde = serde[1..serde.len() - 1].to_string();
    let unicode = |upper: bool| -> String {
        secret
            .chars()
            .map(|c| match (c.is_ascii_alphanumeric(), upper) {
                (true, _) => c.to_string(),
                (false, true) => format!("\\u{:04X}", c as u32),
                (false, false) => format!("\\u{:04x}", c as u32),
            })
            .collect()
    };
    let mut found = vec![
        ("raw".to_string(), secret.to_string()),
        ("JSON-escaped".to_string(), serde.clone()),
        (
            "JSON-escaped with \\/".to_string(),
            serde.replace('/', "\\/"),
        ),
        ("\\u00xx-escaped".to_string(), unicode(false)),
        ("\\u00XX-escaped".to_string(), unicode(true)),
        ("base64".to_string(), STANDARD.encode(secret)),
        (
            "base64 unpadded".to_string(),
            STANDARD_NO_PAD.encode(secret),
        ),
        ("base64url".to_string(), URL_SAFE.encode(secret)),
        (
            "base64url unpadded".to_string(),
            URL_SAFE_NO_PAD.encode(secret),
        ),
    ];
    if let Some(user) = user {
        let pair = format!("{user}:{secret}");
        found.push(("base64 of user:secret".to_string(), STANDARD.encode(&pair)));
        found.push((
            "base64 of user:secret unpadded".to_string(),
            STANDARD_NO_PAD.encode(&pair),
        ));
    }
    found
}

/// A body that echoes `secret` in several forms, as a hostile or careless
/// server might.
pub fn echo_body(secret: &str) -> String {
    let serde = serde_json::to_string(secret).unwrap();
    let serde = &serde[1..serde.len() - 1];
    let upper: String = secret
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_string()
            } else {
                format!("\\u{:04X}", c as u32)
            }
        })
        .collect();
    format!(
        r#"{{"echo":"{}","escaped":"{}","unicode":"{upper}","b64":"{}"}}"#,
        serde,
        serde.replace('/', "\\/"),
        STANDARD.encode(secret)
    )
}

/// Everything one run of a tool wrote.
#[derive(Debug)]
pub struct Run {
    pub what: String,
    pub out: Output,
    pub summary: String,
    pub output: String,
    /// Other files the tool wrote (JUnit), by name.
    pub files: Vec<(String, String)>,
}

/// One tool run as a GitHub Actions step: `GITHUB_ACTIONS=true`, a step
/// summary and a `GITHUB_OUTPUT` file in a fresh temp dir.
#[derive(Debug)]
pub struct Step {
    pub dir: TempDir,
    pub cmd: Command,
    what: String,
    files: Vec<String>,
}

impl Step {
    pub fn new(tool: &str, args: &[&str]) -> Step {
        let dir = TempDir::new("e2e").expect("a temp dir");
        let mut cmd = hermetic(bin(tool).to_str().unwrap(), dir.path());
        cmd.env("GITHUB_ACTIONS", "true")
            .env("GITHUB_STEP_SUMMARY", dir.join("summary.md"))
            .env("GITHUB_OUTPUT", dir.join("output"))
            .env_remove("RUNNER_DEBUG")
            .env_remove("REGISTRY_HOST")
            .env_remove("REGISTRY_AUTH_FILE")
            .env_remove("XDG_RUNTIME_DIR")
            .args(args);
        Step {
            what: format!("{tool} {}", args.join(" ")),
            dir,
            cmd,
            files: Vec::new(),
        }
    }

    pub fn env(mut self, name: &str, value: &str) -> Step {
        self.cmd.env(name, value);
        self
    }

    pub fn arg(mut self, arg: &str) -> Step {
        self.what += &format!(" {arg}");
        self.cmd.arg(arg);
        self
    }

    /// `--flag <dir>/name`, read back after the run.
    pub fn file_arg(mut self, flag: &str, name: &str) -> Step {
        let path = self.dir.join(name);
        self.cmd.arg(flag).arg(&path);
        self.what += &format!(" {flag} {name}");
        self.files.push(name.to_string());
        self
    }

    pub fn run(mut self, stdin: Option<&str>) -> Run {
        let out = Output::of(&mut self.cmd, stdin);
        let read = |name: &str| std::fs::read_to_string(self.dir.join(name)).unwrap_or_default();
        Run {
            what: self.what.clone(),
            summary: read("summary.md"),
            output: read("output"),
            files: self.files.iter().map(|f| (f.clone(), read(f))).collect(),
            out,
        }
    }
}

/// `-vv` was refused: the tool has no `-v` yet.
pub fn refuses_verbose(run: &Run) -> bool {
    run.out.code == 2 && run.out.stderr.contains("'-v'")
}

/// Where any form of any secret appears in `run`'s outputs. `::add-mask::`
/// lines are the runner's own mechanism and are skipped; with
/// `tokens_in_records`, the `token` field of stdout records (tenant records
/// travelling down the pipe) is allowed.
pub fn leaks(run: &Run, secrets: &[(String, String)], tokens_in_records: bool) -> Vec<String> {
    let stdout = if tokens_in_records {
        run.out
            .stdout
            .lines()
            .map(|line| match serde_json::from_str::<Value>(line) {
                Ok(Value::Object(mut record)) => {
                    record.remove("token");
                    Value::Object(record).to_string()
                }
                _ => line.to_string(),
            })
            .collect::<Vec<_>>()
            .join("\n")
    } else {
        run.out.stdout.clone()
    };
    let stderr = without_masks(&run.out.stderr);
    let mut places = vec![
        ("stdout".to_string(), stdout),
        ("stderr".to_string(), stderr),
        ("step summary".to_string(), run.summary.clone()),
        ("GITHUB_OUTPUT".to_string(), run.output.clone()),
    ];
    places.extend(run.files.iter().cloned());
    let mut found = Vec::new();
    for (place, text) in &places {
        for (form, value) in secrets {
            if let Some(at) = text.find(value.as_str()) {
                let start = text[..at]
                    .char_indices()
                    .rev()
                    .nth(60)
                    .map_or(0, |(i, _)| i);
                let end = (at + value.len() + 60).min(text.len());
                let end = (end..=text.len())
                    .find(|&i| text.is_char_boundary(i))
                    .unwrap();
                found.push(format!(
                    "{}: {form} form of a secret in {place}: …{}…",
                    run.what,
                    &text[start..end]
                ));
            }
        }
    }
    found
}

/// Fails listing every problem found, or passes when there is none.
#[track_caller]
pub fn assert_none(problems: &[String]) {
    assert!(
        problems.is_empty(),
        "{} problem(s):\n{}",
        problems.len(),
        problems.join("\n")
    );
}

/// The exit code is `want`, or a problem saying what the tool printed.
pub fn expect_code(run: &Run, want: i32, problems: &mut Vec<String>) {
    if run.out.code != want {
        problems.push(format!(
            "{}: exit {} (expected {want}); stderr:\n{}",
            run.what, run.out.code, run.out.stderr
        ));
    }
}

/// A hostile registry on loopback: `/v2/` asks for Basic credentials, and
/// every request that carries them is refused (403) with a body echoing the
/// `Authorization` header and the password it decodes to, raw and
/// JSON-escaped. Serves until the test process ends.
pub fn echoing_registry() -> String {
    use std::io::{BufRead, BufReader, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let host = listener.local_addr().unwrap().to_string();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut auth = None;
            let mut line = String::new();
            while reader.read_line(&mut line).is_ok_and(|n| n > 2) {
                if let Some((name, value)) = line.split_once(':') {
                    if name.eq_ignore_ascii_case("authorization") {
                        auth = Some(value.trim().to_string());
                    }
                }
                line.clear();
            }
            let reply = match auth {
                None => "HTTP/1.1 401 Unauthorized\r\nWWW-Authenticate: Basic realm=\"e2e\"\r\n\
                         Content-Length: 0\r\nConnection: close\r\n\r\n"
                    .to_string(),
                Some(auth) => {
                    let decoded = auth
                        .strip_prefix("Basic ")
                        .and_then(|b| STANDARD.decode(b).ok())
                        .map(|b| String::from_utf8_lossy(&b).into_owned())
                        .unwrap_or_default();
                    let password = decoded.split_once(':').map_or("", |(_, p)| p);
                    let body = serde_json::json!({"errors": [{
                        "code": "DENIED",
                        "message": format!("denied for {auth} ({decoded}) {}", echo_body(password)),
                    }]})
                    .to_string();
                    format!(
                        "HTTP/1.1 403 Forbidden\r\nContent-Type: application/json\r\n\
                         Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
                        body.len()
                    )
                }
            };
            let _ = stream.write_all(reply.as_bytes());
        }
    });
    host
}
