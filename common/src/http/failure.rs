//! The one wording of a transport error, and what it means for a retry.

use std::fmt;
use std::io;
use std::time::Duration;

use ureq::Timeout;

use crate::duration::human;
use crate::redact::excerpt;

/// Longest error text from a library kept in a message.
const DETAIL_CHARS: usize = 200;

/// What went wrong on the way to an HTTP answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailureKind {
    /// Nothing listens on the port (or a connector gave no reason).
    Refused,
    /// The host name does not resolve.
    HostNotFound,
    /// The peer reset the connection.
    Reset,
    /// The connection closed before the answer was complete.
    Dropped,
    /// A timeout, with the phase ureq reports when it knows it.
    Timeout(Option<Timeout>),
    /// TLS could not be set up.
    Tls,
    /// The answer was not valid HTTP.
    Protocol,
    /// Anything else (a bad URL, a redirect refused, …).
    Other,
}

/// A transport error put into words once for every tool: `Display` is the
/// message, [`Failure::is_retryable`] and [`Failure::may_have_landed`] what it
/// means for the request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    kind: FailureKind,
    detail: Option<String>,
    limit: Option<Duration>,
}

impl Failure {
    fn new(kind: FailureKind) -> Self {
        Failure {
            kind,
            detail: None,
            limit: None,
        }
    }

    fn with_detail(kind: FailureKind, detail: impl fmt::Display) -> Self {
        let text = excerpt(&detail.to_string(), DETAIL_CHARS);
        Failure {
            detail: Some(text),
            ..Failure::new(kind)
        }
    }

    /// Names the time limit in the message of a timeout:
    /// `timed out after 20s waiting for the response`.
    pub fn with_limit(mut self, limit: Duration) -> Self {
        self.limit = Some(limit);
        self
    }

    pub fn kind(&self) -> FailureKind {
        self.kind
    }

    pub fn is_timeout(&self) -> bool {
        matches!(self.kind, FailureKind::Timeout(_))
    }

    /// Whether trying again may help: refused, reset, dropped or timed out.
    pub fn is_retryable(&self) -> bool {
        matches!(
            self.kind,
            FailureKind::Refused
                | FailureKind::Reset
                | FailureKind::Dropped
                | FailureKind::Timeout(_)
        )
    }

    /// Whether the request may have reached the server and been acted on
    /// although no answer came back: a timeout or a lost connection after
    /// the connection was made. False when no connection was ever made
    /// (refused, DNS, a connect or resolve timeout, TLS).
    pub fn may_have_landed(&self) -> bool {
        match self.kind {
            FailureKind::Reset | FailureKind::Dropped | FailureKind::Protocol => true,
            FailureKind::Timeout(phase) => {
                !matches!(phase, Some(Timeout::Connect | Timeout::Resolve))
            }
            FailureKind::Refused | FailureKind::HostNotFound | FailureKind::Tls => false,
            FailureKind::Other => false,
        }
    }

    fn from_io(error: &io::Error) -> Self {
        // ureq wraps its own errors in io errors when a body is read
        // through `std::io::Read`.
        if let Some(inner) = error
            .get_ref()
            .and_then(|e| e.downcast_ref::<ureq::Error>())
        {
            return Failure::from(inner);
        }
        use io::ErrorKind::*;
        match error.kind() {
            ConnectionRefused => Failure::new(FailureKind::Refused),
            ConnectionReset => Failure::new(FailureKind::Reset),
            ConnectionAborted | UnexpectedEof | BrokenPipe => Failure::new(FailureKind::Dropped),
            TimedOut | WouldBlock => Failure::new(FailureKind::Timeout(None)),
            _ => Failure::with_detail(FailureKind::Other, error),
        }
    }
}

impl From<&ureq::Error> for Failure {
    fn from(error: &ureq::Error) -> Self {
        match error {
            ureq::Error::Io(e) => Failure::from_io(e),
            ureq::Error::Timeout(phase) => Failure::new(FailureKind::Timeout(Some(*phase))),
            ureq::Error::HostNotFound => Failure::new(FailureKind::HostNotFound),
            ureq::Error::ConnectionFailed => Failure::new(FailureKind::Refused),
            ureq::Error::Protocol(e) => Failure::with_detail(FailureKind::Protocol, e),
            ureq::Error::Tls(e) => Failure::with_detail(FailureKind::Tls, e),
            ureq::Error::Rustls(e) => Failure::with_detail(FailureKind::Tls, e),
            ureq::Error::Pem(e) => Failure::with_detail(FailureKind::Tls, e),
            ureq::Error::TlsRequired => Failure::new(FailureKind::Tls),
            other => Failure::with_detail(FailureKind::Other, other),
        }
    }
}

impl From<&io::Error> for Failure {
    fn from(error: &io::Error) -> Self {
        Failure::from_io(error)
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let detail = self.detail.as_deref().unwrap_or_default();
        match self.kind {
            FailureKind::Refused => f.write_str("connection refused"),
            FailureKind::HostNotFound => f.write_str("host not found"),
            FailureKind::Reset => f.write_str("connection reset"),
            FailureKind::Dropped => f.write_str("connection closed before the answer was complete"),
            FailureKind::Timeout(phase) => {
                f.write_str("timed out")?;
                if let Some(limit) = self.limit {
                    write!(f, " after {}", human(limit))?;
                }
                let during = match phase {
                    Some(Timeout::Resolve) => " resolving the host",
                    Some(Timeout::Connect) => " connecting",
                    Some(Timeout::SendRequest | Timeout::SendBody) => " sending the request",
                    Some(Timeout::RecvResponse) => " waiting for the response",
                    Some(Timeout::RecvBody) => " reading the response body",
                    _ => "",
                };
                f.write_str(during)
            }
            FailureKind::Tls if detail.is_empty() => f.write_str("TLS error"),
            FailureKind::Tls => write!(f, "TLS error: {detail}"),
            FailureKind::Protocol => write!(f, "not a valid HTTP answer: {detail}"),
            FailureKind::Other => f.write_str(detail),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::TcpListener;

    #[test]
    fn words_and_meaning_of_each_kind() {
        let refused = Failure::from(&ureq::Error::Io(io::ErrorKind::ConnectionRefused.into()));
        assert_eq!(refused.to_string(), "connection refused");
        assert!(refused.is_retryable() && !refused.may_have_landed());

        let reset = Failure::from(&ureq::Error::Io(io::ErrorKind::ConnectionReset.into()));
        assert!(reset.is_retryable() && reset.may_have_landed());

        let waiting = Failure::from(&ureq::Error::Timeout(Timeout::RecvResponse))
            .with_limit(Duration::from_secs(20));
        assert_eq!(
            waiting.to_string(),
            "timed out after 20s waiting for the response"
        );
        assert!(waiting.is_retryable() && waiting.may_have_landed());

        let connect = Failure::from(&ureq::Error::Timeout(Timeout::Connect));
        assert!(connect.is_retryable() && !connect.may_have_landed());

        let dns = Failure::from(&ureq::Error::HostNotFound);
        assert_eq!(dns.to_string(), "host not found");
        assert!(!dns.is_retryable() && !dns.may_have_landed());

        let wrapped = io::Error::other(ureq::Error::Timeout(Timeout::RecvBody));
        assert_eq!(
            Failure::from(&wrapped).to_string(),
            "timed out reading the response body"
        );
    }

    #[test]
    fn a_real_refused_connection() {
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let agent = super::super::agent("t", "0", Duration::from_secs(2));
        let error = agent
            .get(format!("http://127.0.0.1:{port}/"))
            .call()
            .unwrap_err();
        let failure = Failure::from(&error);
        assert_eq!(failure.kind(), FailureKind::Refused, "{error:?}");
    }

    #[test]
    fn details_are_scrubbed_and_on_one_line() {
        let _s = crate::Secret::new("fail-s3cret");
        let f = Failure::from(&ureq::Error::BadUri("x fail-s3cret\n::error::y".into()));
        let text = f.to_string();
        assert!(
            !text.contains("fail-s3cret") && !text.contains('\n'),
            "{text}"
        );
    }
}
