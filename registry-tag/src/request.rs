//! Move requests on stdin: any record with `image` and `tag` and a target,
//! so tag records registry-tag (or rollback-latest) printed come back in.
//!
//! - `source`: a tag or digest of the same image, resolved now; or
//! - `digest`: exactly this manifest. A `source` tag beside it only names
//!   where the digest came from (a pinned record); a `source` digest must
//!   be the same digest.
//! - `expect_current`: a digest, or `null` for "the tag must not exist";
//!   absent means `--expect-current` (if given) applies.
//! - `changed`, `previous`, `dry_run`, `latest` are output fields: ignored.
//! - Any other field is passed through to the output record.

use serde::{Deserialize, Deserializer};
use serde_json::{Map, Value};

use crate::plan::{Expect, Move};
use crate::reference::{check_digest, Image, Target};

/// Fields of tag records that describe a result, not a request.
const OUTPUT_ONLY: [&str; 4] = ["changed", "previous", "dry_run", "latest"];

/// One request line as written.
#[derive(Debug, Deserialize)]
pub struct Request {
    image: String,
    tag: String,
    #[serde(default)]
    source: Option<String>,
    #[serde(default)]
    digest: Option<String>,
    /// Absent: `None`; `null`: `Some(None)`.
    #[serde(default, deserialize_with = "present")]
    expect_current: Option<Option<String>>,
    #[serde(flatten)]
    extra: Map<String, Value>,
}

fn present<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Option<String>>, D::Error> {
    Option::<String>::deserialize(d).map(Some)
}

impl Request {
    /// The move this request asks for, or why it is not one (the caller
    /// adds the line).
    pub fn into_move(mut self) -> Result<Move, String> {
        let image = Image::parse(&self.image).map_err(|e| e.to_string())?;
        let mv = match (self.source.as_deref(), self.digest.as_deref()) {
            (None, None) => {
                return Err(format!(
                    "{}:{} has no target: give \"source\" (a tag or digest) or \"digest\"",
                    self.image, self.tag
                ))
            }
            (Some(source), None) => {
                Move::new(image, source, &self.tag).map_err(|e| e.to_string())?
            }
            (source, Some(digest)) => {
                check_digest(digest).map_err(|e| format!("\"digest\": {e}"))?;
                let mv = Move::new(image.clone(), digest, &self.tag).map_err(|e| e.to_string())?;
                match source.map(|s| image.target(s).map(|r| r.target)) {
                    None => mv,
                    Some(Err(e)) => return Err(format!("\"source\": {e}")),
                    Some(Ok(Target::Digest(d))) if d == digest => mv,
                    Some(Ok(Target::Digest(d))) => {
                        return Err(format!(
                            "\"source\" {d} and \"digest\" {digest} disagree: give one of them"
                        ))
                    }
                    Some(Ok(Target::Tag(t))) => mv.labelled(&t),
                }
            }
        };
        let mv = match self.expect_current {
            None => mv,
            Some(None) => mv.expecting(Expect::Absent),
            Some(Some(d)) => {
                check_digest(&d).map_err(|e| format!("\"expect_current\": {e}"))?;
                mv.expecting(Expect::Digest(d))
            }
        };
        for field in OUTPUT_ONLY {
            self.extra.remove(field);
        }
        Ok(mv.with_extra(self.extra))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const D1: &str = "sha256:1111111111111111111111111111111111111111111111111111111111111111";
    const D2: &str = "sha256:2222222222222222222222222222222222222222222222222222222222222222";

    fn parse(json: &str) -> Result<Move, String> {
        serde_json::from_str::<Request>(json)
            .map_err(|e| e.to_string())?
            .into_move()
    }

    #[test]
    fn a_tag_record_is_a_request() {
        let mv = parse(&format!(
            r#"{{"image":"r.io/a","tag":"latest","digest":"{D1}","previous":null,"source":null,"changed":false,"region":"eu"}}"#
        ))
        .unwrap();
        assert_eq!(mv.source(), D1);
        assert_eq!(mv.expected(), None);
    }

    #[test]
    fn a_pinned_record_moves_to_its_digest_named_by_its_tag() {
        let mv = parse(&format!(
            r#"{{"image":"r.io/a","tag":"latest","digest":"{D1}","source":"staging-abc","expect_current":null}}"#
        ))
        .unwrap();
        assert_eq!(mv.source_reference().to_string(), format!("r.io/a@{D1}"));
        assert_eq!(mv.source(), "staging-abc");
        assert_eq!(mv.expected(), Some(&Expect::Absent));
    }

    #[test]
    fn bad_combinations_are_refused() {
        let both = format!(r#"{{"image":"r.io/a","tag":"t","digest":"{D1}","source":"{D2}"}}"#);
        assert!(parse(&both).unwrap_err().contains("disagree"));
        let neither = r#"{"image":"r.io/a","tag":"t"}"#;
        assert!(parse(neither).unwrap_err().contains("no target"));
        let bad = r#"{"image":"r.io/a","tag":"t","digest":"sha256:abc"}"#;
        assert!(parse(bad).unwrap_err().starts_with("\"digest\""));
        let bad = format!(r#"{{"image":"r.io/a","tag":"t","digest":"{D1}","expect_current":"x"}}"#);
        assert!(parse(&bad).unwrap_err().starts_with("\"expect_current\""));
    }
}
