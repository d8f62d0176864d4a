//! Stamps the git commit this build is made from into `common::version`, so
//! that every tool's `--version` says which build of the gate ran.
//!
//! The commit is `git rev-parse --short=7 HEAD` of the checkout this
//! workspace is the top of; outside one (a source tarball, a copy inside
//! another repository) it is `unknown`. `CANARY_BUILD_COMMIT` set at build
//! time wins, for packagers who build from a tarball and know the commit.
//!
//! Cargo reruns this only when HEAD or the current branch moves (a commit or
//! a checkout), not on every edit; a new commit then rebuilds `common` and
//! the tools, which is the price of a truthful `--version`.

use std::path::{Path, PathBuf};
use std::process::Command;

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-env-changed=CANARY_BUILD_COMMIT");
    let manifest_dir =
        PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").expect("cargo sets it"));
    let workspace = manifest_dir.parent().unwrap_or(&manifest_dir);

    let commit = match std::env::var("CANARY_BUILD_COMMIT") {
        Ok(commit) if !commit.trim().is_empty() => commit.trim().to_string(),
        _ => checkout_commit(workspace).unwrap_or_else(|| "unknown".to_string()),
    };
    println!("cargo:rustc-env=CANARY_BUILD_COMMIT={commit}");
}

/// The short commit of the checkout whose top directory is `workspace`, and
/// the files to watch for it to change.
fn checkout_commit(workspace: &Path) -> Option<String> {
    let top = git(workspace, &["rev-parse", "--show-toplevel"])?;
    if std::fs::canonicalize(&top).ok()? != std::fs::canonicalize(workspace).ok()? {
        return None; // a copy of the sources inside some other repository
    }
    let git_dir = PathBuf::from(git(workspace, &["rev-parse", "--absolute-git-dir"])?);
    println!("cargo:rerun-if-changed={}", git_dir.join("HEAD").display());
    if let Some(branch) = git(workspace, &["symbolic-ref", "-q", "HEAD"]) {
        // Branch refs live in the common dir (shared by linked worktrees):
        // a loose file, or after a gc a line of packed-refs until the next
        // commit writes the loose file again, so watch the loose file's
        // directory (cargo scans it) and packed-refs. A path that does not
        // exist would make cargo rerun this on every build, so only those
        // that do.
        let common = git(workspace, &["rev-parse", "--git-common-dir"])
            .map(|d| workspace.join(d))
            .unwrap_or_else(|| git_dir.clone());
        let loose = common.join(&branch);
        let watched = [
            loose.parent().map(Path::to_path_buf),
            Some(common.join("packed-refs")),
        ];
        for path in watched.into_iter().flatten().filter(|p| p.exists()) {
            println!("cargo:rerun-if-changed={}", path.display());
        }
    }
    git(workspace, &["rev-parse", "--short=7", "HEAD"])
}

fn git(dir: &Path, args: &[&str]) -> Option<String> {
    let out = Command::new("git")
        .args(args)
        .current_dir(dir)
        .output()
        .ok()?;
    let text = String::from_utf8(out.stdout).ok()?.trim().to_string();
    (out.status.success() && !text.is_empty()).then_some(text)
}
