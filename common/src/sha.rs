//! A git commit sha as people type it: 7 to 40 hex characters in any case,
//! kept in lowercase. The one rule for `--sha` and `rollback-latest <sha>`.

use std::fmt;
use std::str::FromStr;

use serde::{Serialize, Serializer};

/// Shortest sha accepted (git's default abbreviation).
pub const MIN_LEN: usize = 7;
/// A full sha-1 commit id.
pub const MAX_LEN: usize = 40;

/// A commit sha, 7–40 lowercase hex characters.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Sha(String);

impl Sha {
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The first seven characters, as in `staging-<sha7>` tags.
    pub fn short(&self) -> &str {
        &self.0[..MIN_LEN]
    }

    /// Whether a build sha reported by a server is this commit: equal, or one
    /// is a prefix of the other, ignoring case. A report shorter than
    /// seven characters never matches (`4` is not a build).
    pub fn matches(&self, reported: &str) -> bool {
        let reported = reported.trim();
        if reported.len() < MIN_LEN {
            return false;
        }
        let n = reported.len().min(self.0.len());
        reported.is_char_boundary(n) && reported[..n].eq_ignore_ascii_case(&self.0[..n])
    }
}

impl FromStr for Sha {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let valid = (MIN_LEN..=MAX_LEN).contains(&text.len())
            && text.bytes().all(|b| b.is_ascii_hexdigit());
        if valid {
            Ok(Sha(text.to_ascii_lowercase()))
        } else {
            Err(format!(
                "{text:?} is not a commit sha: use {MIN_LEN} to {MAX_LEN} hex characters"
            ))
        }
    }
}

impl fmt::Display for Sha {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl AsRef<str> for Sha {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl Serialize for Sha {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_any_case_and_stores_lowercase() {
        let sha: Sha = "4C1D56E".parse().unwrap();
        assert_eq!(sha.as_str(), "4c1d56e");
        assert_eq!(sha.to_string(), "4c1d56e");
        let full: Sha = "4c1d56e0123456789abcdef0123456789abcdef0".parse().unwrap();
        assert_eq!(full.short(), "4c1d56e");
        assert_eq!(serde_json::to_string(&full).unwrap().len(), 42);
    }

    #[test]
    fn rejects_what_is_not_a_sha() {
        let err = "4c1d56x".parse::<Sha>().unwrap_err();
        assert_eq!(
            err,
            "\"4c1d56x\" is not a commit sha: use 7 to 40 hex characters"
        );
        for bad in [
            "",
            "4c1d56",
            "latest",
            "staging-4c1d56e",
            &"a".repeat(41),
            "4c1d56é",
        ] {
            assert!(bad.parse::<Sha>().is_err(), "{bad}");
        }
    }

    #[test]
    fn matches_prefixes_either_way_in_any_case() {
        let sha: Sha = "4c1d56e".parse().unwrap();
        assert!(sha.matches("4c1d56e"));
        assert!(sha.matches("4C1D56E0123456789abcdef0123456789abcdef0"));
        assert!(!sha.matches("9e8d7c6"));
        assert!(!sha.matches(""));
        assert!(!sha.matches("4c1d"));
        let full: Sha = "4c1d56e0123456789abcdef0123456789abcdef0".parse().unwrap();
        assert!(full.matches("4c1d56e"));
        assert!(!full.matches("4c1d56f"));
    }
}
