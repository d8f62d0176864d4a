//! The commit sha argument: the one thing an operator types at 3 a.m.

/// Length of the short sha that staging tags carry.
pub const SHORT: usize = 7;

/// Checks `input` and returns the 7-character short sha it selects.
pub fn short_sha(input: &str) -> Result<String, String> {
    let hint = "give 7 to 40 lowercase hex characters of the build's commit sha, like 4c1d56e";
    if input.is_empty() {
        return Err(format!("the sha is empty: {hint}"));
    }
    if let Some(rest) = input.strip_prefix("staging-") {
        return Err(format!(
            "{input:?} is a tag, not a sha: give just the sha ({rest:?}) and staging- is added"
        ));
    }
    if input.chars().all(|c| c.is_ascii_hexdigit()) && input.chars().any(|c| c.is_ascii_uppercase())
    {
        return Err(format!(
            "{input:?} has uppercase letters: staging tags use the lowercase sha ({:?})",
            input.to_ascii_lowercase()
        ));
    }
    if !input.chars().all(|c| matches!(c, '0'..='9' | 'a'..='f')) {
        return Err(format!("{input:?} is not a commit sha: {hint}"));
    }
    if !(SHORT..=40).contains(&input.len()) {
        return Err(format!("{input:?} has {} characters: {hint}", input.len()));
    }
    Ok(input[..SHORT].to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_short_and_full_shas() {
        assert_eq!(short_sha("4c1d56e").unwrap(), "4c1d56e");
        assert_eq!(
            short_sha("4c1d56e2f0a1b2c3d4e5f60718293a4b5c6d7e8f").unwrap(),
            "4c1d56e"
        );
    }

    #[test]
    fn rejects_everything_else_with_the_expected_form() {
        for bad in [
            "",
            "latest",
            "staging-abc1234",
            "4C1D56E",
            "4c1d56",
            "4c1d56e ",
            "g123456",
        ] {
            let err = short_sha(bad).unwrap_err();
            assert!(err.contains("sha"), "{bad:?}: {err}");
        }
        assert!(short_sha(&"a".repeat(41)).is_err());
    }
}
