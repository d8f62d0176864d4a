//! `--dry-run` and `--list`: look, change nothing.

use common::term::note;
use common::Code;
use registry_tag::{Image, Intent, Plan, TagRecord};
use serde::Serialize;

use crate::{Error, Rollback};

/// One `--list` record: a tag record plus whether `latest` points there.
#[derive(Debug, Serialize)]
struct ListRecord<'a> {
    #[serde(flatten)]
    record: &'a TagRecord,
    latest: bool,
}

impl Rollback {
    pub(crate) fn dry_run(&mut self, images: &[Image], source: &str) -> Result<Code, Error> {
        let plan = self.plan(self.moves(images, source)?, Intent::DryRun)?;
        self.show_plan(&plan, source)?;
        Ok(Code::Ok)
    }

    /// What applying `plan` would do: a table for people or dry-run records.
    pub(crate) fn show_plan(&mut self, plan: &Plan, source: &str) -> Result<(), Error> {
        let records = plan.dry_run_records();
        if self.report.shows_lines() {
            let mut rows = vec![header(&["IMAGE", "TAG", "NOW", "WOULD POINT AT", ""])];
            for (step, record) in plan.steps().iter().zip(&records) {
                rows.push(vec![
                    record.image.clone(),
                    record.tag.clone(),
                    step.current().unwrap_or("(none)").to_string(),
                    record.digest.clone(),
                    if step.is_noop() {
                        format!("already there ({source})")
                    } else {
                        format!("← {}", step.source())
                    },
                ]);
            }
            self.report.table(&rows)?;
            self.report.line("")?;
            self.report.line("=== DRY RUN: nothing was changed ===")?;
        }
        for record in &records {
            self.report.record(record)?;
        }
        Ok(())
    }

    pub(crate) fn list(&mut self, images: &[Image], prefix: &str) -> Result<Code, Error> {
        let mut listed = 0;
        let mut rows = vec![header(&["", "IMAGE", "TAG", "DIGEST", ""])];
        let mut notes = Vec::new();
        for image in images {
            let latest = self
                .client
                .resolve_optional(&image.tag(&self.tag).map_err(registry_tag::Error::from)?)?
                .map(|r| r.digest);
            let mut tags: Vec<String> = self
                .client
                .list_tags(image)?
                .into_iter()
                .filter(|t| t.starts_with(prefix))
                .collect();
            tags.sort();
            let mut latest_seen = false;
            for tag in tags {
                let reference = image.tag(&tag).map_err(registry_tag::Error::from)?;
                let Some(resolved) = self.client.resolve_optional(&reference)? else {
                    continue; // deleted between the listing and the HEAD
                };
                let is_latest = latest.as_deref() == Some(resolved.digest.as_str());
                latest_seen |= is_latest;
                let record = TagRecord::current(&image.name, &tag, &resolved.digest);
                self.report.record(&ListRecord {
                    record: &record,
                    latest: is_latest,
                })?;
                rows.push(vec![
                    if is_latest { "*" } else { "" }.to_string(),
                    image.name.clone(),
                    tag,
                    resolved.digest,
                    if is_latest {
                        format!("← {}", self.tag)
                    } else {
                        String::new()
                    },
                ]);
                listed += 1;
            }
            match latest {
                None => notes.push(format!("{}:{} does not exist", image.name, self.tag)),
                Some(d) if !latest_seen => notes.push(format!(
                    "{}:{} is at {d}, which no {prefix}* tag has",
                    image.name, self.tag
                )),
                Some(_) => {}
            }
        }
        if listed == 0 {
            return Err(Error::NothingListed {
                prefix: prefix.to_string(),
            });
        }
        self.report.table(&rows)?;
        for line in notes {
            note(crate::TOOL, &line);
        }
        Ok(Code::Ok)
    }
}

fn header(cells: &[&str]) -> Vec<String> {
    cells.iter().map(|c| c.to_string()).collect()
}
