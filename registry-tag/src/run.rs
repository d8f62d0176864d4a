//! The command line: resolve, list or move, records on stdout, people's
//! lines on stderr, a step summary under GitHub Actions.

use std::io::IsTerminal;

use common::ci::{markdown_cell, GithubActions};
use common::jsonl::{self, RecordWriter, Records};
use common::term::{note, say, Style};
use common::Code;

use crate::manifest::short;
use crate::plan::{plan, Expect, Intent, Move, Plan};
use crate::reference::{check_digest, Image, Reference};
use crate::request::Request;
use crate::{Cli, Client, Error, TagRecord};

const TOOL: &str = "registry-tag";

pub fn run(cli: Cli) -> Result<Code, Error> {
    let ci = GithubActions::from_env();
    let client = cli.registry.client(TOOL, env!("CARGO_PKG_VERSION"), &ci)?;
    if let Some(expected) = &cli.expect_current {
        check_digest(expected).map_err(|e| Error::Usage(format!("--expect-current: {e}")))?;
    }
    let mut out = RecordWriter::stdout();
    let tool = Tool {
        client,
        ci,
        style: Style::for_stderr(),
        dry_run: cli.dry_run,
        atomic: cli.atomic,
        expect_current: cli.expect_current.clone(),
    };

    if let Some(image) = &cli.list {
        return tool.list(&Image::parse(image)?, &mut out);
    }
    match &cli.reference {
        Some(reference) if cli.new_tags.is_empty() => {
            if cli.atomic || cli.dry_run || cli.expect_current.is_some() {
                return Err(Error::Usage(
                    "--atomic, --dry-run and --expect-current apply to moves: give NEWTAG... or requests on stdin".into(),
                ));
            }
            tool.resolve(&Reference::parse(reference)?, &mut out)
        }
        Some(reference) => {
            let source = Reference::parse(reference)?;
            let moves = cli
                .new_tags
                .iter()
                .map(|tag| Move::new(source.image.clone(), source.target_str(), tag))
                .collect::<Result<Vec<_>, _>>()?;
            tool.moves(moves, &mut out)
        }
        None => {
            if std::io::stdin().is_terminal() {
                return Err(Error::Usage(
                    "nothing to do: give IMAGE:TAG, IMAGE:SRC NEWTAG..., --list IMAGE, or move requests on stdin (see --help)".into(),
                ));
            }
            let moves = read_requests()?;
            if moves.is_empty() {
                return Err(Error::Usage("stdin held no move requests".into()));
            }
            tool.moves(moves, &mut out)
        }
    }
}

/// Every request line, read and checked before anything moves.
fn read_requests() -> Result<Vec<Move>, Error> {
    let (reader, source_name) = jsonl::open(None)?;
    let mut records = Records::<_, Request>::new(reader, source_name.clone());
    let mut moves = Vec::new();
    while let Some(request) = records.next() {
        let request = request?;
        let line = records.line();
        let input = |message: String| common::Error::Input {
            source_name: source_name.clone(),
            line,
            message,
        };
        moves.push(request.into_move().map_err(input)?);
    }
    Ok(moves)
}

#[derive(Debug)]
struct Tool {
    client: Client,
    ci: GithubActions,
    style: Style,
    dry_run: bool,
    atomic: bool,
    expect_current: Option<String>,
}

impl Tool {
    fn resolve(
        &self,
        reference: &Reference,
        out: &mut RecordWriter<std::io::Stdout>,
    ) -> Result<Code, Error> {
        self.client.bind_env_credentials([&reference.image]);
        let resolved = self
            .client
            .resolve(reference)
            .inspect_err(|e| self.annotate(e))?;
        out.write(&TagRecord::current(
            &reference.image.name,
            reference.target_str(),
            &resolved.digest,
        ))?;
        Ok(Code::Ok)
    }

    fn list(&self, image: &Image, out: &mut RecordWriter<std::io::Stdout>) -> Result<Code, Error> {
        self.client.bind_env_credentials([image]);
        let tags = self
            .client
            .list_tags(image)
            .inspect_err(|e| self.annotate(e))?;
        for tag in tags {
            let reference = image.tag(&tag)?;
            match self.client.resolve_optional(&reference)? {
                Some(resolved) => {
                    out.write(&TagRecord::current(&image.name, &tag, &resolved.digest))?
                }
                // Deleted between the listing and the HEAD.
                None => note(TOOL, &format!("{reference} vanished while listing")),
            }
        }
        Ok(Code::Ok)
    }

    fn moves(
        &self,
        moves: Vec<Move>,
        out: &mut RecordWriter<std::io::Stdout>,
    ) -> Result<Code, Error> {
        self.client
            .bind_env_credentials(moves.iter().map(Move::image));
        // --expect-current is the default for requests without their own.
        let moves: Vec<Move> = moves
            .into_iter()
            .map(|mv| match (&self.expect_current, mv.expected()) {
                (Some(d), None) => mv.expecting(Expect::Digest(d.clone())),
                _ => mv,
            })
            .collect();
        let intent = if self.dry_run {
            Intent::DryRun
        } else {
            Intent::Move
        };
        let mut summary = Vec::new();
        let result = if self.atomic {
            plan(&self.client, moves, intent)
                .and_then(|planned| self.carry_out(&planned, out, &mut summary))
                .inspect_err(|e| self.report_failure(e, &mut summary))
        } else {
            // Independent moves: a failure is reported and the rest go on.
            let total = moves.len();
            let mut failures = Vec::new();
            for mv in moves {
                match plan(&self.client, vec![mv], intent)
                    .and_then(|planned| self.carry_out(&planned, out, &mut summary))
                {
                    Ok(_) => {}
                    // stdout or the summary file failed: nothing more can be reported.
                    Err(e @ Error::Common(_)) => return Err(e),
                    Err(e) => {
                        self.report_failure(&e, &mut summary);
                        if total > 1 {
                            note(TOOL, &self.style.bad(&e.to_string()));
                        }
                        failures.push(e);
                    }
                }
            }
            match failures.len() {
                0 => Ok(Code::Ok),
                1 if total == 1 => Err(failures.remove(0)),
                n => Err(Error::Failed(format!("{n} of {total} moves failed"))),
            }
        };
        self.write_summary(&summary)?;
        result
    }

    fn report_failure(&self, error: &Error, summary: &mut Vec<String>) {
        self.annotate(error);
        summary.push(format!("**failed:** {}", markdown_cell(&error.to_string())));
    }

    /// Applies (or, dry, shows) one plan, writing records and human lines.
    fn carry_out(
        &self,
        planned: &Plan,
        out: &mut RecordWriter<std::io::Stdout>,
        summary: &mut Vec<String>,
    ) -> Result<Code, Error> {
        if self.dry_run {
            planned.check_expected()?;
            for record in planned.dry_run_records() {
                let line = if record.previous.as_deref() == Some(record.digest.as_str()) {
                    format!(
                        "{}:{} already at {} (dry run)",
                        record.image,
                        record.tag,
                        short(&record.digest)
                    )
                } else {
                    format!(
                        "would move {}:{} → {} (now {})",
                        record.image,
                        record.tag,
                        short(&record.digest),
                        record.previous.as_deref().map_or("absent", short)
                    )
                };
                note(TOOL, &line);
                summary.push(summary_row(&record, "would move"));
                out.write(&record)?;
            }
            return Ok(Code::Ok);
        }
        match planned.apply(&self.client) {
            Ok(records) => {
                for record in &records {
                    self.human_line(record);
                    summary.push(summary_row(
                        record,
                        if record.changed { "moved" } else { "unchanged" },
                    ));
                    out.write(record)?;
                }
                Ok(Code::Ok)
            }
            Err(e) => {
                for record in &e.records {
                    summary.push(summary_row(record, "final state"));
                    out.write(record)?;
                }
                Err(Error::Move(e))
            }
        }
    }

    fn human_line(&self, record: &TagRecord) {
        let line = if record.changed {
            format!(
                "{} {}:{} → {} (was {})",
                self.style.good("moved"),
                record.image,
                record.tag,
                short(&record.digest),
                record.previous.as_deref().map_or("a new tag", short)
            )
        } else {
            format!(
                "{}:{} already at {} (unchanged)",
                record.image,
                record.tag,
                short(&record.digest)
            )
        };
        say(&format!("{TOOL}: {line}"));
    }

    fn annotate(&self, error: &Error) {
        self.ci.error(TOOL, &error.to_string());
    }

    fn write_summary(&self, rows: &[String]) -> Result<(), Error> {
        if rows.is_empty() {
            return Ok(());
        }
        let mut md = String::from(
            "### registry-tag\n\n| image | tag | digest | previous | |\n|---|---|---|---|---|\n",
        );
        for row in rows.iter().filter(|r| r.starts_with('|')) {
            md.push_str(row);
            md.push('\n');
        }
        for row in rows.iter().filter(|r| !r.starts_with('|')) {
            md.push('\n');
            md.push_str(row);
            md.push('\n');
        }
        self.ci.append_summary(&md)?;
        Ok(())
    }
}

fn summary_row(record: &TagRecord, what: &str) -> String {
    format!(
        "| {} | {} | `{}` | `{}` | {} |",
        markdown_cell(&record.image),
        markdown_cell(&record.tag),
        short(&record.digest),
        record.previous.as_deref().map_or("—", short),
        what
    )
}
