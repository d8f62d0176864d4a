//! The command line: resolve, list or move; records (or, on a terminal, a
//! digest or a table) on stdout, people's lines on stderr, a step summary
//! and step outputs under GitHub Actions.

use std::collections::BTreeMap;
use std::io::IsTerminal;

use common::ci::{code_span, markdown_text, GithubActions};
use common::exit::{is_broken_pipe, stdout_closed};
use common::jsonl::{self, Records};
use common::term::{note, say, Style};
use common::Code;

use crate::apply::MoveError;
use crate::deadline;
use crate::output::{Format, Output};
use crate::parallel::in_parallel;
use crate::plan::{plan, Expect, Intent, Move, Plan};
use crate::reference::{check_digest, Image, Reference};
use crate::request::Request;
use crate::{Cli, Client, Error, TagRecord};

const TOOL: &str = "registry-tag";

pub fn run(cli: Cli) -> Result<Code, Error> {
    cli.verbosity.init();
    let ci = GithubActions::from_env();
    let client = cli.registry.client(TOOL, env!("CARGO_PKG_VERSION"), &ci)?;
    if let Some(expected) = &cli.expect_current {
        check_digest(expected).map_err(|e| Error::Usage(format!("--expect-current: {e}")))?;
    }
    let format = Format::choose(cli.json, cli.quiet);
    let mut tool = Tool {
        client,
        ci,
        style: Style::for_stderr(),
        dry_run: cli.dry_run,
        atomic: cli.atomic,
        expect_current: cli.expect_current.clone(),
        out: Output::new(format),
    };

    if let Some(image) = &cli.list {
        return tool.list(&Image::parse(image)?);
    }
    match &cli.reference {
        Some(reference) if cli.new_tags.is_empty() => {
            if cli.atomic || cli.dry_run || cli.expect_current.is_some() {
                return Err(Error::Usage(
                    "--atomic, --dry-run and --expect-current apply to moves: give NEWTAG... or requests on stdin".into(),
                ));
            }
            tool.resolve(&Reference::parse(reference)?)
        }
        Some(reference) => {
            let source = Reference::parse(reference)?;
            let moves = cli
                .new_tags
                .iter()
                .map(|tag| Move::new(source.image.clone(), source.target_str(), tag))
                .collect::<Result<Vec<_>, _>>()?;
            tool.moves(moves)
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
            tool.moves(moves)
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

/// What the closed stdout cut short, for the one line that says so.
fn closed(undone: &str) -> Result<Code, Error> {
    Ok(stdout_closed(TOOL, Some(undone), Code::Failed))
}

#[derive(Debug)]
struct Tool {
    client: Client,
    ci: GithubActions,
    style: Style,
    dry_run: bool,
    atomic: bool,
    expect_current: Option<String>,
    out: Output,
}

impl Tool {
    /// Whether people's per-tag lines go to stderr: not when stdout already
    /// shows them to a person (a table) or only digests were asked for.
    fn tells(&self) -> bool {
        self.out.format() == Format::Records
    }

    fn resolve(&mut self, reference: &Reference) -> Result<Code, Error> {
        self.client.bind_env_credentials([&reference.image]);
        let resolved = self.client.resolve(reference)?;
        let record = TagRecord::current(
            &reference.image.name,
            reference.target_str(),
            &resolved.digest,
        );
        self.outputs(std::slice::from_ref(&record))?;
        match self.out.resolved(&record) {
            Err(e) if is_broken_pipe(&e) => closed("the digest was not printed"),
            Err(e) => Err(e),
            Ok(()) => Ok(Code::Ok),
        }
    }

    /// One page of tags at a time: each page's tags are resolved (in
    /// parallel) and printed before the next page is fetched.
    fn list(&mut self, image: &Image) -> Result<Code, Error> {
        self.client.bind_env_credentials([image]);
        let mut listed = 0usize;
        for page in self.client.tag_pages(image) {
            let tags = page?;
            deadline::check(&format!(
                "every tag of {} was listed ({listed} were)",
                image.name
            ))?;
            let references = tags
                .iter()
                .map(|tag| image.tag(tag))
                .collect::<Result<Vec<_>, _>>()?;
            let resolved = in_parallel(&references, |r| self.client.resolve_optional(r));
            for (reference, resolved) in references.iter().zip(resolved) {
                let Some(resolved) = resolved? else {
                    note(TOOL, &format!("{reference} vanished while listing"));
                    continue;
                };
                let tag = reference.target_str();
                let record = TagRecord::current(&image.name, tag, &resolved.digest);
                match self.out.listed(&record) {
                    Err(e) if is_broken_pipe(&e) => {
                        return closed(&format!(
                            "the listing of {} stopped after {listed} tags",
                            image.name
                        ))
                    }
                    other => other?,
                }
                listed += 1;
            }
        }
        Ok(Code::Ok)
    }

    fn moves(&mut self, moves: Vec<Move>) -> Result<Code, Error> {
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
        let mut report = Report::default();
        let result = if self.atomic {
            let result = plan(&self.client, moves, intent)
                .and_then(|planned| self.carry_out(&planned, &mut report));
            match result {
                Err(e) => {
                    report.verdict = Some(failure_verdict(&e));
                    Err(e)
                }
                // stdout closed before every record was written.
                Ok(Code::Failed) => Ok(stdout_closed(
                    TOOL,
                    Some(if self.dry_run {
                        "the dry run's records were not all written"
                    } else {
                        "the records were not all written (the moves were made)"
                    }),
                    Code::Failed,
                )),
                ok => ok,
            }
        } else {
            self.independent(moves, intent, &mut report)
        };
        if self.out.format() == Format::Table && !report.rows.is_empty() {
            let shown: Vec<(&TagRecord, &str)> = report.rows.iter().map(|(r, s)| (r, *s)).collect();
            self.out.moved(&shown)?;
        }
        self.write_summary(&report, matches!(result, Ok(Code::Ok)))?;
        result
    }

    /// Moves that do not depend on each other: a failure is reported and
    /// the rest go on.
    fn independent(
        &mut self,
        moves: Vec<Move>,
        intent: Intent,
        report: &mut Report,
    ) -> Result<Code, Error> {
        let total = moves.len();
        let mut failures = Vec::new();
        for (done, mv) in moves.into_iter().enumerate() {
            match plan(&self.client, vec![mv], intent)
                .and_then(|planned| self.carry_out(&planned, report))
            {
                Ok(Code::Ok) => {}
                // stdout closed: the moves not yet made stay unmade.
                Ok(code) => {
                    let left = total - done - 1;
                    return Ok(stdout_closed(
                        TOOL,
                        Some(&format!("{left} of {total} moves not made")),
                        code,
                    ));
                }
                Err(e) => {
                    // One failure alone is the run's error, reported once
                    // (stderr, annotation, summary) by common::exit.
                    if total > 1 {
                        report.failed.push(e.to_string());
                        note(TOOL, &self.style.bad(&e.to_string()));
                    }
                    failures.push(e);
                }
            }
        }
        let moved = report.rows.iter().filter(|(r, _)| r.changed).count();
        report.verdict = Some(match failures.len() {
            0 => success_verdict(&report.rows, self.dry_run),
            n => format!("FAILED: {n} of {total} moves failed ({moved} moved)"),
        });
        match failures.len() {
            0 => Ok(Code::Ok),
            1 if total == 1 => Err(failures.remove(0)),
            n => Err(Error::Failed(format!("{n} of {total} moves failed"))),
        }
    }

    /// Applies (or, dry, shows) one plan: records or a table on stdout,
    /// people's lines on stderr. `Ok(Code::Failed)` when stdout was closed
    /// before every record was written.
    fn carry_out(&mut self, planned: &Plan, report: &mut Report) -> Result<Code, Error> {
        if self.dry_run {
            planned.check_expected()?;
            let records = planned.dry_run_records();
            let rows: Vec<(TagRecord, &'static str)> = records
                .into_iter()
                .map(|r| {
                    let state = if r.previous.as_deref() == Some(r.digest.as_str()) {
                        "already there"
                    } else {
                        "would move"
                    };
                    (r, state)
                })
                .collect();
            if self.tells() {
                for (r, state) in &rows {
                    note(
                        TOOL,
                        &format!(
                            "{}:{} {state}: {} (now {})",
                            r.image,
                            r.tag,
                            r.digest,
                            r.previous.as_deref().unwrap_or("absent")
                        ),
                    );
                }
            }
            if self.atomic {
                report.verdict = Some(success_verdict(&rows, true));
            }
            return self.show(rows, report);
        }
        match planned.apply(&self.client) {
            Ok(records) => {
                let rows: Vec<(TagRecord, &'static str)> = records
                    .into_iter()
                    .map(|r| {
                        let state = if r.changed { "moved" } else { "already there" };
                        (r, state)
                    })
                    .collect();
                if self.tells() {
                    rows.iter().for_each(|(r, _)| self.human_line(r));
                }
                if self.atomic {
                    report.verdict = Some(success_verdict(&rows, false));
                }
                self.show(rows, report)
            }
            Err(e) => {
                let rows: Vec<(TagRecord, &'static str)> = e
                    .records
                    .iter()
                    .map(|r| (r.clone(), if r.changed { "MOVED" } else { "as before" }))
                    .collect();
                // A closed stdout changes nothing: the run failed anyway.
                self.show(rows, report)?;
                Err(Error::Move(e))
            }
        }
    }

    /// Writes `rows` to stdout and keeps them for the summary and outputs;
    /// `Ok(Code::Failed)` when stdout was closed (the caller says what that
    /// left undone).
    fn show(
        &mut self,
        rows: Vec<(TagRecord, &'static str)>,
        report: &mut Report,
    ) -> Result<Code, Error> {
        // A table needs every row for its widths: it is shown at the end.
        let result = match self.out.format() {
            Format::Table => Ok(()),
            _ => {
                let shown: Vec<(&TagRecord, &str)> = rows.iter().map(|(r, s)| (r, *s)).collect();
                self.out.moved(&shown)
            }
        };
        report.rows.extend(rows);
        match result {
            Err(e) if is_broken_pipe(&e) => Ok(Code::Failed),
            Err(e) => Err(e),
            Ok(()) => Ok(Code::Ok),
        }
    }

    fn human_line(&self, record: &TagRecord) {
        let line = if record.changed {
            format!(
                "{} {}:{} → {} (was {})",
                self.style.good("moved"),
                record.image,
                record.tag,
                record.digest,
                record.previous.as_deref().unwrap_or("a new tag")
            )
        } else {
            format!(
                "{}:{} already at {} (unchanged)",
                record.image, record.tag, record.digest
            )
        };
        say(&format!("{TOOL}: {line}"));
    }

    /// `GITHUB_OUTPUT`: `digest` when the records are of one image,
    /// `digests` (a JSON object image → digest) when of several, `changed`.
    fn outputs(&self, records: &[TagRecord]) -> Result<(), Error> {
        if records.is_empty() {
            return Ok(());
        }
        // Keyed by image; by image:tag when one image's tags point at
        // different digests (then no one digest is "the image's").
        let mut by_image: BTreeMap<String, &str> = BTreeMap::new();
        let mut ambiguous = false;
        for r in records {
            if let Some(seen) = by_image.insert(r.image.clone(), &r.digest) {
                ambiguous |= seen != r.digest;
            }
        }
        let digests: BTreeMap<String, &str> = if ambiguous {
            records
                .iter()
                .map(|r| (format!("{}:{}", r.image, r.tag), r.digest.as_str()))
                .collect()
        } else {
            by_image
        };
        match digests.len() {
            1 => self.ci.set_output("digest", &records[0].digest)?,
            _ => self.ci.set_output(
                "digests",
                &serde_json::to_string(&digests).expect("a map of strings"),
            )?,
        }
        let changed = records.iter().any(|r| r.changed);
        self.ci
            .set_output("changed", if changed { "true" } else { "false" })?;
        Ok(())
    }

    /// The step summary: the verdict first, then every tag with full
    /// digests; and the step outputs of a run that succeeded.
    fn write_summary(&self, report: &Report, succeeded: bool) -> Result<(), Error> {
        if succeeded {
            let records: Vec<TagRecord> = report.rows.iter().map(|(r, _)| r.clone()).collect();
            self.outputs(&records)?;
        }
        let Some(verdict) = &report.verdict else {
            return Ok(());
        };
        // The verdict is our own words (counts, no names): no escaping.
        let mut md = format!("### registry-tag: {verdict}\n\n");
        if !report.rows.is_empty() {
            md.push_str("| tag | digest | before | |\n|---|---|---|---|\n");
            for (r, state) in &report.rows {
                md.push_str(&format!(
                    "| {} | {} | {} | {state} |\n",
                    code_span(&format!("{}:{}", r.image, r.tag)),
                    code_span(&r.digest),
                    r.previous.as_deref().map_or("—".to_string(), code_span),
                ));
            }
        }
        for failure in &report.failed {
            md.push_str(&format!("\n**failed:** {}\n", markdown_text(failure)));
        }
        self.ci.append_summary(&md)?;
        Ok(())
    }
}

/// What a run of moves did, for the step summary and outputs.
#[derive(Debug, Default)]
struct Report {
    /// The first line of the summary.
    verdict: Option<String>,
    rows: Vec<(TagRecord, &'static str)>,
    /// Independent moves that failed (an atomic failure is the verdict).
    failed: Vec<String>,
}

/// The first line of a summary of moves that went through.
fn success_verdict(rows: &[(TagRecord, &str)], dry_run: bool) -> String {
    let moving = rows
        .iter()
        .filter(|(r, s)| r.changed || *s == "would move")
        .count();
    let total = rows.len();
    let tags = |n: usize| if n == 1 { "tag" } else { "tags" };
    match (dry_run, moving) {
        (true, 0) => format!(
            "dry run: every one of {total} {} already in place; nothing changed",
            tags(total)
        ),
        (true, n) => format!(
            "dry run: {n} of {total} {} would move; nothing changed",
            tags(total)
        ),
        (false, 0) => format!(
            "every one of {total} {} already in place; nothing moved",
            tags(total)
        ),
        (false, n) => format!("moved {n} of {total} {}", tags(total)),
    }
}

/// The first line of a summary of an atomic run that failed.
fn failure_verdict(error: &Error) -> String {
    match error {
        Error::Move(MoveError {
            attempted: false, ..
        }) => "FAILED: refused; nothing was changed".into(),
        Error::Move(e) if e.interfered => {
            "FAILED: another writer moved tags during this run; nothing undone".into()
        }
        Error::Move(e) if !e.unrestored.is_empty() => "FAILED: NOT fully restored".into(),
        Error::Move(e) if e.undone > 0 => "FAILED: every tag is back at its previous digest".into(),
        _ => "FAILED: nothing was changed".into(),
    }
}
