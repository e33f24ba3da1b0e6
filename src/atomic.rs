//! Writing files so that nobody ever sees half of one.
//!
//! Every file flowmatching writes (checkpoints, CSV, JSON, PNG) goes through [`fn@write`]: the
//! bytes go to a fresh hidden file beside the target, are flushed to disk, and the file is
//! renamed over the target. A rename within one directory is atomic, so an existing file is
//! either replaced whole or left untouched, and a failed write leaves no temporary file.
//!
//! A symbolic link is followed (the file it points to is replaced, the link stays), and a
//! target that exists but is no regular file (`/dev/null`, a named pipe) is written into
//! directly: renaming over it would put a regular file in its place.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

/// Writes `bytes` to `path` atomically (see the module docs).
pub fn write(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let resolved = std::fs::canonicalize(path).ok();
    let path = resolved.as_deref().unwrap_or(path);
    if std::fs::metadata(path).is_ok_and(|m| !m.is_file() && !m.is_dir()) {
        let mut file = std::fs::OpenOptions::new().write(true).open(path)?;
        return file.write_all(bytes);
    }
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

    #[cfg(unix)]
    #[test]
    fn links_are_followed_and_special_files_written_in_place() {
        use std::os::unix::fs::FileTypeExt as _;

        let dir = std::env::temp_dir().join(format!("fm-atomic-special-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();

        // A link keeps pointing at the file, which gets the new bytes.
        let real = dir.join("real.csv");
        std::fs::write(&real, "old").unwrap();
        let link = dir.join("link.csv");
        std::os::unix::fs::symlink(&real, &link).unwrap();
        write(&link, b"new").unwrap();
        assert!(std::fs::symlink_metadata(&link).unwrap().file_type().is_symlink());
        assert_eq!(std::fs::read(&real).unwrap(), b"new");

        // A named pipe stays a pipe, and its reader gets the bytes.
        let fifo = dir.join("pipe");
        let made = std::process::Command::new("mkfifo").arg(&fifo).status();
        if made.is_ok_and(|s| s.success()) {
            let reader_path = fifo.clone();
            let reader = std::thread::spawn(move || std::fs::read(reader_path).unwrap());
            write(&fifo, b"through the pipe").unwrap();
            // Checked before joining: a pipe replaced by a file would leave the reader waiting.
            assert!(std::fs::metadata(&fifo).unwrap().file_type().is_fifo());
            assert_eq!(reader.join().unwrap(), b"through the pipe");
        }
        assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 3, "no temporary file left");
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
