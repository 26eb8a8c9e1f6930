//! Writing output files without ever destroying what must not be destroyed.
//!
//! - A regular file (or a path that does not exist yet) is replaced
//!   atomically: the bytes go to a temporary file in the same folder, which is
//!   fsynced and then renamed over the target, so a reader sees the old file
//!   or the complete new one.
//! - A symbolic link is followed: the file it points to is replaced
//!   atomically, and the link stays a link.
//! - Anything else that exists (a character device such as `/dev/stdout`, a
//!   FIFO, a socket) is written to directly as a stream, never renamed over;
//!   a write error there (no space left, a closed pipe) is an error. So is a
//!   process's open file reached through `/dev/stdout`, `/dev/fd/N` or
//!   `/proc/…/fd/N` (`--out /dev/stdout > file`): it is appended to, as the
//!   shell's redirection asked, not replaced.
//!
//! The temporary file is `.NAME.tmp-PID` next to the target. A write killed
//! midway leaves it behind; the next write to the same target removes such
//! files whose process is gone (on Linux, where `/proc` tells), so they never
//! pile up.

use super::FileError;
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

/// Writes `bytes` to `path` as the module docs describe: atomically for a
/// regular file (through a symbolic link, the file it points to), as a
/// stream for a device, FIFO or socket.
///
/// # Errors
///
/// A [`FileError`] naming `path` if the folder is not writable, the disk is
/// full, the path is a folder, or the rename fails; the temporary file is
/// removed in that case.
///
/// ```
/// let path = std::env::temp_dir().join("scoretape-doc-atomic.txt");
/// scoretape::io::write_atomic(&path, b"hello").unwrap();
/// assert_eq!(std::fs::read(&path).unwrap(), b"hello");
/// # std::fs::remove_file(&path).unwrap();
/// ```
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), FileError> {
    let cannot = |e: std::io::Error| FileError::new(path, format!("cannot write: {e}"));
    if fs::metadata(path).is_ok_and(|m| m.is_dir()) {
        return Err(FileError::new(path, "is a folder, not a file"));
    }
    if is_stream(path) {
        return write_stream(path, bytes).map_err(cannot);
    }
    let target = resolve_links(path);
    remove_stale_temporaries(&target);
    let temp = temporary_path(&target);
    let result = write_synced(&temp, bytes).and_then(|()| fs::rename(&temp, &target));
    if let Err(e) = result {
        // The temporary file is ours and useless now; failing to remove it
        // changes nothing for the caller, who gets the original error.
        let _ = fs::remove_file(&temp);
        return Err(cannot(e));
    }
    sync_directory(&target);
    Ok(())
}

/// Whether `path` is written as a stream rather than replaced: it exists and
/// is neither a regular file nor a folder (a device, FIFO or socket), or it
/// reaches an open file descriptor (`/dev/stdout`, `/dev/fd/N`,
/// `/proc/…/fd/N`).
pub(crate) fn is_stream(path: &Path) -> bool {
    // `metadata` follows symbolic links: this is what the path leads to.
    match fs::metadata(path) {
        Ok(meta) if meta.is_dir() => false,
        Ok(meta) if !meta.is_file() => true,
        Ok(_) => link_chain(path).iter().any(|p| is_descriptor(p)),
        Err(_) => false,
    }
}

/// A path that names an open file descriptor rather than a file.
fn is_descriptor(path: &Path) -> bool {
    let text = path.to_string_lossy();
    text.starts_with("/dev/fd/")
        || matches!(&*text, "/dev/stdout" | "/dev/stderr" | "/dev/stdin")
        || (text.starts_with("/proc/") && text.contains("/fd/"))
}

/// The file a chain of symbolic links ends at (which may not exist yet: a
/// dangling link's target is created). A path that is not a link is itself.
/// Gives up after 40 links (a loop), returning the last one.
pub(crate) fn resolve_links(path: &Path) -> PathBuf {
    link_chain(path).pop().unwrap_or_else(|| path.to_path_buf())
}

/// `path`, then each path its symbolic links lead to, in order (at most 40).
fn link_chain(path: &Path) -> Vec<PathBuf> {
    let mut chain = vec![path.to_path_buf()];
    for _ in 0..40 {
        let current = &chain[chain.len() - 1];
        let is_link = fs::symlink_metadata(current).is_ok_and(|m| m.file_type().is_symlink());
        if !is_link {
            break;
        }
        match fs::read_link(current) {
            Ok(next) if next.is_absolute() => chain.push(next),
            Ok(next) => {
                let next = folder_of(current).join(next);
                chain.push(next);
            }
            Err(_) => break,
        }
    }
    chain
}

/// The folder a file is in (`.` for a bare file name).
pub(crate) fn folder_of(path: &Path) -> &Path {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    }
}

/// Writes to a stream (device, FIFO, socket, open descriptor) without
/// creating, truncating or renaming anything; appending, so that a file
/// behind `/dev/stdout` keeps what the shell's `>>` kept.
fn write_stream(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let mut stream = fs::OpenOptions::new().append(true).open(path)?;
    stream.write_all(bytes)?;
    stream.flush()
}

fn file_name(path: &Path) -> String {
    path.file_name()
        .map_or_else(|| "output".into(), |n| n.to_string_lossy().into_owned())
}

/// `dir/.name.tmp-PID`: hidden, in the same folder, unique per process.
fn temporary_path(path: &Path) -> PathBuf {
    let prefix = temporary_prefix(path);
    path.with_file_name(format!("{prefix}{}", std::process::id()))
}

fn temporary_prefix(path: &Path) -> String {
    format!(".{}.tmp-", file_name(path))
}

/// Removes `.name.tmp-PID` files of this target left by processes that no
/// longer run (a write that was killed). Only where the operating system
/// says which processes run (Linux's `/proc`); elsewhere nothing is removed.
fn remove_stale_temporaries(target: &Path) {
    if !Path::new("/proc/self").exists() {
        return;
    }
    let prefix = temporary_prefix(target);
    let Ok(entries) = fs::read_dir(folder_of(target)) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(pid) = name
            .to_str()
            .and_then(|n| n.strip_prefix(&prefix))
            .and_then(|pid| pid.parse::<u32>().ok())
        else {
            continue;
        };
        let gone = !Path::new("/proc").join(pid.to_string()).exists();
        if gone && pid != std::process::id() {
            let _ = fs::remove_file(entry.path());
        }
    }
}

fn write_synced(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    // create_new: never write through a file (or a link) that is already
    // there under the temporary name.
    let mut file = fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)
        .or_else(|e| {
            if e.kind() != std::io::ErrorKind::AlreadyExists {
                return Err(e);
            }
            // Our own process's leftover (the same PID, e.g. a write that
            // failed after creating it): remove it and try once more.
            fs::remove_file(path)?;
            fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .open(path)
        })?;
    file.write_all(bytes)?;
    file.sync_all()
}

/// Makes the rename itself durable on Unix; elsewhere (or if the directory
/// cannot be opened) the rename is still atomic, only its durability after a
/// power cut is not guaranteed, so errors are ignored.
fn sync_directory(path: &Path) {
    #[cfg(unix)]
    {
        if let Ok(d) = fs::File::open(folder_of(path)) {
            let _ = d.sync_all();
        }
    }
    #[cfg(not(unix))]
    let _ = path;
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scratch(name: &str) -> PathBuf {
        let dir =
            std::env::temp_dir().join(format!("scoretape-atomic-{name}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn a_stale_temporary_of_a_dead_process_is_removed_by_the_next_write() {
        let dir = scratch("stale");
        let target = dir.join("m.json");
        // PIDs are below 2^22 on Linux, so this one runs nowhere.
        let stale = dir.join(".m.json.tmp-4294967295");
        let other = dir.join(".other.json.tmp-4294967295");
        fs::write(&stale, "half").unwrap();
        fs::write(&other, "half").unwrap();
        write_atomic(&target, b"new").unwrap();
        assert_eq!(fs::read(&target).unwrap(), b"new");
        if Path::new("/proc/self").exists() {
            assert!(!stale.exists(), "the stale temporary is still there");
        }
        assert!(other.exists(), "another target's temporary was removed");
        fs::remove_dir_all(&dir).unwrap();
    }

    #[cfg(unix)]
    #[test]
    fn a_symbolic_link_is_followed_and_stays_a_link() {
        let dir = scratch("link");
        fs::create_dir_all(dir.join("real")).unwrap();
        let target = dir.join("real/m.json");
        fs::write(&target, "old").unwrap();
        let link = dir.join("link.json");
        std::os::unix::fs::symlink("real/m.json", &link).unwrap();
        write_atomic(&link, b"new").unwrap();
        assert!(fs::symlink_metadata(&link)
            .unwrap()
            .file_type()
            .is_symlink());
        assert_eq!(fs::read(&target).unwrap(), b"new");
        // A dangling link creates the file it names.
        let dangling = dir.join("dangling.json");
        std::os::unix::fs::symlink("real/new.json", &dangling).unwrap();
        write_atomic(&dangling, b"made").unwrap();
        assert!(fs::symlink_metadata(&dangling)
            .unwrap()
            .file_type()
            .is_symlink());
        assert_eq!(fs::read(dir.join("real/new.json")).unwrap(), b"made");
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_folder_is_refused() {
        let dir = scratch("folder");
        let err = write_atomic(&dir, b"x").unwrap_err();
        assert!(err.message.contains("is a folder"), "{err}");
        fs::remove_dir_all(&dir).unwrap();
    }
}
