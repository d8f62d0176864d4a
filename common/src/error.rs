use std::io;
use std::path::PathBuf;

use crate::exit::{Code, HasCode};

/// Errors of the shared contract; each tool's error wraps this with `#[from]`.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A record or configuration line that cannot be used, with where it came from.
    #[error("{source_name}:{line}: {message}")]
    Input {
        source_name: String,
        line: u64,
        message: String,
    },

    /// A bad flag value, a missing or inconsistent environment variable.
    #[error("{0}")]
    Usage(String),

    /// An input file or stdin could not be read.
    #[error("cannot read {source_name}: {error}")]
    Read {
        source_name: String,
        #[source]
        error: io::Error,
    },

    /// stdout could not be written (a closed pipe is handled quietly at the top).
    #[error("cannot write records to stdout: {0}")]
    Output(#[source] io::Error),

    /// A report file (JUnit, step summary) could not be written.
    #[error("cannot write {}: {error}", path.display())]
    Report {
        path: PathBuf,
        #[source]
        error: io::Error,
    },
}

impl Error {
    /// True when stdout was closed by its reader (`tool | head -1`).
    pub fn is_broken_pipe(&self) -> bool {
        crate::exit::is_broken_pipe(self)
    }
}

impl HasCode for Error {
    fn code(&self) -> Code {
        match self {
            Error::Input { .. } | Error::Usage(_) | Error::Read { .. } => Code::Usage,
            Error::Output(_) | Error::Report { .. } => Code::Failed,
        }
    }
}
