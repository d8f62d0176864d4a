//! Moving the tag on every image: all or nothing, verified, reported in the
//! old script's words.

use common::ci::{code_span, markdown_text};
use common::term::{note, say, Style};
use common::Code;
use registry_tag::{plan, Image, Intent, Move, MoveError, Outcome, Plan, TagRecord};

use crate::{Done, Error, Rollback, TOOL};

impl Rollback {
    /// One move per image: `tag` to `source`.
    pub(crate) fn moves(&self, images: &[Image], source: &str) -> Result<Vec<Move>, Error> {
        images
            .iter()
            .map(|image| Move::new(image.clone(), source, &self.tag))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| Error::Registry(e.into()))
    }

    /// Resolves every source and every current tag; nothing changes.
    pub(crate) fn plan(&self, moves: Vec<Move>, intent: Intent) -> Result<Plan, Error> {
        let bad = Style::for_stderr();
        match plan(&self.client, moves, intent) {
            Ok(plan) => Ok(plan),
            Err(registry_tag::Error::Missing(missing)) => {
                for m in &missing {
                    say(&format!("  {} {m}", bad.bad("FAIL:")));
                }
                Err(Error::SourceMissing { missing })
            }
            Err(e) => {
                say(&format!("  {} {e}", bad.bad("FAIL:")));
                Err(e.into())
            }
        }
    }

    pub(crate) fn promote(&mut self, images: &[Image], source: &str) -> Result<Code, Error> {
        let plan = self.plan(self.moves(images, source)?, Intent::Move)?;
        self.apply(&plan, source)
    }

    /// Applies a resolved plan and reports it: the script's lines for every
    /// image, then `=== ROLLBACK COMPLETE ===` — only when every image is
    /// at its target.
    pub(crate) fn apply(&mut self, plan: &Plan, source: &str) -> Result<Code, Error> {
        let records = match plan.apply(&self.client) {
            Ok(records) => records,
            Err(error) => return Err(self.failed(plan, source, error)),
        };
        let n = records.len();
        let moved = records.iter().filter(|r| r.changed).count();
        self.done = Done::Moved(format!(
            "{} points at {source} on {n} image{}",
            self.tag,
            plural(n)
        ));
        let ok = self.report.style().good("OK");
        for record in &records {
            self.report.line(&format!("→ {}", record.image))?;
            self.report.line(&format!(
                "  {ok}   {}:{} → {}",
                record.image, record.tag, record.digest
            ))?;
        }
        self.report.line("")?;
        let complete = self.report.style().bold("=== ROLLBACK COMPLETE ===");
        self.report.line(&complete)?;
        for record in &records {
            self.report.record(record)?;
        }
        if moved == 0 {
            note(
                TOOL,
                &format!(
                    "{} already points at {source} on every image; nothing to do",
                    self.tag
                ),
            );
        } else {
            for record in records.iter().filter(|r| r.changed) {
                let was = record.previous.as_deref().unwrap_or("nothing (a new tag)");
                note(TOOL, &format!("{}:{} was {was}", record.image, record.tag));
            }
        }
        let verdict = format!(
            "{} {} {} on {n} image{}",
            markdown_text(&self.tag),
            if moved == 0 { "already at" } else { "→" },
            code_span(source),
            plural(n)
        );
        self.summary(&verdict, plan, &records)?;
        self.outputs(&records, moved > 0)?;
        Ok(Code::Ok)
    }

    /// Reports a move that failed or was refused, and turns it into the error.
    fn failed(&mut self, plan: &Plan, source: &str, error: MoveError) -> Error {
        let style = Style::for_stderr();
        say(&format!("  {} {error}", style.bad("FAIL:")));
        let restored = error
            .outcomes
            .iter()
            .all(|o| matches!(o, Outcome::AsBefore));
        for (step, outcome) in plan.steps().iter().zip(&error.outcomes) {
            let image = &step.image().name;
            let now = |d: &Option<String>| d.clone().unwrap_or_else(|| "nothing".into());
            say(&format!(
                "  {image}:{} → {}",
                step.tag(),
                match outcome {
                    Outcome::AsBefore => format!(
                        "{} (as before)",
                        step.current().unwrap_or("nothing (it does not exist)")
                    ),
                    Outcome::NotRestored { now: d } => format!("{} (MOVED, not restored)", now(d)),
                    Outcome::ChangedUnderUs { now: d } =>
                        format!("{} (moved by another writer during this run)", now(d)),
                }
            ));
        }
        say("");
        if error.attempted {
            say(&style.bad("=== ROLLBACK FAILED ==="));
        } else {
            say(&style.bad("=== ROLLBACK REFUSED: nothing was changed ==="));
        }
        self.done = Done::Failed(format!("moving {} to {source} failed", self.tag));
        // The records say where every tag is now; a closed stdout must not
        // hide the failure itself, which the exit status carries.
        for record in &error.records {
            if self.report.record(record).is_err() {
                break;
            }
        }
        let verdict = format!(
            "FAILED: {} → {} not done; {}",
            markdown_text(&self.tag),
            code_span(source),
            if restored {
                "every image as before"
            } else {
                "NOT fully restored"
            }
        );
        let reported = self
            .summary(&verdict, plan, &error.records)
            .and_then(|()| self.outputs(&error.records, !restored));
        if let Err(e) = reported {
            say(&format!("{TOOL}: {e}"));
        }
        if !error.attempted {
            return Error::Refused {
                tag: self.tag.clone(),
                source_tag: source.to_string(),
                error: Box::new(error),
            };
        }
        Error::Move {
            tag: self.tag.clone(),
            source_tag: source.to_string(),
            error: Box::new(error),
        }
    }

    /// The step summary: the verdict first, then every image's tag before
    /// and now, digests in full.
    fn summary(&self, verdict: &str, plan: &Plan, after: &[TagRecord]) -> Result<(), Error> {
        let mut md = format!("### {TOOL}: {verdict}\n\n| image | before | now |\n|---|---|---|\n");
        for step in plan.steps() {
            let name = &step.image().name;
            let before = step.current().map_or("—".to_string(), code);
            let now = after
                .iter()
                .find(|r| &r.image == name)
                .map_or("—".to_string(), |r| code(&r.digest));
            md.push_str(&format!("| {} | {before} | {now} |\n", code_span(name)));
        }
        self.ci.append_summary(&md)?;
        Ok(())
    }

    /// `GITHUB_OUTPUT`: `digest` (one image) or `digests` (a JSON object,
    /// image → digest) where each tag points now, and `changed`.
    pub(crate) fn outputs(&self, records: &[TagRecord], changed: bool) -> Result<(), Error> {
        match records {
            [one] => self.ci.set_output("digest", &one.digest)?,
            _ => {
                let digests: serde_json::Map<String, serde_json::Value> = records
                    .iter()
                    .map(|r| (r.image.clone(), r.digest.clone().into()))
                    .collect();
                self.ci
                    .set_output("digests", &serde_json::Value::Object(digests).to_string())?;
            }
        }
        self.ci
            .set_output("changed", if changed { "true" } else { "false" })?;
        Ok(())
    }
}

fn code(digest: &str) -> String {
    code_span(digest)
}

pub(crate) fn plural(n: usize) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}
