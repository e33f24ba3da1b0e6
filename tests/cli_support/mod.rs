//! Scratch directories for the tests that run the command-line program.

#![allow(dead_code)]

use std::path::{Path, PathBuf};

/// A fresh directory under the system temp dir, removed when dropped.
pub struct TempDir(pub PathBuf);

impl TempDir {
    /// An empty directory named after `name` and this test binary's process; `name` must be
    /// unique among the tests of one binary.
    pub fn new(name: &str) -> Self {
        let exe = std::env::current_exe().ok();
        let binary = exe.as_deref().and_then(Path::file_stem).and_then(|s| s.to_str());
        let binary = binary.unwrap_or("test").split('-').next().unwrap_or("test").to_owned();
        let dir = std::env::temp_dir().join(format!("fm-{binary}-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        TempDir(dir)
    }

    /// The path of `file` in the directory.
    pub fn path(&self, file: &str) -> PathBuf {
        self.0.join(file)
    }

    /// The path of `file` in the directory, as a command-line argument.
    pub fn arg(&self, file: &str) -> String {
        self.path(file).display().to_string()
    }

    /// The directory itself, as a command-line argument.
    pub fn dir_arg(&self) -> &str {
        self.0.to_str().unwrap()
    }

    /// Writes `contents` to `file` in the directory and returns its path as an argument.
    pub fn write(&self, file: &str, contents: &str) -> String {
        std::fs::write(self.path(file), contents).unwrap();
        self.arg(file)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}
