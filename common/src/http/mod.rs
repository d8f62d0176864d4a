//! One HTTP agent configuration for every tool, the plain-http rule, the one
//! wording of transport errors ([`Failure`]) and the one retry delay
//! ([`Backoff`]).

mod backoff;
mod failure;

pub use backoff::{parse_retry_after, Backoff};
pub use failure::{Failure, FailureKind};

use std::net::IpAddr;
use std::time::Duration;

use ureq::http::Uri;

/// Connect timeout used when the overall timeout is longer.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// One agent per process: keep-alive reuse, `User-Agent: tool/version`, a
/// connect and an overall timeout on every request, status codes returned
/// rather than raised (tools judge them), and no `Authorization` header
/// carried across redirects. Every exchange is traced at `-v`
/// ([`crate::trace`]).
pub fn agent(tool: &str, version: &str, timeout: Duration) -> ureq::Agent {
    crate::trace::set_tool(tool);
    ureq::Agent::config_builder()
        .middleware(crate::trace::middleware)
        .timeout_connect(Some(timeout.min(CONNECT_TIMEOUT)))
        .timeout_global(Some(timeout))
        .user_agent(format!("{tool}/{version}"))
        .http_status_as_error(false)
        .redirect_auth_headers(ureq::config::RedirectAuthHeaders::Never)
        .max_redirects(5)
        // Allocated and zeroed per connection (128 KiB each by default, past
        // malloc's mmap threshold: page faults and munmap on every one). The
        // input buffer holds a response head: 64 KiB, ureq's header limit;
        // 16 KiB holds any request head we send (bodies stream through it).
        .input_buffer_size(64 * 1024)
        .output_buffer_size(16 * 1024)
        .build()
        .into()
}

/// True for `localhost` and loopback addresses (`127.0.0.0/8`, `[::1]`).
pub fn is_loopback_host(host: &str) -> bool {
    let host = host.trim_start_matches('[').trim_end_matches(']');
    host.eq_ignore_ascii_case("localhost")
        || host.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

/// A base URL that passed [`parse_base_url`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BaseUrl {
    /// The URL without trailing slashes.
    pub url: String,
    /// Host without port (brackets kept for IPv6).
    pub host: String,
    /// `host[:port]` as written.
    pub authority: String,
    /// The path prefix without trailing slash, possibly empty.
    pub path: String,
    pub https: bool,
}

/// Parses and checks a base URL: http or https, a host, a port in range, no
/// credentials, no query or fragment, and plain http only to loopback unless
/// `insecure`. Messages never repeat a password or token written in the URL.
pub fn parse_base_url(raw: &str, insecure: bool) -> Result<BaseUrl, String> {
    let url = raw.trim().trim_end_matches('/');
    let shown = without_userinfo(url);
    // Checked before parsing: a password with a `/` in it would otherwise
    // read as a host and port and be repeated in the message.
    if url.contains('@') {
        return Err(format!(
            "{shown:?} carries credentials (or an @ in its path); pass tokens through the environment instead"
        ));
    }
    if url.contains(['?', '#']) {
        return Err(format!("{shown:?} must not have a query or fragment"));
    }
    let uri: Uri = url
        .parse()
        .map_err(|_| format!("{shown:?} is not a valid URL"))?;
    let https = match uri.scheme_str() {
        Some("https") => true,
        Some("http") => false,
        Some(other) => return Err(format!("{shown:?} has scheme {other:?}; use https")),
        None => return Err(format!("{shown:?} is not an absolute http(s) URL")),
    };
    let authority = uri
        .authority()
        .map(|a| a.as_str().to_string())
        .filter(|a| !a.is_empty())
        .ok_or_else(|| format!("{shown:?} has no host"))?;
    let host = uri.host().unwrap_or_default().to_string();
    if host.is_empty() {
        return Err(format!("{shown:?} has no host"));
    }
    // `host:99999` parses, with no port: say so rather than connect to 80.
    let port_text = authority[host.len()..].strip_prefix(':');
    if let Some(port) = port_text {
        if uri.port_u16().is_none_or(|p| p == 0) {
            return Err(format!(
                "{shown:?} has port {port:?}, not a port number from 1 to 65535"
            ));
        }
    }
    if !https && !insecure && !is_loopback_host(&host) {
        return Err(format!(
            "{shown:?} uses plain http to a non-loopback host; use https or pass --insecure"
        ));
    }
    Ok(BaseUrl {
        url: url.to_string(),
        host,
        authority,
        path: uri.path().trim_end_matches('/').to_string(),
        https,
    })
}

/// The URL with everything between the scheme and the last `@` written as
/// `***` (a `user:password@`, even with a `/` in the password), for messages.
pub fn without_userinfo(url: &str) -> String {
    let (scheme, rest) = match url.find("://") {
        Some(i) => url.split_at(i + 3),
        None => ("", url),
    };
    match rest.rfind('@') {
        Some(at) => format!("{scheme}***{}", &rest[at..]),
        None => url.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_http_only_for_loopback() {
        assert!(parse_base_url("http://127.0.0.1:8080/", false).is_ok());
        assert!(parse_base_url("http://127.9.0.1", false).is_ok());
        assert!(parse_base_url("http://[::1]:80", false).is_ok());
        assert!(parse_base_url("http://localhost:1", false).is_ok());
        let err = parse_base_url("http://canary.example.com", false).unwrap_err();
        assert!(err.contains("--insecure"), "{err}");
        assert!(parse_base_url("http://canary.example.com", true).is_ok());
    }

    #[test]
    fn keeps_path_prefix_and_trims_slashes() {
        let u = parse_base_url("https://h.example.com/t/3//", false).unwrap();
        assert_eq!(u.url, "https://h.example.com/t/3");
        assert_eq!(u.path, "/t/3");
        assert_eq!(u.host, "h.example.com");
    }

    #[test]
    fn never_repeats_credentials_and_checks_ports() {
        let err = parse_base_url("https://bob:hunter2/x@h.example.com/p", false).unwrap_err();
        assert!(
            !err.contains("hunter2") && err.contains("***@h.example.com"),
            "{err}"
        );
        let err = parse_base_url("https://tok3n@h.example.com", false).unwrap_err();
        assert!(
            !err.contains("tok3n") && err.contains("credentials"),
            "{err}"
        );
        for bad in [
            "https://h.example.com:99999",
            "https://h:0",
            "https://h:",
            "https://[::1]:70000",
        ] {
            let err = parse_base_url(bad, false).unwrap_err();
            assert!(err.contains("not a port number"), "{bad}: {err}");
        }
        assert_eq!(
            parse_base_url("https://[::1]:443", false).unwrap().host,
            "[::1]"
        );
    }

    #[test]
    fn rejects_non_urls() {
        for bad in [
            "",
            "canary.example.com",
            "ftp://x",
            "https://",
            "https://a b",
        ] {
            assert!(parse_base_url(bad, false).is_err(), "{bad}");
        }
    }
}
