//! `--dry-run` and `--list`: look, change nothing.

use std::cmp::Ordering;
use std::collections::HashMap;
use std::ops::ControlFlow;

use common::term::note;
use common::Code;
use registry_tag::{Image, Intent, Plan, TagRecord};
use serde::Serialize;

use crate::{Error, Rollback};

/// One `--list` record: a tag record plus whether `latest` points there and
/// when the image was built (`null` when its config does not say).
#[derive(Debug, Serialize)]
struct ListRecord<'a> {
    #[serde(flatten)]
    record: &'a TagRecord,
    latest: bool,
    created: Option<&'a str>,
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

    /// Each image's staging tags, newest first by the image's creation
    /// time, at most `limit` per image, marking the one the tag points at.
    /// Requests: per image a HEAD of the tag and the tag list; per staging
    /// tag a HEAD; per distinct digest its creation time (two or three
    /// GETs). All of them at most [`JOBS`] at a time.
    pub(crate) fn list(
        &mut self,
        images: &[Image],
        prefix: &str,
        limit: usize,
    ) -> Result<Code, Error> {
        // Per image: where the tag points, and the staging tags.
        let heads = in_pool(images.iter().enumerate(), |(i, image)| {
            let latest = image
                .tag(&self.tag)
                .map_err(registry_tag::Error::from)
                .and_then(|r| self.client.resolve_optional(&r))?
                .map(|r| r.digest);
            let tags: Vec<String> = self
                .client
                .list_tags(image)?
                .into_iter()
                .filter(|t| t.starts_with(prefix))
                .collect();
            Ok::<_, Error>((i, latest, tags))
        })?;
        let mut latest = vec![None; images.len()];
        let mut wanted: Vec<(usize, String)> = Vec::new();
        for (i, digest, tags) in heads {
            latest[i] = digest;
            wanted.extend(tags.into_iter().map(|t| (i, t)));
        }
        // Per staging tag: its digest (gone since the listing: skipped).
        let resolved = in_pool(wanted.into_iter(), |(i, tag)| {
            let reference = images[i].tag(&tag).map_err(registry_tag::Error::from)?;
            let digest = self.client.resolve_optional(&reference)?.map(|r| r.digest);
            Ok::<_, Error>(digest.map(|d| (i, tag, d)))
        })?;
        let resolved: Vec<(usize, String, String)> = resolved.into_iter().flatten().collect();
        // Per distinct image and digest: when it was built.
        let mut digests: Vec<(usize, String)> =
            resolved.iter().map(|(i, _, d)| (*i, d.clone())).collect();
        digests.sort();
        digests.dedup();
        let created: HashMap<(usize, String), Option<String>> =
            in_pool(digests.into_iter(), |(i, digest)| {
                let created = self.client.created(&images[i], &digest)?;
                Ok::<_, Error>(((i, digest), created))
            })?
            .into_iter()
            .collect();

        let mut rows = vec![header(&["", "IMAGE", "TAG", "CREATED", "DIGEST", ""])];
        let mut listed = 0;
        let mut notes = Vec::new();
        for (i, image) in images.iter().enumerate() {
            let mut entries: Vec<Entry> = resolved
                .iter()
                .filter(|(j, _, _)| *j == i)
                .map(|(_, tag, digest)| Entry {
                    created: created[&(i, digest.clone())].clone(),
                    tag: tag.clone(),
                    digest: digest.clone(),
                })
                .collect();
            entries.sort_by(newest_first);
            let latest = latest[i].as_deref();
            let marked = entries
                .iter()
                .position(|e| Some(e.digest.as_str()) == latest);
            if entries.len() > limit {
                notes.push(format!(
                    "{}: {} older {prefix}* tag{} not shown (--limit {limit})",
                    image.name,
                    entries.len() - limit,
                    crate::promote::plural(entries.len() - limit)
                ));
            }
            for entry in entries.iter().take(limit) {
                let is_latest = Some(entry.digest.as_str()) == latest;
                let record = TagRecord::current(&image.name, &entry.tag, &entry.digest);
                self.report.record(&ListRecord {
                    record: &record,
                    latest: is_latest,
                    created: entry.created.as_deref(),
                })?;
                rows.push(vec![
                    if is_latest { "*" } else { "" }.to_string(),
                    image.name.clone(),
                    entry.tag.clone(),
                    entry.created.clone().unwrap_or_else(|| "?".into()),
                    entry.digest.clone(),
                    if is_latest {
                        format!("← {}", self.tag)
                    } else {
                        String::new()
                    },
                ]);
                listed += 1;
            }
            match (latest, marked) {
                (None, _) => notes.push(format!("{}:{} does not exist", image.name, self.tag)),
                (Some(d), None) => notes.push(format!(
                    "{}:{} is at {d}, which no {prefix}* tag has",
                    image.name, self.tag
                )),
                (Some(_), Some(m)) if m >= limit => notes.push(format!(
                    "{}:{} is at {}, older than the {limit} shown",
                    image.name, self.tag, entries[m].tag
                )),
                _ => {}
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

/// Registry lookups at once, at most.
pub const JOBS: usize = 8;

/// Runs `work` over `inputs` on the shared bounded pool; the first error
/// stops it. Results come back in completion order.
fn in_pool<T: Send, R: Send>(
    inputs: impl Iterator<Item = T> + Send,
    work: impl Fn(T) -> Result<R, Error> + Sync,
) -> Result<Vec<R>, Error> {
    let mut results = Vec::new();
    let mut failure = None;
    common::pool::run(JOBS, inputs, work, |result| match result {
        Ok(r) => {
            results.push(r);
            ControlFlow::Continue(())
        }
        Err(e) => {
            failure = Some(e);
            ControlFlow::Break(())
        }
    });
    match failure {
        Some(e) => Err(e),
        None => Ok(results),
    }
}

/// One staging tag of one image.
#[derive(Debug)]
struct Entry {
    tag: String,
    digest: String,
    created: Option<String>,
}

/// Newest first; images that say nothing about their age last; then by tag.
fn newest_first(a: &Entry, b: &Entry) -> Ordering {
    let key = |e: &Entry| e.created.as_deref().and_then(instant);
    match (key(a), key(b)) {
        (Some(x), Some(y)) => y.cmp(&x),
        (Some(_), None) => Ordering::Less,
        (None, Some(_)) => Ordering::Greater,
        (None, None) => Ordering::Equal,
    }
    .then_with(|| a.tag.cmp(&b.tag))
}

/// An RFC 3339 time (`2026-11-23T09:14:03.5+01:00`) as (seconds since the
/// epoch, nanoseconds), for ordering; `None` if it is not one.
fn instant(text: &str) -> Option<(i64, u32)> {
    let b = text.as_bytes();
    let num = |r: std::ops::Range<usize>| -> Option<i64> {
        let s = text.get(r)?;
        s.bytes()
            .all(|c| c.is_ascii_digit())
            .then(|| s.parse().ok())?
    };
    if b.len() < 20 || b[4] != b'-' || b[7] != b'-' || !matches!(b[10], b'T' | b't' | b' ') {
        return None;
    }
    let (year, month, day) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (hour, minute, second) = (num(11..13)?, num(14..16)?, num(17..19)?);
    let mut rest = &text[19..];
    let mut nanos = 0u32;
    if let Some(frac) = rest.strip_prefix('.') {
        let digits = frac.bytes().take_while(u8::is_ascii_digit).count();
        let padded = format!("{:0<9}", &frac[..digits.min(9)]);
        nanos = padded.parse().ok()?;
        rest = &frac[digits..];
    }
    let offset = match rest {
        "Z" | "z" => 0,
        _ if rest.len() == 6 && matches!(&rest[..1], "+" | "-") && &rest[3..4] == ":" => {
            let minutes = rest[1..3].parse::<i64>().ok()? * 60 + rest[4..6].parse::<i64>().ok()?;
            if rest.starts_with('-') {
                -minutes
            } else {
                minutes
            }
        }
        _ => return None,
    };
    // Days from the civil date (Howard Hinnant's algorithm).
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    let seconds = days * 86_400 + hour * 3600 + minute * 60 + second - offset * 60;
    Some((seconds, nanos))
}

fn header(cells: &[&str]) -> Vec<String> {
    cells.iter().map(|c| c.to_string()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339_times_order_across_offsets_and_fractions() {
        assert_eq!(instant("1970-01-01T00:00:00Z"), Some((0, 0)));
        assert_eq!(
            instant("1970-01-02T00:00:00.5Z"),
            Some((86_400, 500_000_000))
        );
        assert_eq!(
            instant("2026-11-23T10:00:00+01:00"),
            instant("2026-11-23T09:00:00Z")
        );
        assert!(instant("2026-11-23T09:00:00.25Z") > instant("2026-11-23T09:00:00Z"));
        assert_eq!(instant("yesterday"), None);
        assert_eq!(instant("2026-11-23"), None);
    }

    #[test]
    fn newest_first_then_unknown_ages_by_tag() {
        let e = |tag: &str, created: Option<&str>| Entry {
            tag: tag.into(),
            digest: String::new(),
            created: created.map(str::to_string),
        };
        let mut entries = [
            e("staging-b", None),
            e("staging-old", Some("2026-01-01T00:00:00Z")),
            e("staging-a", None),
            e("staging-new", Some("2026-02-01T00:00:00+05:00")),
        ];
        entries.sort_by(newest_first);
        let tags: Vec<&str> = entries.iter().map(|e| e.tag.as_str()).collect();
        assert_eq!(
            tags,
            ["staging-new", "staging-old", "staging-a", "staging-b"]
        );
    }
}
