//! The tag record (DESIGN.md "Records"), shared with `rollback-latest`.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// `{"image","tag","digest","previous","source","changed"}`; one per tag
/// resolved, listed or moved, plus any field the move request carried that
/// registry-tag does not know (passed through).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TagRecord {
    /// The image as written by the user, without tag or digest.
    pub image: String,
    pub tag: String,
    /// What the tag points at now (for a dry run: what it would point at).
    pub digest: String,
    /// What the tag pointed at before a move; `null` when it did not exist
    /// or nothing was moved.
    pub previous: Option<String>,
    /// The tag or digest the tag was moved to; `null` for a resolve or list.
    pub source: Option<String>,
    /// Whether this run changed the tag.
    pub changed: bool,
    /// Present and true only on `--dry-run` records: nothing was changed.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub dry_run: bool,
    /// Fields of the move request this record answers that registry-tag
    /// does not know, passed through unchanged.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl TagRecord {
    /// A tag as it is: where it points, nothing moved (resolve and list).
    pub fn current(image: &str, tag: &str, digest: &str) -> TagRecord {
        TagRecord {
            image: image.to_string(),
            tag: tag.to_string(),
            digest: digest.to_string(),
            previous: None,
            source: None,
            changed: false,
            dry_run: false,
            extra: Map::new(),
        }
    }
}
