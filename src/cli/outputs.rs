//! The one check of a command's files before it does any work: every output
//! can be written, and no output is an input or another output.
//!
//! For each output path:
//! - a folder is refused (exit 2);
//! - something that exists and is not a regular file (a character device
//!   such as `/dev/stdout`, a FIFO, a socket), or an open file descriptor
//!   (`/dev/stdout` redirected to a file), will be written as a stream
//!   ([`crate::io::write_atomic`]) and needs no more checks;
//! - otherwise (a regular file, a symbolic link to one, or nothing yet) the
//!   folder of the file that will be replaced must exist and be writable,
//!   tested by creating and removing a probe file there (exit 1 if not).
//!
//! Then every output is compared with every input and every other output:
//! the same file by device and inode where it exists, else by canonical path.
//! A clash is refused with exit 2, naming both options. A character device
//! shared by two of them (a terminal, `/dev/null`) is not a clash: reading
//! and writing it are independent streams.

use super::demo;
use super::error::CliError;
use super::fit::last_finite_path;
use super::Command;
use crate::io::{folder_of, is_stream, resolve_links};
use std::fs;
use std::path::{Path, PathBuf};

/// A file of the command line: the option that names it and its path.
pub(crate) struct NamedFile {
    pub option: &'static str,
    pub path: PathBuf,
}

/// The files a command reads and writes (inputs, outputs).
fn files(command: &Command) -> (Vec<NamedFile>, Vec<NamedFile>) {
    let file = |option, path: &Path| NamedFile {
        option,
        path: path.to_path_buf(),
    };
    let named = |option, path: &Option<PathBuf>| path.as_deref().map(|p| file(option, p));
    let one = |option, path: &Path| Some(file(option, path));
    let (inputs, outputs): (Vec<_>, Vec<_>) = match command {
        Command::Data(a) => (vec![], vec![named("--out", &a.out)]),
        Command::Fit(a) => (
            // On --resume the checkpoint and the log are read and then
            // rewritten: the same file as input and output on purpose.
            vec![one("--data", &a.data), named("--test", &a.test)],
            vec![
                one("--out", &a.out),
                named("--log", &a.log),
                named("--checkpoint", &a.checkpoint_path()),
                one("--out (last finite parameters)", &last_finite_path(&a.out)),
            ],
        ),
        Command::Eval(a) => (
            vec![
                one("--model", &a.model),
                one("--data", &a.data),
                named("--projections", &a.projections),
                named("--noise", &a.noise),
                named("--vectors", &a.vectors),
            ],
            vec![],
        ),
        Command::Sample(a) => (vec![one("--model", &a.model)], vec![named("--out", &a.out)]),
        Command::Denoise(a) => (
            vec![one("--model", &a.model), one("--data", &a.data)],
            vec![named("--out", &a.out)],
        ),
        Command::Plot(a) => (
            vec![
                named("--model", &a.model),
                named("--data", &a.data),
                named("--samples", &a.samples),
                named("--loss-curve", &a.loss_curve),
            ],
            vec![one("--out", &a.out)],
        ),
        Command::Demo(a) => (
            vec![],
            vec![
                one("--out", &a.out),
                one("--out (the model)", &demo::model_path(&a.out)),
            ],
        ),
        Command::Bench(_) => (vec![], vec![]),
    };
    (
        inputs.into_iter().flatten().collect(),
        outputs.into_iter().flatten().collect(),
    )
}

/// Checks every output of `command` as the module docs describe.
pub(crate) fn check(command: &Command) -> Result<(), CliError> {
    let (inputs, outputs) = files(command);
    check_files(&inputs, &outputs)
}

/// [`check`] on explicit lists of files.
pub(crate) fn check_files(inputs: &[NamedFile], outputs: &[NamedFile]) -> Result<(), CliError> {
    for output in outputs {
        check_writable(output)?;
    }
    let identities: Vec<Option<Identity>> = outputs.iter().map(|f| identity(&f.path)).collect();
    for (i, output) in outputs.iter().enumerate() {
        let Some(id) = &identities[i] else { continue };
        let earlier = outputs[..i].iter().zip(&identities[..i]);
        let others = inputs
            .iter()
            .map(|f| (f, identity(&f.path)))
            .chain(earlier.map(|(f, id)| (f, id.clone())));
        for (other, other_id) in others {
            if other_id.as_ref() == Some(id) && !id.is_character_device {
                return Err(CliError::usage(format!(
                    "{} {} and {} {} are the same file; writing one would destroy the other",
                    other.option,
                    other.path.display(),
                    output.option,
                    output.path.display()
                )));
            }
        }
    }
    Ok(())
}

/// What makes two paths the same file.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Identity {
    key: IdentityKey,
    is_character_device: bool,
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum IdentityKey {
    /// An existing file: its device and inode (on Unix).
    #[cfg(unix)]
    Inode(u64, u64),
    /// The canonical path (of the file, or of its folder plus its name when
    /// it does not exist yet).
    Path(PathBuf),
}

fn identity(path: &Path) -> Option<Identity> {
    if let Ok(meta) = fs::metadata(path) {
        #[cfg(unix)]
        {
            use std::os::unix::fs::{FileTypeExt, MetadataExt};
            return Some(Identity {
                key: IdentityKey::Inode(meta.dev(), meta.ino()),
                is_character_device: meta.file_type().is_char_device(),
            });
        }
        #[cfg(not(unix))]
        {
            let _ = meta;
            return fs::canonicalize(path).ok().map(|p| Identity {
                key: IdentityKey::Path(p),
                is_character_device: false,
            });
        }
    }
    let target = resolve_links(path);
    let folder = fs::canonicalize(folder_of(&target)).ok()?;
    Some(Identity {
        key: IdentityKey::Path(folder.join(target.file_name()?)),
        is_character_device: false,
    })
}

/// Refuses an output that is a folder, or whose folder is missing or not
/// writable.
fn check_writable(output: &NamedFile) -> Result<(), CliError> {
    let path = &output.path;
    if fs::metadata(path).is_ok_and(|m| m.is_dir()) {
        return Err(CliError::usage(format!(
            "{} {}: is a folder, not a file",
            output.option,
            path.display()
        )));
    }
    if is_stream(path) {
        return Ok(());
    }
    let target = resolve_links(path);
    let folder = folder_of(&target);
    if !folder.is_dir() {
        return Err(CliError::data(format!(
            "{}: cannot write {} {}: the folder {} does not exist",
            path.display(),
            output.option,
            path.display(),
            folder.display()
        )));
    }
    // One name for every probe, so a process killed between creating and
    // removing it leaves one file, never a pile. A probe that is there
    // already (left by such a process, or a concurrent one's) is removed and
    // made afresh: the folder is writable only if that works.
    let probe = folder.join(".scoretape-probe");
    let create = || {
        fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&probe)
    };
    let created = create().or_else(|e| {
        if e.kind() != std::io::ErrorKind::AlreadyExists {
            return Err(e);
        }
        fs::remove_file(&probe)?;
        create()
    });
    match created {
        Ok(_) => {
            let _ = fs::remove_file(&probe);
            Ok(())
        }
        // Made again by a concurrent command between our remove and create.
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(CliError::data(format!(
            "{}: cannot write {}: the folder {} is not writable ({e})",
            path.display(),
            output.option,
            folder.display()
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scratch(name: &str) -> PathBuf {
        let dir =
            std::env::temp_dir().join(format!("scoretape-outputs-{name}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        dir
    }

    fn file(option: &'static str, path: &Path) -> NamedFile {
        NamedFile {
            option,
            path: path.to_path_buf(),
        }
    }

    #[test]
    fn two_outputs_that_do_not_exist_yet_clash_by_path() {
        let dir = scratch("paths");
        let a = dir.join("x.json");
        let b = dir.join(".").join("x.json");
        let err = check_files(&[], &[file("--log", &a), file("--out", &b)]).unwrap_err();
        assert_eq!(err.code, 2);
        assert!(err.message.contains("--log") && err.message.contains("--out"));
        let c = dir.join("y.json");
        check_files(&[], &[file("--log", &a), file("--out", &c)]).unwrap();
        fs::remove_dir_all(&dir).unwrap();
    }

    #[cfg(unix)]
    #[test]
    fn a_hard_link_to_an_input_clashes() {
        let dir = scratch("hard");
        let data = dir.join("x.csv");
        fs::write(&data, "1,2\n").unwrap();
        let other_name = dir.join("y.csv");
        fs::hard_link(&data, &other_name).unwrap();
        let err = check_files(&[file("--data", &data)], &[file("--out", &other_name)]).unwrap_err();
        assert_eq!(err.code, 2);
        assert!(err.message.contains("--data"), "{}", err.message);
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_missing_folder_fails_before_any_work() {
        let dir = scratch("missing");
        let out = dir.join("no/such/folder/m.json");
        let err = check_files(&[], &[file("--out", &out)]).unwrap_err();
        assert_eq!(err.code, 1);
        assert!(err.message.contains("does not exist"), "{}", err.message);
        fs::remove_dir_all(&dir).unwrap();
    }
}
