//! The one place where results become process exit statuses.

use std::error::Error as StdError;
use std::io::{self, Write};
use std::process::ExitCode;

/// Exit statuses, the same as the bash scripts these tools replace.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Code {
    /// Everything checked and everything good.
    Ok = 0,
    /// A check failed, an image or tag is missing, a digest did not match.
    Failed = 1,
    /// Usage, configuration or input error: nothing was changed.
    Usage = 2,
}

impl From<Code> for ExitCode {
    fn from(code: Code) -> Self {
        ExitCode::from(code as u8)
    }
}

/// Implemented by every tool's error type: each variant knows its exit code.
pub trait HasCode {
    fn code(&self) -> Code;
}

/// True when a closed stdout (`tool | head -1`) is anywhere in the error's chain.
pub fn is_broken_pipe(error: &(dyn StdError + 'static)) -> bool {
    let mut current: Option<&(dyn StdError + 'static)> = Some(error);
    while let Some(e) = current {
        if let Some(io) = e.downcast_ref::<io::Error>() {
            if io.kind() == io::ErrorKind::BrokenPipe {
                return true;
            }
        }
        current = e.source();
    }
    false
}

/// Maps a tool's result to its exit status, printing `TOOL: message` for errors.
///
/// A broken pipe is a quiet stop: the reader went away, so there is no one to
/// tell and nothing went wrong on our side.
pub fn finish<E>(tool: &str, result: Result<Code, E>) -> ExitCode
where
    E: StdError + HasCode + 'static,
{
    match result {
        Ok(code) => code.into(),
        Err(error) if is_broken_pipe(&error) => ExitCode::SUCCESS,
        Err(error) => {
            // stderr may itself be closed; there is nowhere left to report that.
            let message = crate::redact::scrub(&error.to_string()).into_owned();
            let _ = writeln!(io::stderr(), "{tool}: {message}");
            error.code().into()
        }
    }
}

/// Parses the command line and runs the tool: the whole body of every `main`.
///
/// clap's own errors are usage errors (exit 2); `--help` and `--version` exit 0.
pub fn main<C, E>(tool: &str, run: impl FnOnce(C) -> Result<Code, E>) -> ExitCode
where
    C: clap::Parser,
    E: StdError + HasCode + 'static,
{
    match C::try_parse() {
        Ok(cli) => finish(tool, run(cli)),
        Err(error) => {
            let _ = error.print();
            if error.use_stderr() {
                Code::Usage.into()
            } else {
                Code::Ok.into()
            }
        }
    }
}
