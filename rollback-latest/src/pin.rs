//! Pinned promote: `--pin <sha>` writes down exactly which manifests the
//! gate is testing and where `latest` is at that moment; `--pinned FILE`
//! later moves `latest` to those manifests, all-or-nothing, and only if no
//! `latest` moved in between. The file is also a valid `registry-tag
//! --atomic` request stream.

use std::path::Path;

use common::jsonl::{open, Records};
use common::term::{say, Style};
use common::Code;
use registry_tag::{check_digest, Expect, Image, Intent, Move, Plan, TagRecord};
use serde::Serialize;
use serde_json::{Map, Value};

use crate::{Error, Rollback};

/// One line of a pin file: a move request for `registry-tag --atomic` too.
#[derive(Debug, Serialize)]
struct PinRecord<'a> {
    image: &'a str,
    tag: &'a str,
    digest: &'a str,
    source: &'a str,
    /// `null`: the tag must not exist yet.
    expect_current: Option<&'a str>,
}

/// Fields of tag records that describe an outcome, not a request: ignored
/// on input, as `registry-tag` ignores them.
const OUTPUT_ONLY: [&str; 4] = ["changed", "previous", "dry_run", "latest"];

impl Rollback {
    /// Resolves `source` and the tag on every image and prints the pin;
    /// changes nothing.
    pub(crate) fn pin(&mut self, images: &[Image], source: &str) -> Result<Code, Error> {
        let plan = self.plan(self.moves(images, source)?, Intent::DryRun)?;
        let mut lines = Vec::new();
        for step in plan.steps() {
            say(&format!("→ {}", step.image().name));
            say(&format!(
                "  pinned {}:{source} = {}; {} is at {}",
                step.image().name,
                step.digest(),
                step.tag(),
                step.current().unwrap_or("nothing (it does not exist)")
            ));
            let record = PinRecord {
                image: &step.image().name,
                tag: step.tag(),
                digest: step.digest(),
                source,
                expect_current: step.current(),
            };
            self.report.record(&record)?;
            lines.push(
                serde_json::to_string(&record)
                    .map_err(|e| Error::Common(common::Error::Output(std::io::Error::other(e))))?,
            );
        }
        self.ci.set_output("pinned", &lines.join("\n"))?;
        let records: Vec<TagRecord> = plan.dry_run_records();
        self.outputs(&records, false)?;
        Ok(Code::Ok)
    }

    /// Applies a pin file: every move or none, refused if any tag is no
    /// longer where the pin found it — unless it is already at its pinned
    /// digest (the pin was applied before: a re-run is a no-op, not a failure).
    pub(crate) fn pinned(&mut self, path: &Path, dry_run: bool) -> Result<Code, Error> {
        let pins = read_pins(path, &self.tag)?;
        let (moves, expected): (Vec<Move>, Vec<Expect>) = pins.into_iter().unzip();
        // REGISTRY_USERNAME/PASSWORD go only to the registry of these images.
        self.client
            .bind_env_credentials(moves.iter().map(Move::image));
        let label = common_source(&moves);
        let intent = if dry_run {
            Intent::DryRun
        } else {
            Intent::Move
        };
        let plan = self.plan(moves, intent)?;
        if let Err(moved) = check_pins(&plan, &expected) {
            let style = Style::for_stderr();
            say(&format!("  {} {moved}", style.bad("FAIL:")));
            say("");
            say(&style.bad("=== ROLLBACK REFUSED: nothing was changed ==="));
            return Err(Error::PinMoved(moved));
        }
        if dry_run {
            self.show_plan(&plan, &label)?;
            return Ok(Code::Ok);
        }
        self.apply(&plan, &label)
    }
}

/// Every tag is where its pin found it, or already at its pinned digest.
/// (Between this reading and the writes, `Plan::apply` refuses any tag that
/// moves, and its read-back catches a writer racing the writes.)
fn check_pins(plan: &Plan, expected: &[Expect]) -> Result<(), registry_tag::Error> {
    for (step, expect) in plan.steps().iter().zip(expected) {
        let holds = match expect {
            Expect::Absent => step.current().is_none(),
            Expect::Digest(d) => step.current() == Some(d.as_str()),
        };
        if !holds && !step.is_noop() {
            return Err(registry_tag::Error::NotExpected {
                reference: step.request().destination().to_string(),
                current: step
                    .current()
                    .unwrap_or("nothing (the tag does not exist)")
                    .to_string(),
                expected: expect.to_string(),
            });
        }
    }
    Ok(())
}

/// `staging-4c1d56e` when every move names the same source, otherwise
/// "the pinned digests".
fn common_source(moves: &[Move]) -> String {
    match moves.split_first() {
        Some((first, rest)) if rest.iter().all(|m| m.source() == first.source()) => {
            first.source().to_string()
        }
        _ => "the pinned digests".to_string(),
    }
}

/// Reads and checks every line before anything is resolved: a bad line is
/// exit 2 naming the file and line, and nothing moves.
fn read_pins(path: &Path, tag: &str) -> Result<Vec<(Move, Expect)>, Error> {
    let (reader, name) = open(Some(path))?;
    let mut records = Records::<_, Map<String, Value>>::new(reader, name.clone());
    let mut moves: Vec<((Move, Expect), u64)> = Vec::new();
    while let Some(record) = records.next() {
        let line = records.line();
        let bad = |message: String| {
            Error::Common(common::Error::Input {
                source_name: name.clone(),
                line,
                message,
            })
        };
        let mv = pin_move(record?, tag).map_err(bad)?;
        if let Some((_, earlier)) = moves
            .iter()
            .find(|((m, _), _)| m.image().canonical() == mv.0.image().canonical())
        {
            return Err(bad(format!(
                "{} is pinned twice (also on line {earlier})",
                mv.0.image().name
            )));
        }
        moves.push((mv, line));
    }
    if moves.is_empty() {
        return Err(Error::Common(common::Error::Input {
            source_name: name,
            line: 0,
            message: "no pinned moves: make the file with rollback-latest --pin <sha>".into(),
        }));
    }
    Ok(moves.into_iter().map(|(m, _)| m).collect())
}

/// One request line into a move of `tag` to an exact digest, and where the
/// pin found the tag.
fn pin_move(mut fields: Map<String, Value>, tag: &str) -> Result<(Move, Expect), String> {
    let has_expect = fields.contains_key("expect_current");
    let mut text = |key: &str| -> Result<Option<String>, String> {
        match fields.remove(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(s)),
            Some(other) => Err(format!(
                "\"{key}\" must be a string, not {}",
                common::jsonl::kind_of(&other)
            )),
        }
    };
    let image = text("image")?.ok_or("missing field \"image\"")?;
    let pinned_tag = text("tag")?.ok_or("missing field \"tag\"")?;
    let digest = text("digest")?.ok_or(
        "missing field \"digest\": a pin names the exact manifest (rollback-latest --pin)",
    )?;
    let source = text("source")?;
    let expect = text("expect_current")?;
    if !has_expect {
        return Err(
            "missing field \"expect_current\" (a digest, or null when the tag did not exist): a pin records where the tag was"
                .into(),
        );
    }
    if pinned_tag != tag {
        return Err(format!(
            "tag {pinned_tag:?} is not {tag:?}: a pin moves only {tag}"
        ));
    }
    check_digest(&digest).map_err(|e| format!("digest {digest:?}: {e}"))?;
    let expect = match expect {
        None => Expect::Absent,
        Some(d) => {
            check_digest(&d).map_err(|e| format!("expect_current {d:?}: {e}"))?;
            Expect::Digest(d)
        }
    };
    let image = Image::parse(&image).map_err(|e| e.to_string())?;
    for key in OUTPUT_ONLY {
        fields.remove(key);
    }
    let mv = Move::new(image, &digest, tag)
        .map_err(|e| e.to_string())?
        .with_extra(fields);
    let mv = match source {
        Some(source) => mv.labelled(&source),
        None => mv,
    };
    Ok((mv, expect))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const D1: &str = "sha256:1111111111111111111111111111111111111111111111111111111111111111";
    const D2: &str = "sha256:2222222222222222222222222222222222222222222222222222222222222222";

    fn fields(value: Value) -> Map<String, Value> {
        value.as_object().unwrap().clone()
    }

    #[test]
    fn a_pin_line_becomes_an_expecting_move() {
        let (mv, expect) = pin_move(
            fields(json!({"image":"ghcr.io/o/p","tag":"latest","digest":D1,"source":"staging-4c1d56e","expect_current":D2,"changed":false,"run":7})),
            "latest",
        )
        .unwrap();
        assert_eq!(mv.source(), "staging-4c1d56e");
        assert_eq!(expect, Expect::Digest(D2.into()));
        let (mv, expect) = pin_move(
            fields(json!({"image":"ghcr.io/o/p","tag":"latest","digest":D1,"expect_current":null})),
            "latest",
        )
        .unwrap();
        assert_eq!((mv.source(), expect), (D1, Expect::Absent));
    }

    #[test]
    fn a_pin_line_must_say_everything() {
        for (value, says) in [
            (
                json!({"image":"o/p","tag":"latest","digest":D1}),
                "expect_current",
            ),
            (
                json!({"image":"o/p","tag":"latest","expect_current":null}),
                "digest",
            ),
            (
                json!({"image":"o/p","tag":"stable","digest":D1,"expect_current":null}),
                "only latest",
            ),
            (
                json!({"image":"o/p","tag":"latest","digest":"sha256:12","expect_current":null}),
                "digest",
            ),
            (
                json!({"tag":"latest","digest":D1,"expect_current":null}),
                "image",
            ),
        ] {
            let err = pin_move(fields(value), "latest").unwrap_err();
            assert!(err.contains(says), "{err}");
        }
    }
}
