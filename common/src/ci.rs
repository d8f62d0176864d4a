//! GitHub Actions integration: masks, annotations, step summaries, step
//! outputs, and neutralising untrusted text so it can become neither a
//! workflow command nor Markdown/HTML. Everything written here except the
//! masks themselves goes through [`crate::redact::scrub`].

use std::collections::HashSet;
use std::fs::OpenOptions;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use crate::redact::scrub;
use crate::{Error, Secret};

/// What the CI environment asks of a tool, read once at start-up.
#[derive(Debug, Clone, Default)]
pub struct GithubActions {
    enabled: bool,
    summary: Option<PathBuf>,
    output: Option<PathBuf>,
}

/// Values already masked in this process: each is announced once.
static MASKED: Mutex<Option<HashSet<String>>> = Mutex::new(None);

impl GithubActions {
    /// `GITHUB_ACTIONS=true` turns on masks and annotations;
    /// `GITHUB_STEP_SUMMARY` names the file step summaries are appended to.
    pub fn from_env() -> Self {
        GithubActions {
            enabled: std::env::var("GITHUB_ACTIONS").is_ok_and(|v| v == "true"),
            summary: std::env::var_os("GITHUB_STEP_SUMMARY")
                .filter(|v| !v.is_empty())
                .map(PathBuf::from),
            output: std::env::var_os("GITHUB_OUTPUT")
                .filter(|v| !v.is_empty())
                .map(PathBuf::from),
        }
    }

    pub fn is_enabled(&self) -> bool {
        self.enabled
    }

    /// Prints `::add-mask::` for the secret (escaped as workflow commands
    /// require, so the runner registers exactly this value), and for each
    /// line of a multi-line one, so the runner hides it in every later log
    /// line. Call before printing anything else. Each value is masked once
    /// per process however often this is called.
    pub fn mask(&self, secret: &Secret) {
        if !self.enabled || secret.expose().trim().is_empty() {
            return;
        }
        let value = secret.expose();
        {
            let mut masked = MASKED.lock().unwrap_or_else(|e| e.into_inner());
            if !masked
                .get_or_insert_with(HashSet::new)
                .insert(value.to_string())
            {
                return;
            }
        }
        let mut err = io::stderr().lock();
        let _ = writeln!(err, "::add-mask::{}", escape_data(value));
        if value.contains(['\n', '\r']) {
            for line in value.lines().filter(|l| !l.trim().is_empty()) {
                let _ = writeln!(err, "::add-mask::{}", escape_data(line));
            }
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

    /// Whether `$GITHUB_STEP_SUMMARY` is set.
    pub fn has_summary(&self) -> bool {
        self.summary.is_some()
    }

    /// Appends `name<<DELIMITER`, the value and the delimiter to
    /// `$GITHUB_OUTPUT` when it is set (a no-op otherwise). The delimiter is
    /// random and not found in the value, so no value, however untrusted,
    /// can end it early and inject another output. Names are
    /// `[A-Za-z0-9_-]+`. The value is scrubbed of secrets.
    pub fn set_output(&self, name: &str, value: &str) -> Result<(), Error> {
        let Some(path) = &self.output else {
            return Ok(());
        };
        let report = |error| Error::Report {
            path: path.clone(),
            error,
        };
        if name.is_empty()
            || !name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
        {
            return Err(report(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("{name:?} is not a valid output name"),
            )));
        }
        let value = scrub(value);
        let delimiter = delimiter_for(&value);
        let text = format!("{name}<<{delimiter}\n{value}\n{delimiter}\n");
        append(path, &text).map_err(report)
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

fn append(path: &Path, text: &str) -> io::Result<()> {
    let mut file = OpenOptions::new().create(true).append(true).open(path)?;
    file.write_all(text.as_bytes())
}

/// `ghadelimiter_<random hex>`, drawn again until the value does not contain it.
fn delimiter_for(value: &str) -> String {
    use std::collections::hash_map::RandomState;
    use std::hash::{BuildHasher, Hasher};
    loop {
        let mut hasher = RandomState::new().build_hasher();
        hasher.write(value.as_bytes());
        let delimiter = format!("ghadelimiter_{:016x}", hasher.finish());
        if !value.contains(&delimiter) {
            return delimiter;
        }
    }
}

/// A workflow command line, `::error title=T::message`, escaped as the
/// Actions toolkit does, with registered secrets scrubbed.
pub fn annotation(level: &str, title: &str, message: &str) -> String {
    // Control characters (an ESC from a tenant name) are dropped; line
    // breaks are kept in the message (escaped) and become spaces in a title.
    let title: String = scrub(title)
        .chars()
        .map(|c| if c == '\n' || c == '\r' { ' ' } else { c })
        .filter(|c| !c.is_control())
        .collect();
    let message: String = scrub(message)
        .chars()
        .filter(|&c| !c.is_control() || c == '\n' || c == '\r')
        .collect();
    let (title, message) = (title.as_str(), message.as_str());
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

/// Text for one Markdown table cell: [`markdown_text`] of at most 200
/// characters, on one line.
pub fn markdown_cell(text: &str) -> String {
    markdown_text(&neutralize(text, 200))
}

/// Untrusted text (a tenant name, a response body, a registry error) made
/// inert in Markdown: HTML special characters become entities, Markdown
/// punctuation is backslash-escaped (so it can close no table, start no
/// heading, link or image), line breaks become spaces, other control
/// characters are dropped, and registered secrets are scrubbed.
pub fn markdown_text(text: &str) -> String {
    let text = scrub(text);
    let mut out = String::with_capacity(text.len() + 8);
    // Only digits so far: a `.` or `)` next would start an ordered list.
    let mut leading_digits = true;
    for (i, c) in text.chars().enumerate() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            '\n' | '\r' => out.push(' '),
            // `:` keeps `https://…` from becoming a link.
            '\\' | '`' | '*' | '_' | '[' | ']' | '(' | ')' | '{' | '}' | '!' | '#' | '|' | '~'
            | ':' => {
                out.push('\\');
                out.push(c);
            }
            '-' | '+' | '=' if i == 0 => {
                out.push('\\');
                out.push(c);
            }
            '.' if leading_digits && i > 0 => out.push_str("\\."),
            c if c.is_control() => {}
            c => out.push(c),
        }
        leading_digits &= c.is_ascii_digit();
    }
    out
}

/// Text as an inline code span (digests, tags, commands): a backtick fence
/// longer than any run of backticks inside, `|` escaped so it cannot end a
/// table cell, one line, secrets scrubbed. Code spans show HTML literally.
pub fn code_span(text: &str) -> String {
    let text: String = scrub(text)
        .chars()
        .map(|c| if c == '\n' || c == '\r' { ' ' } else { c })
        .filter(|c| !c.is_control())
        .collect();
    let text = text.replace('|', "\\|");
    let mut longest = 0;
    let mut run = 0;
    for c in text.chars() {
        run = if c == '`' { run + 1 } else { 0 };
        longest = longest.max(run);
    }
    let fence = "`".repeat(longest + 1);
    let pad = if text.starts_with('`') || text.ends_with('`') {
        " "
    } else {
        ""
    };
    format!("{fence}{pad}{text}{pad}{fence}")
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
    fn annotations_drop_control_characters() {
        assert_eq!(
            annotation("error", "canary\x1b[31m\nx", "a\x1bb\nc"),
            "::error title=canary[31m x::ab%0Ac"
        );
    }

    #[test]
    fn markdown_text_is_inert() {
        let hostile = "</table><h1>ALL GREEN</h1> ![x](http://e/i.png) | # *y*\n## z";
        let safe = markdown_text(hostile);
        for bad in ["<", ">", "](", "\n"] {
            assert!(!safe.contains(bad), "{bad:?} in {safe}");
        }
        assert!(safe.contains("\\|") && safe.contains("\\!\\["), "{safe}");
        assert_eq!(markdown_text("a&b \"c\""), "a&amp;b &quot;c&quot;");
        assert_eq!(markdown_cell("x|y"), "x\\|y");
        assert_eq!(markdown_text("- 1. a-b.c"), "\\- 1. a-b.c");
        assert_eq!(markdown_text("12. x"), "12\\. x");
    }

    #[test]
    fn code_spans_survive_backticks_and_pipes() {
        assert_eq!(code_span("sha256:abc"), "`sha256:abc`");
        assert_eq!(code_span("a`b"), "``a`b``");
        assert_eq!(code_span("`x"), "`` `x ``");
        assert_eq!(code_span("a|b\nc"), "`a\\|b c`");
    }

    #[test]
    fn outputs_use_a_delimiter_the_value_cannot_forge() {
        let dir = std::env::temp_dir().join(format!("common-ci-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("output");
        let _ = std::fs::remove_file(&path);
        let ci = GithubActions {
            enabled: true,
            summary: None,
            output: Some(path.clone()),
        };
        let _s = Secret::new("out-s3cret");
        ci.set_output("count", "3").unwrap();
        ci.set_output("failed_tenants", "a\nEOF\nverdict=passed\nout-s3cret")
            .unwrap();
        assert!(ci.set_output("bad name", "x").is_err());
        assert!(ci.set_output("x\ny", "x").is_err());
        let text = std::fs::read_to_string(&path).unwrap();
        let outputs = testkit::actions::step_outputs(&text);
        assert_eq!(outputs[0], ("count".to_string(), "3".to_string()));
        assert_eq!(outputs[1].1, "a\nEOF\nverdict=passed\n***");
        assert_eq!(outputs.len(), 2);
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn neutralized_text_cannot_start_a_command() {
        let body = "oops\n::add-mask::x\r\n::error::forged";
        let safe = neutralize(body, 1000);
        assert!(!safe.contains('\n') && !safe.contains('\r'));
        assert_eq!(neutralize("abcdef", 3), "abc…");
    }
}
