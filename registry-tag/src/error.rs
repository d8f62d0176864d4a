//! Errors with their context (reference, registry, credential source; never
//! a secret), each knowing its exit code.

use common::{Code, HasCode};

use crate::apply::MoveError;
use crate::credentials::CredentialError;
use crate::reference::ReferenceError;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Common(#[from] common::Error),

    #[error(transparent)]
    Reference(#[from] ReferenceError),

    #[error("credentials from {0}")]
    Credentials(#[from] CredentialError),

    /// A bad combination of flags or arguments.
    #[error("{0}")]
    Usage(String),

    /// A tag, digest or repository that does not exist.
    #[error("{what} not found in {image}")]
    NotFound { what: String, image: String },

    /// Several sources missing at once (an atomic plan); nothing was changed.
    #[error("{}; nothing was changed", .0.join("; "))]
    Missing(Vec<String>),

    /// The registry (or its token service) refused the credential.
    #[error("{registry} refused {action} {image} ({credential}): {detail}")]
    Unauthorized {
        registry: String,
        image: String,
        /// `pulling from` or `pushing to`.
        action: &'static str,
        /// Which credential source was used, e.g. `credentials from
        /// REGISTRY_USERNAME/REGISTRY_PASSWORD`; never the secret.
        credential: String,
        detail: String,
    },

    /// An unexpected status or body from the registry.
    #[error("{registry}: {context}: {detail}")]
    Registry {
        registry: String,
        context: String,
        detail: String,
    },

    /// No HTTP answer at all (connection refused, reset, timeout).
    #[error("cannot reach {registry} ({context}): {detail}")]
    Transport {
        registry: String,
        context: String,
        detail: String,
    },

    /// A write (manifest PUT, tag DELETE) whose outcome is unknown: the
    /// request may have reached the registry (a timeout or a dropped
    /// connection after it was sent) and may still take effect. See
    /// [`Error::is_unknown_outcome`].
    #[error(
        "cannot tell whether {context} took effect on {registry}: {detail}; it may have landed"
    )]
    UnknownOutcome {
        registry: String,
        context: String,
        detail: String,
    },

    /// Bytes whose sha256 is not what the registry or the user said.
    #[error("{reference}: digest mismatch: {detail}")]
    DigestMismatch { reference: String, detail: String },

    #[error("{reference}: manifest is larger than 4 MiB ({size}); refusing it")]
    TooLarge { reference: String, size: String },

    /// Plain http to a non-loopback host without `--insecure`.
    #[error("refusing plain http to {url}: use https or pass --insecure")]
    Insecure { url: String },

    /// `--expect-current` did not hold; nothing was changed.
    #[error("{reference} points at {current}, not the expected {expected}; nothing was changed")]
    NotExpected {
        reference: String,
        current: String,
        expected: String,
    },

    #[error(transparent)]
    Move(#[from] MoveError),

    /// Some independent requests failed (each already reported on stderr).
    #[error("{0}")]
    Failed(String),
}

impl HasCode for Error {
    fn code(&self) -> Code {
        match self {
            Error::Common(e) => e.code(),
            Error::Reference(_)
            | Error::Credentials(_)
            | Error::Usage(_)
            | Error::Insecure { .. } => Code::Usage,
            Error::NotFound { .. }
            | Error::Missing(_)
            | Error::Unauthorized { .. }
            | Error::Registry { .. }
            | Error::Transport { .. }
            | Error::UnknownOutcome { .. }
            | Error::DigestMismatch { .. }
            | Error::TooLarge { .. }
            | Error::NotExpected { .. }
            | Error::Move(_)
            | Error::Failed(_) => Code::Failed,
        }
    }
}

impl Error {
    /// True when the error means "this tag or digest does not exist".
    pub fn is_not_found(&self) -> bool {
        matches!(self, Error::NotFound { .. })
    }

    /// True when a write failed in a way that leaves its outcome unknown: a
    /// manifest PUT (or tag DELETE) timed out or lost its connection after
    /// the request was sent, so the registry may have applied it, possibly
    /// later than the client gave up. Whoever undoes moves must treat such a
    /// tag as moved (restore it too) and must not trust a read-back made
    /// before the request timeout has passed.
    pub fn is_unknown_outcome(&self) -> bool {
        matches!(self, Error::UnknownOutcome { .. })
    }
}
