//! What every tool's `--version` prints after its name: the workspace version
//! and the git commit it was built from, `0.2.0 (4c1d56e)`, or
//! `0.2.0 (unknown)` when it was built outside a git checkout. Set at build
//! time by `common/build.rs`. Use it as `#[command(version = common::version::LONG)]`.

/// The commit this build was made from (7 or more hex characters), or `unknown`.
pub const COMMIT: &str = env!("CANARY_BUILD_COMMIT");

/// `<version> (<commit>)`.
pub const LONG: &str = concat!(
    env!("CARGO_PKG_VERSION"),
    " (",
    env!("CANARY_BUILD_COMMIT"),
    ")"
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_names_the_version_and_a_commit_or_unknown() {
        let rest = LONG
            .strip_prefix(concat!(env!("CARGO_PKG_VERSION"), " ("))
            .and_then(|r| r.strip_suffix(')'))
            .unwrap_or_else(|| panic!("{LONG:?} is not \"<version> (<commit>)\""));
        assert_eq!(rest, COMMIT);
        assert!(
            COMMIT == "unknown"
                || (COMMIT.len() >= 7 && COMMIT.chars().all(|c| c.is_ascii_hexdigit())),
            "{COMMIT:?} is neither a short commit nor unknown"
        );
    }
}
