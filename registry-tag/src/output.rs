//! What goes to stdout: records for programs, a digest or a table for
//! people, or bare digests with `-q`.
//!
//! | stdout | resolve | `--list` | moves |
//! |---|---|---|---|
//! | a pipe or file, or `--json` | the record | one record per tag | one record per tag |
//! | a terminal | the bare digest (as `crane digest`) | `DIGEST  TAG` lines | a table |
//! | `-q/--quiet` | the digest | one digest per tag | each tag's digest |

use std::io::{self, IsTerminal, Write};

use common::jsonl::RecordWriter;
use common::redact::scrub;

use crate::{Error, TagRecord};

/// How results are shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// JSON lines (a pipe, or `--json`).
    Records,
    /// For people on a terminal.
    Table,
    /// Digests only (`-q`).
    Digests,
}

impl Format {
    /// `--json` wins, then `-q`; otherwise a table on a terminal, records
    /// elsewhere.
    pub fn choose(json: bool, quiet: bool) -> Format {
        if json {
            Format::Records
        } else if quiet {
            Format::Digests
        } else if io::stdout().is_terminal() {
            Format::Table
        } else {
            Format::Records
        }
    }
}

/// stdout in one [`Format`].
#[derive(Debug)]
pub struct Output {
    format: Format,
    records: RecordWriter<io::Stdout>,
}

impl Output {
    pub fn new(format: Format) -> Output {
        Output {
            format,
            records: RecordWriter::stdout(),
        }
    }

    pub fn format(&self) -> Format {
        self.format
    }

    /// A resolved tag: its record, or its digest.
    pub fn resolved(&mut self, record: &TagRecord) -> Result<(), Error> {
        match self.format {
            Format::Records => self.record(record),
            Format::Table | Format::Digests => self.line(&record.digest),
        }
    }

    /// One tag of a listing, as it arrives (a table row needs no widths:
    /// the digest, of fixed width, comes first).
    pub fn listed(&mut self, record: &TagRecord) -> Result<(), Error> {
        match self.format {
            Format::Records => self.record(record),
            Format::Table => self.line(&format!("{}  {}", record.digest, record.tag)),
            Format::Digests => self.line(&record.digest),
        }
    }

    /// The tags of a move (or dry run), each with what happened to it.
    pub fn moved(&mut self, rows: &[(&TagRecord, &str)]) -> Result<(), Error> {
        match self.format {
            Format::Records => rows.iter().try_for_each(|(r, _)| self.record(r)),
            Format::Digests => rows.iter().try_for_each(|(r, _)| self.line(&r.digest)),
            Format::Table => {
                let mut cells = vec![["TAG", "DIGEST", "BEFORE", ""].map(String::from).to_vec()];
                for (r, state) in rows {
                    cells.push(vec![
                        format!("{}:{}", r.image, r.tag),
                        r.digest.clone(),
                        r.previous.clone().unwrap_or_else(|| "-".into()),
                        state.to_string(),
                    ]);
                }
                table(&cells).iter().try_for_each(|l| self.line(l))
            }
        }
    }

    fn record(&mut self, record: &TagRecord) -> Result<(), Error> {
        Ok(self.records.write(record)?)
    }

    fn line(&mut self, text: &str) -> Result<(), Error> {
        let mut out = io::stdout().lock();
        out.write_all(scrub(&format!("{text}\n")).as_bytes())
            .and_then(|()| out.flush())
            .map_err(|e| Error::Common(common::Error::Output(e)))
    }
}

/// The lines of a table for people: left-aligned columns, each as wide as
/// its widest cell (counted in characters) and two spaces apart, trailing
/// spaces trimmed; a short row leaves its last columns empty. The one table
/// layout of registry-tag and rollback-latest (its `--list` and
/// `--dry-run`). The lines are returned, not printed: print them as any
/// other output, through `common::redact::scrub`.
///
/// ```
/// let rows = [["TAG", "DIGEST"], ["latest", "sha256:4c1d…"]]
///     .map(|row| row.map(String::from).to_vec());
/// assert_eq!(
///     registry_tag::table(&rows),
///     ["TAG     DIGEST", "latest  sha256:4c1d…"]
/// );
/// ```
pub fn table(rows: &[Vec<String>]) -> Vec<String> {
    let columns = rows.iter().map(Vec::len).max().unwrap_or(0);
    let widths: Vec<usize> = (0..columns)
        .map(|c| {
            rows.iter()
                .filter_map(|r| r.get(c))
                .map(|cell| cell.chars().count())
                .max()
                .unwrap_or(0)
        })
        .collect();
    rows.iter()
        .map(|row| {
            let mut line = String::new();
            for (cell, width) in row.iter().zip(&widths) {
                line.push_str(cell);
                line.push_str(&" ".repeat(width - cell.chars().count() + 2));
            }
            line.trim_end().to_string()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_align_columns() {
        let rows = vec![
            vec!["A".to_string(), "BB".to_string(), "C".to_string()],
            vec!["aaa".to_string(), "b".to_string(), String::new()],
        ];
        assert_eq!(table(&rows), ["A    BB  C", "aaa  b"]);
    }
}
