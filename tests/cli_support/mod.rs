//! Running the `scoretape` binary in tests: a scratch folder per test, the
//! exit code and both output streams of a run, and checks of error lines.
#![allow(dead_code)] // each test file uses some of these

use std::path::{Path, PathBuf};
use std::process::Command;

pub const BIN: &str = env!("CARGO_BIN_EXE_scoretape");

pub struct Output {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

/// Runs the binary in `dir` with `args`.
pub fn run(dir: &Path, args: &[&str]) -> Output {
    let out = Command::new(BIN)
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap();
    Output {
        code: out.status.code().expect("exited normally, not by a signal"),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// Runs a command that must succeed; returns its standard output.
pub fn ok(dir: &Path, args: &[&str]) -> String {
    let out = run(dir, args);
    assert_eq!(out.code, 0, "{args:?} failed: {}", out.stderr);
    out.stdout
}

/// Runs a command that must fail with `code`, its first error line
/// containing `expected`, and no panic.
pub fn fails(dir: &Path, args: &[&str], code: i32, expected: &str) -> String {
    let out = run(dir, args);
    assert_eq!(out.code, code, "{args:?}: {}", out.stderr);
    let first = out.stderr.lines().next().unwrap_or_default().to_string();
    assert!(first.starts_with("error: "), "{args:?}: {:?}", out.stderr);
    assert!(
        first.contains(expected),
        "{args:?}: {first:?} should contain {expected:?}"
    );
    assert!(!out.stderr.contains("panicked"), "{}", out.stderr);
    first
}

/// An empty folder for one test.
pub fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("scoretape-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Whether the tests run as root (needed to make device nodes).
pub fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

/// Makes a FIFO with `mkfifo`.
pub fn mkfifo(path: &Path) {
    let status = Command::new("mkfifo").arg(path).status().unwrap();
    assert!(status.success(), "mkfifo {}", path.display());
}

/// Hidden temporary files (`.NAME.tmp-PID`, `.scoretape-probe`) left in `dir`.
pub fn temporaries(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with('.') && (n.contains(".tmp-") || n == ".scoretape-probe"))
        .collect()
}
