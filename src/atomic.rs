//! Writing files so that nobody ever sees half of one.
//!
//! Every file flowmatching writes (checkpoints, CSV, JSON, PNG) goes through [`write`]: the
//! bytes go to a fresh hidden file beside the target, are flushed to disk, and the file is
//! renamed over the target. A rename within one directory is atomic, so an existing file is
//! either replaced whole or left untouched, and a failed write leaves no temporary file.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

/// Writes `bytes` to `path` atomically (see the module docs).
pub fn write(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let temp = temp_path(path)?;
    let written = std::fs::File::create(&temp).and_then(|mut file| {
        file.write_all(bytes)?;
        file.sync_all()
    });
    let renamed = written.and_then(|()| std::fs::rename(&temp, path));
    if renamed.is_err() {
        let _ = std::fs::remove_file(&temp);
    }
    renamed
}

/// `dir/.<name>.tmp-<pid>-<counter>`: unique per process and call, in the target's directory
/// so that the final rename stays on one file system.
fn temp_path(path: &Path) -> std::io::Result<PathBuf> {
    static WRITES: AtomicU64 = AtomicU64::new(0);
    let name = path.file_name().ok_or_else(|| {
        std::io::Error::new(std::io::ErrorKind::InvalidInput, "the path names no file")
    })?;
    let unique = WRITES.fetch_add(1, Ordering::Relaxed);
    let mut temp_name = std::ffi::OsString::from(".");
    temp_name.push(name);
    temp_name.push(format!(".tmp-{}-{unique}", std::process::id()));
    Ok(path.with_file_name(temp_name))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replaces_whole_files_and_leaves_no_temporary() {
        let dir = std::env::temp_dir().join(format!("fm-atomic-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("f.txt");
        write(&path, b"a longer first version").unwrap();
        write(&path, b"short").unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"short");
        assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 1);

        let missing = dir.join("no-such-dir").join("f.txt");
        assert!(write(&missing, b"x").is_err());
        assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 1);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn temporary_names_are_hidden_beside_the_target_and_unique() {
        let a = temp_path(Path::new("/some/dir/out.png")).unwrap();
        let b = temp_path(Path::new("/some/dir/out.png")).unwrap();
        assert_eq!(a.parent(), Some(Path::new("/some/dir")));
        assert!(a.file_name().unwrap().to_string_lossy().starts_with(".out.png.tmp-"));
        assert_ne!(a, b);
    }
}
