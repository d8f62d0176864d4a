//! Request traces on stderr at `-v` (and `RUNNER_DEBUG=1` under GitHub
//! Actions): one line per HTTP exchange, written by a ureq middleware that
//! [`crate::http::agent`] installs, so every tool traces every request.
//!
//! `-v`:  `TOOL: GET https://h/v2/ -> 200 in 12ms, 345 bytes (retry 1)`
//! `-vv`: also request and response headers and a body excerpt.
//! `Authorization`, `Cookie`, `Set-Cookie` and `Proxy-Authorization` show as
//! `***`, and every line goes through [`crate::redact::scrub`]. A body
//! excerpt is made with [`crate::redact::excerpt`]: secret-bearing JSON
//! values (a token service's `{"access_token":"…"}`, read before the tool
//! has parsed and registered the token) are masked and the body scrubbed
//! before it is cut.

use std::io::{self, Read};
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::OnceLock;
use std::time::Instant;

use ureq::http::{HeaderMap, Request, Response};
use ureq::middleware::MiddlewareNext;
use ureq::{Body, SendBody};

use crate::http::Failure;
use crate::redact::excerpt;
use crate::term::say;

static LEVEL: AtomicU8 = AtomicU8::new(0);
static TOOL: OnceLock<String> = OnceLock::new();

/// Characters of a response body shown at `-vv`.
pub const BODY_EXCERPT: usize = 300;

/// Bytes of a response body kept for its excerpt: far more than is shown,
/// so a secret that starts in the shown part is whole when it is scrubbed
/// (a JWT is well over a thousand characters).
const BODY_KEPT: usize = 64 * 1024;

/// Headers whose values are never shown.
const HIDDEN_HEADERS: [&str; 4] = [
    "authorization",
    "cookie",
    "set-cookie",
    "proxy-authorization",
];

/// The retry number of a request (0 for the first try), set by the caller
/// as a request extension: `builder.extension(trace::Attempt(n))`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Attempt(pub u32);

/// Sets the trace level (0 off, 1 exchanges, 2 with headers and bodies).
pub fn set_level(level: u8) {
    LEVEL.store(level, Ordering::Relaxed);
}

/// The trace level now in force.
pub fn level() -> u8 {
    LEVEL.load(Ordering::Relaxed)
}

/// Names the tool in trace lines; the first name set wins
/// (`exit::main` and `http::agent` set it).
pub fn set_tool(tool: &str) {
    let _ = TOOL.set(tool.to_string());
}

fn tool() -> &'static str {
    TOOL.get().map_or("", String::as_str)
}

fn line(text: &str) {
    let text = match tool() {
        "" => text.to_string(),
        tool => format!("{tool}: {text}"),
    };
    #[cfg(test)]
    if tests::capture(&text) {
        return;
    }
    say(&text);
}

/// A step that is not an HTTP exchange (`ping`, `token for
/// repository:x:pull (cached)`), shown at `-v`.
pub fn step(text: &str) {
    if level() >= 1 {
        line(text);
    }
}

/// The middleware [`crate::http::agent`] installs.
pub(crate) fn middleware(
    request: Request<SendBody>,
    next: MiddlewareNext,
) -> Result<Response<Body>, ureq::Error> {
    let level = level();
    if level == 0 {
        return next.handle(request);
    }
    let method = request.method().clone();
    let url = request.uri().to_string();
    let retry = match request.extensions().get::<Attempt>() {
        Some(Attempt(n)) if *n > 0 => format!(" (retry {n})"),
        _ => String::new(),
    };
    if level >= 2 {
        line(&format!("> {method} {url}{retry}"));
        show_headers('>', request.headers());
    }
    let started = Instant::now();
    let result = next.handle(request);
    let ms = started.elapsed().as_millis();
    match result {
        Ok(response) => {
            let bytes = response
                .headers()
                .get("content-length")
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.trim().parse::<u64>().ok())
                .map_or_else(|| "length unknown".to_string(), |n| format!("{n} bytes"));
            let status = response.status().as_u16();
            line(&format!(
                "{method} {url} -> {status} in {ms}ms, {bytes}{retry}"
            ));
            if level < 2 {
                return Ok(response);
            }
            show_headers('<', response.headers());
            let (parts, body) = response.into_parts();
            let mut builder = Body::builder();
            if let Some(mime) = body.mime_type() {
                builder = builder.mime_type(mime);
            }
            if let Some(charset) = body.charset() {
                builder = builder.charset(charset);
            }
            let excerpt = Excerpt {
                inner: body.into_reader(),
                seen: Vec::new(),
                shown: false,
            };
            Ok(Response::from_parts(parts, builder.reader(excerpt)))
        }
        Err(error) => {
            let failure = Failure::from(&error);
            line(&format!("{method} {url} -> {failure} in {ms}ms{retry}"));
            Err(error)
        }
    }
}

fn show_headers(direction: char, headers: &HeaderMap) {
    for (name, value) in headers {
        let shown = if HIDDEN_HEADERS.contains(&name.as_str()) {
            "***".to_string()
        } else {
            excerpt(&String::from_utf8_lossy(value.as_bytes()), BODY_EXCERPT)
        };
        line(&format!("{direction} {name}: {shown}"));
    }
}

/// Passes a response body through, keeping its first bytes to show at
/// `-vv` once the body has been read or dropped.
struct Excerpt<R> {
    inner: R,
    seen: Vec<u8>,
    shown: bool,
}

impl<R: Read> Read for Excerpt<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        let room = BODY_KEPT.saturating_sub(self.seen.len());
        self.seen.extend_from_slice(&buf[..n.min(room)]);
        if n == 0 {
            self.show();
        }
        Ok(n)
    }
}

impl<R> Excerpt<R> {
    fn show(&mut self) {
        if !self.shown {
            self.shown = true;
            let text = String::from_utf8_lossy(&self.seen);
            line(&format!("< body: {}", excerpt(&text, BODY_EXCERPT)));
        }
    }
}

impl<R> Drop for Excerpt<R> {
    fn drop(&mut self) {
        self.show();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::RefCell;
    use std::io::{BufRead, BufReader, Write};
    use std::net::TcpListener;
    use std::time::Duration;

    /// The trace level is process-wide: tests that set it run one at a time.
    static LEVEL_LOCK: std::sync::Mutex<()> = std::sync::Mutex::new(());

    thread_local! {
        static CAPTURED: RefCell<Option<Vec<String>>> = const { RefCell::new(None) };
    }

    /// Keeps the line (scrubbed, as `say` would) when this thread captures.
    pub(super) fn capture(text: &str) -> bool {
        CAPTURED.with(|c| match c.borrow_mut().as_mut() {
            Some(lines) => {
                lines.push(crate::redact::scrub(text).into_owned());
                true
            }
            None => false,
        })
    }

    /// A loopback server answering one request with `body`.
    fn serve_once(body: &'static str) -> String {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}/v2/?q=1", listener.local_addr().unwrap());
        std::thread::spawn(move || {
            let (stream, _) = listener.accept().unwrap();
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut line = String::new();
            while reader.read_line(&mut line).unwrap() > 2 {
                line.clear();
            }
            let mut stream = stream;
            let reply = format!(
                "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nSet-Cookie: s=trace-cookie-1\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
            stream.write_all(reply.as_bytes()).unwrap();
        });
        url
    }

    #[test]
    fn every_exchange_is_traced_without_secrets() {
        let _token = crate::Secret::new("trace-tok/en");
        let url = serve_once(r#"{"echo":"trace-tok\/en"}"#);
        let agent = crate::http::agent("t", "0", Duration::from_secs(5));
        let _serial = LEVEL_LOCK.lock().unwrap_or_else(|e| e.into_inner());
        set_level(2);
        CAPTURED.with(|c| *c.borrow_mut() = Some(Vec::new()));
        let request = ureq::http::Request::builder()
            .uri(&url)
            .header("Authorization", "Bearer trace-tok/en")
            .extension(Attempt(1))
            .body(())
            .unwrap();
        let mut response = agent.run(request).unwrap();
        let body = response.body_mut().read_to_string().unwrap();
        drop(response);
        let lines = CAPTURED.with(|c| c.borrow_mut().take().unwrap());
        set_level(0);
        assert_eq!(body, r#"{"echo":"trace-tok\/en"}"#, "the body still reads");
        let all = lines.join("\n");
        let exchange = lines
            .iter()
            .find(|l| l.contains(" -> 200 in "))
            .unwrap_or_else(|| panic!("{all}"));
        assert!(
            exchange.starts_with(&format!("t: GET {url} -> 200 in ")),
            "{exchange}"
        );
        assert!(exchange.ends_with("ms, 24 bytes (retry 1)"), "{exchange}");
        assert!(all.contains("> authorization: ***"), "{all}");
        assert!(all.contains("< set-cookie: ***"), "{all}");
        assert!(all.contains(r#"< body: {"echo":"***"}"#), "{all}");
        assert!(
            !all.contains("trace-tok") && !all.contains("trace-cookie"),
            "{all}"
        );
    }

    #[test]
    fn a_token_service_reply_is_never_shown() {
        // A token as a token service sends it: longer than the excerpt, and
        // not registered (the tool registers it only once it has parsed the
        // reply, after the trace has shown the body).
        let token: &'static str = Box::leak(
            format!("eyJhbGciOiJSUzI1NiJ9.{}.sig-Zz9", "QUJD".repeat(120)).into_boxed_str(),
        );
        let body: &'static str = Box::leak(
            format!(r#"{{"access_token":"{token}","token":"{token}","expires_in":300}}"#)
                .into_boxed_str(),
        );
        let url = serve_once(body);
        let agent = crate::http::agent("t", "0", Duration::from_secs(5));
        let _serial = LEVEL_LOCK.lock().unwrap_or_else(|e| e.into_inner());
        set_level(2);
        CAPTURED.with(|c| *c.borrow_mut() = Some(Vec::new()));
        let mut response = agent.get(&url).call().unwrap();
        let read = response.body_mut().read_to_string().unwrap();
        drop(response);
        let lines = CAPTURED.with(|c| c.borrow_mut().take().unwrap());
        set_level(0);
        assert_eq!(read, body, "the body still reads in full");
        let all = lines.join("\n");
        assert!(
            all.contains(r#"< body: {"access_token":"***","token":"***","expires_in":300}"#),
            "{all}"
        );
        let chars: Vec<char> = token.chars().collect();
        for window in chars.windows(20) {
            let piece: String = window.iter().collect();
            assert!(!all.contains(&piece), "{piece:?} of the token in:\n{all}");
        }
    }

    #[test]
    fn attempt_is_a_request_extension() {
        let request = ureq::http::Request::builder()
            .uri("http://127.0.0.1/")
            .extension(Attempt(2))
            .body(())
            .unwrap();
        assert_eq!(request.extensions().get::<Attempt>(), Some(&Attempt(2)));
    }

    #[test]
    fn excerpt_passes_bytes_through() {
        let mut reader = Excerpt {
            inner: io::Cursor::new(b"hello".to_vec()),
            seen: Vec::new(),
            shown: true,
        };
        let mut out = String::new();
        reader.read_to_string(&mut out).unwrap();
        assert_eq!(out, "hello");
        assert_eq!(reader.seen, b"hello");
    }
}
