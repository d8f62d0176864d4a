//! Secrets never reach an output, even when a hostile registry or token
//! service echoes them back: the raw value, its JSON-escaped forms and the
//! base64 of `user:password` are looked for in stdout, stderr (annotations
//! included) and the step summary. A malformed docker `config.json` never
//! puts its credential into the error.

use std::sync::Arc;
use std::thread::JoinHandle;

use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD};
use base64::Engine as _;
use serde_json::json;
use testkit::Output;

use crate::support::{assert_exit, assert_says, Sandbox};

const USER: &str = "robot";
const PASSWORD: &str = "Pr0be/Sec\"ret+9";
const TOKEN: &str = "h0stile-Bearer/t0ken+x";

/// One request as the hostile server saw it.
struct Seen {
    method: String,
    url: String,
    authorization: String,
}

/// Status, headers and body.
type Answer = (u16, Vec<(&'static str, String)>, String);

/// A loopback server answering each request with `answer(request, host)`.
struct Hostile {
    server: Arc<tiny_http::Server>,
    thread: Option<JoinHandle<()>>,
    host: String,
}

impl Hostile {
    fn start(answer: impl Fn(&Seen, &str) -> Answer + Send + 'static) -> Hostile {
        let server = Arc::new(tiny_http::Server::http("127.0.0.1:0").expect("bind"));
        let port = server.server_addr().to_ip().expect("an IP listener").port();
        let host = format!("127.0.0.1:{port}");
        let thread = {
            let (server, host) = (server.clone(), host.clone());
            std::thread::spawn(move || {
                for request in server.incoming_requests() {
                    let seen = Seen {
                        method: request.method().to_string(),
                        url: request.url().to_string(),
                        authorization: request
                            .headers()
                            .iter()
                            .find(|h| h.field.equiv("Authorization"))
                            .map(|h| h.value.to_string())
                            .unwrap_or_default(),
                    };
                    let (status, headers, body) = answer(&seen, &host);
                    let mut response =
                        tiny_http::Response::from_string(body).with_status_code(status);
                    for (name, value) in headers {
                        response.add_header(
                            tiny_http::Header::from_bytes(name, value).expect("header"),
                        );
                    }
                    let _ = request.respond(response);
                }
            })
        };
        Hostile {
            server,
            thread: Some(thread),
            host,
        }
    }
}

impl Drop for Hostile {
    fn drop(&mut self) {
        self.server.unblock();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

fn bearer_challenge(host: &str) -> Answer {
    let challenge = format!(r#"Bearer realm="http://{host}/token",service="hostile""#);
    (401, vec![("WWW-Authenticate", challenge)], String::new())
}

fn not_found() -> Answer {
    (404, Vec::new(), String::new())
}

/// Every form the password may be echoed in, written out: raw, JSON-escaped
/// (serde's, with `\/`, and `\u00XX` for each non-alphanumeric character in
/// either case), base64; and `USER:PASSWORD` as a Basic header carries it.
fn password_forms() -> Vec<String> {
    let pair = format!("{USER}:{PASSWORD}");
    let mut forms: Vec<String> = [
        PASSWORD,
        r#"Pr0be/Sec\"ret+9"#,
        r#"Pr0be\/Sec\"ret+9"#,
        r"Pr0be\u002fSec\u0022ret\u002b9",
        r"Pr0be\u002FSec\u0022ret\u002B9",
    ]
    .map(String::from)
    .to_vec();
    forms.extend([STANDARD.encode(PASSWORD), STANDARD_NO_PAD.encode(PASSWORD)]);
    forms.extend([STANDARD.encode(&pair), STANDARD_NO_PAD.encode(&pair)]);
    forms
}

/// The same for the token (serde escapes none of its characters).
fn token_forms() -> Vec<String> {
    let mut forms: Vec<String> = [
        TOKEN,
        r"h0stile-Bearer\/t0ken+x",
        r"h0stile\u002dBearer\u002ft0ken\u002bx",
        r"h0stile\u002DBearer\u002Ft0ken\u002Bx",
    ]
    .map(String::from)
    .to_vec();
    forms.extend([STANDARD.encode(TOKEN), STANDARD_NO_PAD.encode(TOKEN)]);
    forms
}

/// An echo of every form, as a hostile server writes it.
fn echo(forms: &[String]) -> String {
    forms.join(" | ")
}

/// No form of any secret in stdout, stderr (bar the `::add-mask::` lines
/// that register it with the runner) or the step summary.
#[track_caller]
fn assert_no_secret(out: &Output, summary: &str, secrets: &[String]) {
    let stderr: Vec<&str> = out
        .stderr
        .lines()
        .filter(|l| !l.starts_with("::add-mask::"))
        .collect();
    for secret in secrets {
        for (name, text) in [
            ("stdout", out.stdout.as_str()),
            ("stderr", &stderr.join("\n")),
            ("the step summary", summary),
        ] {
            assert!(
                !text.contains(secret.as_str()),
                "{secret:?} leaked to {name}:\n{text}"
            );
        }
    }
}

/// Runs `args` as GitHub Actions with the credentials; returns the output
/// and the step summary written.
fn run_in_actions(args: &[&str]) -> (Output, String) {
    let sandbox = Sandbox::new();
    let summary = sandbox.path("summary.md");
    let out = sandbox.run(
        args,
        &[
            ("REGISTRY_USERNAME", USER),
            ("REGISTRY_PASSWORD", PASSWORD),
            ("GITHUB_ACTIONS", "true"),
            ("GITHUB_STEP_SUMMARY", summary.to_str().unwrap()),
        ],
        None,
    );
    let written = std::fs::read_to_string(&summary).unwrap_or_default();
    (out, written)
}

#[test]
fn a_token_service_echoing_the_basic_credential_is_scrubbed() {
    let server = Hostile::start(|seen, host| match seen.url.as_str() {
        "/v2/" => bearer_challenge(host),
        url if url.starts_with("/token") => {
            let message = format!(
                "refused {} for {USER}: {}",
                seen.authorization,
                echo(&password_forms())
            );
            let body = json!({"errors": [{"code": "DENIED", "message": message}]});
            (401, Vec::new(), body.to_string())
        }
        _ => not_found(),
    });
    let source = format!("{}/app:v1", server.host);
    let (out, summary) = run_in_actions(&[&source, "latest"]);
    assert_exit(&out, 1, "token service");
    assert!(out.stderr.contains("::error"), "annotated: {}", out.stderr);
    assert!(!summary.is_empty(), "a summary was written");
    assert_no_secret(&out, &summary, &password_forms());
}

#[test]
fn a_registry_echoing_the_bearer_token_is_scrubbed() {
    let server = Hostile::start(|seen, host| match seen.url.as_str() {
        "/v2/" => bearer_challenge(host),
        url if url.starts_with("/token") => {
            (200, Vec::new(), json!({ "token": TOKEN }).to_string())
        }
        "/v2/app/manifests/v1" if seen.method == "GET" => {
            let body = format!("denied: {} | {}", seen.authorization, echo(&token_forms()));
            (403, vec![("Content-Type", "text/plain".into())], body)
        }
        "/v2/app/tags/list?n=1000" => {
            let body = json!({"errors": [{"code": "DENIED", "message": echo(&token_forms())}]});
            (403, Vec::new(), body.to_string())
        }
        _ => not_found(),
    });
    let source = format!("{}/app:v1", server.host);
    let (out, summary) = run_in_actions(&[&source, "latest"]);
    assert_exit(&out, 1, "HTTP 403");
    assert!(!summary.is_empty(), "a summary was written");
    assert_no_secret(&out, &summary, &token_forms());

    let (out, summary) = run_in_actions(&["--list", &format!("{}/app", server.host)]);
    assert_exit(&out, 1, "DENIED");
    assert_no_secret(&out, &summary, &token_forms());
}

#[test]
fn a_basic_registry_echoing_the_credential_is_scrubbed() {
    let server = Hostile::start(|seen, _| match seen.url.as_str() {
        "/v2/" if seen.authorization.is_empty() => (
            401,
            vec![("WWW-Authenticate", r#"Basic realm="hostile""#.into())],
            String::new(),
        ),
        "/v2/" => (200, Vec::new(), "{}".into()),
        _ => {
            let body = format!(
                "no such thing, {}: {}",
                seen.authorization,
                echo(&password_forms())
            );
            (400, vec![("Content-Type", "text/plain".into())], body)
        }
    });
    let (out, summary) = run_in_actions(&[&format!("{}/app:v1", server.host), "latest"]);
    assert_exit(&out, 1, "HTTP 400");
    assert_no_secret(&out, &summary, &password_forms());
}

#[test]
fn a_malformed_docker_config_never_shows_its_credential() {
    let sandbox = Sandbox::new();
    let auth = STANDARD.encode(format!("{USER}:{PASSWORD}"));
    // An entry that is a string instead of an object: serde would quote it.
    let config = sandbox.docker_config(&json!({"auths": {"127.0.0.1:9": auth}}));
    let out = sandbox.run(&["127.0.0.1:9/app:v1"], &[("GITHUB_ACTIONS", "true")], None);
    assert_exit(&out, 2, &config.display().to_string());
    assert_says(&out, "line 1");
    assert_no_secret(&out, "", &password_forms());
}
