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

/// What [`finish`] says about a broken pipe no tool caught: the work that
/// was left cannot be known, so it is not success.
pub const UNCAUGHT_BROKEN_PIPE: &str = "stdout was closed before the work was done";

/// Maps a tool's result to its exit status. An error is printed as one
/// `TOOL: message` line on stderr (secrets scrubbed), and under GitHub
/// Actions also becomes one `::error title=TOOL::message` annotation and one
/// line in the step summary ([`report_error`]).
///
/// A tool that returns an error does not annotate it itself (that would be
/// two annotations for one error).
///
/// Tools catch a broken pipe themselves and return the code they know
/// ([`stdout_closed`]); one that reaches here is exit 1 with
/// [`UNCAUGHT_BROKEN_PIPE`], never 0.
pub fn finish<E>(tool: &str, result: Result<Code, E>) -> ExitCode
where
    E: StdError + HasCode + 'static,
{
    match result {
        Ok(code) => code.into(),
        Err(error) => {
            let (message, code) = described(&error);
            report_error(tool, &message, code);
            code.into()
        }
    }
}

fn described<E: StdError + HasCode + 'static>(error: &E) -> (String, Code) {
    if is_broken_pipe(error) {
        (UNCAUGHT_BROKEN_PIPE.to_string(), Code::Failed)
    } else {
        (error.to_string(), error.code())
    }
}

/// Prints `TOOL: message` on stderr and, under GitHub Actions, one `::error`
/// annotation and one step-summary line, all scrubbed of secrets.
pub fn report_error(tool: &str, message: &str, code: Code) {
    let message = crate::redact::scrub(message);
    // stderr may itself be closed; there is nowhere left to report that.
    let _ = writeln!(io::stderr(), "{tool}: {message}");
    annotate_error(tool, &message, code);
}

/// Under GitHub Actions: one `::error title=TOOL::message` annotation and one
/// step-summary line, scrubbed of secrets.
fn annotate_error(tool: &str, message: &str, code: Code) {
    let message = crate::redact::scrub(message);
    let ci = crate::ci::GithubActions::from_env();
    ci.error(tool, &message);
    let what = match code {
        Code::Usage => "stopped on a usage or input error (exit 2)",
        _ => "failed (exit 1)",
    };
    let line = format!(
        "**{tool} {what}:** {}\n",
        crate::ci::markdown_text(&message)
    );
    if let Err(e) = ci.append_summary(&line) {
        let _ = writeln!(io::stderr(), "{tool}: {e}");
    }
}

/// For a tool that caught a broken pipe: prints `TOOL: stdout closed:
/// UNDONE` (`37 tenants left unchecked`) and gives at least exit 1; with
/// nothing left undone (`None`) it prints nothing and keeps `code`.
pub fn stdout_closed(tool: &str, undone: Option<&str>, code: Code) -> Code {
    match undone {
        Some(undone) => {
            let _ = writeln!(io::stderr(), "{tool}: stdout closed: {undone}");
            code.max(Code::Failed)
        }
        None => code,
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
    crate::trace::set_tool(tool);
    match C::try_parse() {
        Ok(cli) => finish(tool, run(cli)),
        Err(error) => {
            let _ = error.print();
            if error.use_stderr() {
                // A bad flag value (`--sha latest`) is an error like any
                // other under GitHub Actions: annotated and summarised.
                annotate_error(tool, &clap_message(&error), Code::Usage);
                Code::Usage.into()
            } else {
                Code::Ok.into()
            }
        }
    }
}

/// clap's error on one line, without its `error: ` prefix, usage and tips.
fn clap_message(error: &clap::Error) -> String {
    let text = error.to_string();
    let first = text
        .lines()
        .find(|l| !l.trim().is_empty())
        .unwrap_or_default();
    first
        .strip_prefix("error: ")
        .unwrap_or(first)
        .trim()
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, thiserror::Error)]
    #[error("closed")]
    struct Closed(#[source] io::Error);

    impl HasCode for Closed {
        fn code(&self) -> Code {
            Code::Failed
        }
    }

    #[test]
    fn an_uncaught_broken_pipe_is_never_success() {
        let error = Closed(io::ErrorKind::BrokenPipe.into());
        assert!(is_broken_pipe(&error));
        assert_eq!(
            described(&error),
            (UNCAUGHT_BROKEN_PIPE.into(), Code::Failed)
        );
    }

    #[test]
    fn clap_errors_become_one_line() {
        use clap::Parser;
        #[derive(Debug, Parser)]
        struct Cli {
            #[arg(long, value_parser = |s: &str| s.parse::<crate::Sha>())]
            sha: crate::Sha,
        }
        let error = Cli::try_parse_from(["t", "--sha", "latest"]).unwrap_err();
        assert_eq!(
            clap_message(&error),
            "invalid value 'latest' for '--sha <SHA>': \"latest\" is not a commit sha: use 7 to 40 hex characters"
        );
    }

    #[test]
    fn a_caught_broken_pipe_keeps_the_worse_code() {
        assert_eq!(stdout_closed("t", Some("3 left"), Code::Ok), Code::Failed);
        assert_eq!(stdout_closed("t", Some("3 left"), Code::Usage), Code::Usage);
        assert_eq!(stdout_closed("t", None, Code::Ok), Code::Ok);
    }
}
