//! Human text on stderr: colour only on a terminal and only without `NO_COLOR`.

use std::io::{self, IsTerminal, Write};

#[derive(Debug, Clone, Copy)]
pub struct Style {
    color: bool,
}

impl Style {
    pub fn for_stderr() -> Self {
        let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
        Style {
            color: !no_color && io::stderr().is_terminal(),
        }
    }

    pub fn plain() -> Self {
        Style { color: false }
    }

    fn paint(&self, code: &str, text: &str) -> String {
        if self.color {
            format!("\x1b[{code}m{text}\x1b[0m")
        } else {
            text.to_string()
        }
    }

    pub fn good(&self, text: &str) -> String {
        self.paint("32", text)
    }

    pub fn bad(&self, text: &str) -> String {
        self.paint("31", text)
    }

    pub fn warn(&self, text: &str) -> String {
        self.paint("33", text)
    }

    pub fn bold(&self, text: &str) -> String {
        self.paint("1", text)
    }
}

/// Writes one line to stderr, ignoring a closed stderr. Registered secrets
/// are scrubbed ([`crate::redact::scrub`]).
pub fn say(line: &str) {
    let _ = writeln!(io::stderr(), "{}", crate::redact::scrub(line));
}

/// `TOOL: message` on stderr, for notes and warnings that are not results.
pub fn note(tool: &str, message: &str) {
    say(&format!("{tool}: {message}"));
}
