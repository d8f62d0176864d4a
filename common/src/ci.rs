//! GitHub Actions integration: masks, annotations, step summaries, and
//! neutralising untrusted text so it cannot become a workflow command.

use std::fs::OpenOptions;
use std::io::{self, Write};
use std::path::PathBuf;

use crate::redact::scrub;
use crate::{Error, Secret};

/// What the CI environment asks of a tool, read once at start-up.
#[derive(Debug, Clone, Default)]
pub struct GithubActions {
    enabled: bool,
    summary: Option<PathBuf>,
}

impl GithubActions {
    /// `GITHUB_ACTIONS=true` turns on masks and annotations;
    /// `GITHUB_STEP_SUMMARY` names the file step summaries are appended to.
    pub fn from_env() -> Self {
        GithubActions {
            enabled: std::env::var("GITHUB_ACTIONS").is_ok_and(|v| v == "true"),
            summary: std::env::var_os("GITHUB_STEP_SUMMARY")
                .filter(|v| !v.is_empty())
                .map(PathBuf::from),
        }
    }

    pub fn is_enabled(&self) -> bool {
        self.enabled
    }

    /// Prints `::add-mask::` for each line of the secret, so the runner hides
    /// it in every later log line. Call before printing anything else.
    pub fn mask(&self, secret: &Secret) {
        if !self.enabled {
            return;
        }
        let mut err = io::stderr().lock();
        for line in secret.expose().lines().filter(|l| !l.trim().is_empty()) {
            let _ = writeln!(err, "::add-mask::{line}");
        }
    }

    /// An `::error::` annotation; a no-op outside GitHub Actions.
    pub fn error(&self, title: &str, message: &str) {
        self.annotate("error", title, message);
    }

    /// A `::warning::` annotation; a no-op outside GitHub Actions.
    pub fn warning(&self, title: &str, message: &str) {
        self.annotate("warning", title, message);
    }

    fn annotate(&self, level: &str, title: &str, message: &str) {
        if self.enabled {
            let _ = writeln!(io::stderr(), "{}", annotation(level, title, message));
        }
    }

    /// Appends Markdown to `$GITHUB_STEP_SUMMARY` when it is set.
    pub fn append_summary(&self, markdown: &str) -> Result<(), Error> {
        let Some(path) = &self.summary else {
            return Ok(());
        };
        let report = |error| Error::Report {
            path: path.clone(),
            error,
        };
        let mut file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .map_err(report)?;
        let mut text = scrub(markdown).into_owned();
        if !text.ends_with('\n') {
            text.push('\n');
        }
        file.write_all(text.as_bytes()).map_err(report)
    }
}

/// A workflow command line, `::error title=T::message`, escaped as the
/// Actions toolkit does, with registered secrets scrubbed.
pub fn annotation(level: &str, title: &str, message: &str) -> String {
    let (title, message) = (scrub(title), scrub(message));
    let (title, message) = (title.as_ref(), message.as_ref());
    if title.is_empty() {
        format!("::{level}::{}", escape_data(message))
    } else {
        format!(
            "::{level} title={}::{}",
            escape_property(title),
            escape_data(message)
        )
    }
}

/// Escaping for a workflow command's message.
pub fn escape_data(s: &str) -> String {
    s.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

/// Escaping for a workflow command's property value.
pub fn escape_property(s: &str) -> String {
    escape_data(s).replace(':', "%3A").replace(',', "%2C")
}

/// Makes untrusted text (a response body) safe to print inside a log line:
/// at most `max_chars` characters, on one line, with control characters
/// escaped, so it can neither start a `::command::` line nor forge output.
pub fn neutralize(text: &str, max_chars: usize) -> String {
    let mut out = String::with_capacity(text.len().min(max_chars + 8));
    for (count, c) in text.chars().enumerate() {
        if count == max_chars {
            out.push('…');
            break;
        }
        match c {
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c.is_control() => out.push_str(&format!("\\u{{{:x}}}", c as u32)),
            c => out.push(c),
        }
    }
    out
}

/// Text for one Markdown table cell.
pub fn markdown_cell(text: &str) -> String {
    neutralize(text, 200).replace('|', "\\|")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_like_the_toolkit() {
        assert_eq!(
            annotation("error", "a:b,c", "50%\nnext"),
            "::error title=a%3Ab%2Cc::50%25%0Anext"
        );
        assert_eq!(annotation("warning", "", "x"), "::warning::x");
    }

    #[test]
    fn annotations_never_carry_a_secret() {
        let _s = Secret::new("ci-s3cret/x");
        let line = annotation("error", "t ci-s3cret/x", "echo ci-s3cret\\/x");
        assert_eq!(line, "::error title=t ***::echo ***");
    }

    #[test]
    fn neutralized_text_cannot_start_a_command() {
        let body = "oops\n::add-mask::x\r\n::error::forged";
        let safe = neutralize(body, 1000);
        assert!(!safe.contains('\n') && !safe.contains('\r'));
        assert_eq!(neutralize("abcdef", 3), "abc…");
    }
}
