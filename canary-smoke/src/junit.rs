//! The `--junit FILE` report: one `<testsuite>` per tenant, one
//! `<testcase>` per check.
//!
//! Tenants are written to a sibling temporary file as each one finishes, so
//! memory stays flat however many tenants stream through; the totals the
//! root element needs are only known at the end, when the file is assembled.

use std::fs::{self, File};
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

use common::redact::scrub;

use crate::record::TenantResult;

#[derive(Debug)]
pub struct Junit {
    path: PathBuf,
    partial: PathBuf,
    out: BufWriter<File>,
    /// `--sha`: a property of every testsuite.
    sha: Option<String>,
    /// The first write that failed: the report is then abandoned.
    failed: Option<io::Error>,
}

impl Junit {
    pub fn create(path: &Path, sha: Option<String>) -> Result<Junit, common::Error> {
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "junit.xml".into());
        let partial = path.with_file_name(format!(".{name}.{}.partial", std::process::id()));
        let file = File::create(&partial).map_err(|error| common::Error::Report {
            path: path.to_path_buf(),
            error,
        })?;
        Ok(Junit {
            path: path.to_path_buf(),
            partial,
            out: BufWriter::new(file),
            sha,
            failed: None,
        })
    }

    /// Adds a tenant's testsuite; a failure is kept for [`Junit::finish`].
    pub fn add(&mut self, tenant: &TenantResult) {
        if self.failed.is_none() {
            self.failed = self.write_tenant(tenant).err();
        }
    }

    fn write_tenant(&mut self, tenant: &TenantResult) -> io::Result<()> {
        let failures = tenant.checks.iter().filter(|c| !c.ok).count();
        let out = &mut self.out;
        writeln!(
            out,
            r#"  <testsuite name="{}" tests="{}" failures="{failures}" errors="0" time="{}">"#,
            escape(&tenant.name),
            tenant.checks.len(),
            seconds(tenant.ms)
        )?;
        let sha = self
            .sha
            .as_deref()
            .map(|sha| format!(r#"<property name="sha" value="{}"/>"#, escape(sha)))
            .unwrap_or_default();
        writeln!(
            out,
            r#"    <properties><property name="url" value="{}"/>{sha}</properties>"#,
            escape(&tenant.url)
        )?;
        for check in &tenant.checks {
            write!(
                out,
                r#"    <testcase classname="canary-smoke.{}" name="{}" time="{}""#,
                escape(&tenant.name),
                escape(&check.check),
                seconds(check.ms)
            )?;
            match &check.reason {
                None => writeln!(out, "/>")?,
                Some(reason) => {
                    writeln!(out, ">")?;
                    writeln!(
                        out,
                        r#"      <failure message="{}" type="check">expected: {}&#10;got: {}</failure>"#,
                        escape(reason),
                        escape(&check.expected),
                        escape(&check.got)
                    )?;
                    writeln!(out, "    </testcase>")?;
                }
            }
        }
        writeln!(out, "  </testsuite>")
    }

    /// Writes the report: the root element with the totals around every
    /// tenant written so far.
    pub fn finish(mut self, tests: u64, failures: u64, total_ms: u64) -> Result<(), common::Error> {
        let result = match self.failed.take() {
            Some(error) => Err(error),
            None => self.assemble(tests, failures, total_ms),
        };
        result.map_err(|error| self.report(error))
    }

    fn assemble(&mut self, tests: u64, failures: u64, total_ms: u64) -> io::Result<()> {
        self.out.flush()?;
        let mut file = BufWriter::new(File::create(&self.path)?);
        writeln!(file, r#"<?xml version="1.0" encoding="UTF-8"?>"#)?;
        writeln!(
            file,
            r#"<testsuites name="canary-smoke" tests="{tests}" failures="{failures}" errors="0" time="{}">"#,
            seconds(total_ms)
        )?;
        io::copy(&mut File::open(&self.partial)?, &mut file)?;
        writeln!(file, "</testsuites>")?;
        file.flush()
    }

    fn report(&self, error: io::Error) -> common::Error {
        common::Error::Report {
            path: self.path.clone(),
            error,
        }
    }
}

impl Drop for Junit {
    fn drop(&mut self) {
        let _ = fs::remove_file(&self.partial);
    }
}

fn seconds(ms: u64) -> String {
    format!("{}.{:03}", ms / 1000, ms % 1000)
}

/// Text for an XML attribute or element: secrets scrubbed, markup
/// characters escaped, and characters XML 1.0 cannot carry at all replaced.
pub fn escape(text: &str) -> String {
    let text = scrub(text);
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\n' => out.push_str("&#10;"),
            '\r' => out.push_str("&#13;"),
            '\t' => out.push_str("&#9;"),
            c if (c as u32) < 0x20 || c == '\u{FFFE}' || c == '\u{FFFF}' => out.push('\u{FFFD}'),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markup_and_invalid_characters() {
        assert_eq!(
            escape(r#"<a href="x">&'</a>"#),
            "&lt;a href=&quot;x&quot;&gt;&amp;&apos;&lt;/a&gt;"
        );
        assert_eq!(escape("a\u{1}b\nc"), "a\u{FFFD}b&#10;c");
        assert_eq!(seconds(1041), "1.041");
    }
}
