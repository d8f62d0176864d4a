//! Where output goes: the old script's lines, tables for people, or records
//! for programs — never two of them interleaved on one stream.
//!
//! | form | stdout | stderr |
//! |---|---|---|
//! | `rollback-latest <sha>` (the drop-in) | the script's lines, byte for byte | notes, failures |
//! | `… --json`, `--pinned`, `--pin` | records | the script's lines, notes, failures |
//! | `--list`, `--dry-run` on a terminal | a table | notes, failures |
//! | `--list`, `--dry-run` on a pipe, or with `--json` | records | notes, failures |

use std::io::{self, IsTerminal, Write};

use common::jsonl::RecordWriter;
use common::redact::scrub;
use common::term::{say, Style};
use registry_tag::table;
use serde::Serialize;

use crate::Error;

/// Where people's lines go.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Human {
    Stdout,
    Stderr,
    Nowhere,
}

#[derive(Debug)]
pub struct Report {
    human: Human,
    records: Option<RecordWriter<io::Stdout>>,
    style: Style,
}

impl Report {
    /// The drop-in: the old script's lines on stdout, no records.
    pub fn script() -> Report {
        Report {
            human: Human::Stdout,
            records: None,
            style: Style::plain(),
        }
    }

    /// Records on stdout; people's lines on stderr.
    pub fn records() -> Report {
        Report {
            human: Human::Stderr,
            records: Some(RecordWriter::stdout()),
            style: Style::for_stderr(),
        }
    }

    /// For `--list` and `--dry-run`: a table when stdout is a terminal and
    /// records are not forced; otherwise records only.
    pub fn table_or_records(json: bool) -> Report {
        if !json && io::stdout().is_terminal() {
            Report {
                human: Human::Stdout,
                records: None,
                style: Style::plain(),
            }
        } else {
            Report {
                human: Human::Nowhere,
                records: Some(RecordWriter::stdout()),
                style: Style::plain(),
            }
        }
    }

    /// Whether people's lines are printed at all (no table work otherwise).
    pub fn shows_lines(&self) -> bool {
        self.human != Human::Nowhere
    }

    pub fn style(&self) -> Style {
        self.style
    }

    /// One line for people. On stdout a closed pipe is an error (the caller
    /// reads these lines); on stderr it is ignored.
    pub fn line(&mut self, text: &str) -> Result<(), Error> {
        match self.human {
            Human::Stdout => {
                let mut out = io::stdout().lock();
                out.write_all(scrub(&format!("{text}\n")).as_bytes())
                    .and_then(|()| out.flush())
                    .map_err(|e| Error::Common(common::Error::Output(e)))
            }
            Human::Stderr => {
                say(text);
                Ok(())
            }
            Human::Nowhere => Ok(()),
        }
    }

    /// Several lines laid out as a table (`registry_tag::table`: left-aligned
    /// columns two spaces apart, as registry-tag prints its own).
    pub fn table(&mut self, rows: &[Vec<String>]) -> Result<(), Error> {
        for line in table(rows) {
            self.line(&line)?;
        }
        Ok(())
    }

    /// One record, when records are written.
    pub fn record<T: Serialize + ?Sized>(&mut self, record: &T) -> Result<(), Error> {
        match &mut self.records {
            Some(out) => Ok(out.write(record)?),
            None => Ok(()),
        }
    }
}
