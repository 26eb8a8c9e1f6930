//! Atomic file replacement: write a temporary file next to the target, flush
//! it to disk, then rename it over the target.

use super::FileError;
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

/// Writes `bytes` to `path` so that the file is either the old one or the
/// complete new one, even if the process dies midway: the bytes go to a
/// temporary file in the same directory (so the rename cannot cross file
/// systems), which is fsynced and then renamed over `path`.
///
/// # Errors
///
/// A [`FileError`] naming `path` if the directory is not writable, the disk is
/// full, or the rename fails; the temporary file is removed in that case.
///
/// ```
/// let path = std::env::temp_dir().join("scoretape-doc-atomic.txt");
/// scoretape::io::write_atomic(&path, b"hello").unwrap();
/// assert_eq!(std::fs::read(&path).unwrap(), b"hello");
/// # std::fs::remove_file(&path).unwrap();
/// ```
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), FileError> {
    let temp = temporary_path(path);
    let result = write_synced(&temp, bytes).and_then(|()| fs::rename(&temp, path));
    if let Err(e) = result {
        // The temporary file is ours and useless now; failing to remove it
        // changes nothing for the caller, who gets the original error.
        let _ = fs::remove_file(&temp);
        return Err(FileError::new(path, format!("cannot write: {e}")));
    }
    sync_directory(path);
    Ok(())
}

/// `dir/.name.tmp-PID`: hidden, in the same directory, unique per process.
fn temporary_path(path: &Path) -> PathBuf {
    let name = path
        .file_name()
        .map_or_else(|| "output".into(), |n| n.to_string_lossy().into_owned());
    path.with_file_name(format!(".{name}.tmp-{}", std::process::id()))
}

fn write_synced(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let mut file = fs::File::create(path)?;
    file.write_all(bytes)?;
    file.sync_all()
}

/// Makes the rename itself durable on Unix; elsewhere (or if the directory
/// cannot be opened) the rename is still atomic, only its durability after a
/// power cut is not guaranteed, so errors are ignored.
fn sync_directory(path: &Path) {
    #[cfg(unix)]
    {
        let dir = match path.parent() {
            Some(p) if !p.as_os_str().is_empty() => p,
            _ => Path::new("."),
        };
        if let Ok(d) = fs::File::open(dir) {
            let _ = d.sync_all();
        }
    }
    #[cfg(not(unix))]
    let _ = path;
}
