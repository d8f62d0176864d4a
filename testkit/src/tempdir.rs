use std::path::{Path, PathBuf};

/// A directory under the system temp dir, removed on drop; its name starts
/// with `canary-tools-<label>-` so a leftover one says whose it was.
#[derive(Debug)]
pub struct TempDir(tempfile::TempDir);

impl TempDir {
    pub fn new(label: &str) -> std::io::Result<TempDir> {
        tempfile::Builder::new()
            .prefix(&format!("canary-tools-{label}-"))
            .tempdir()
            .map(TempDir)
    }

    pub fn path(&self) -> &Path {
        self.0.path()
    }

    pub fn join(&self, name: &str) -> PathBuf {
        self.0.path().join(name)
    }
}
