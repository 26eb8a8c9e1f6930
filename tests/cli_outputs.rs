//! Outputs never replace what they must not: a FIFO or a device is written
//! as a stream, a symbolic link is followed and stays a link, an output that
//! is an input or another output is refused before any work, a missing
//! folder fails at once, and killed writes leave no temporaries that pile up.
#![cfg(all(feature = "cli", unix))]

mod cli_support;

use cli_support::{fails, is_root, mkfifo, ok, run, scratch, temporaries};
use std::fs;
use std::io::Read;
use std::os::unix::fs::FileTypeExt;
use std::path::Path;
use std::time::{Duration, Instant};

fn make_data(dir: &Path) {
    ok(
        dir,
        &[
            "data",
            "two-moons",
            "--n",
            "60",
            "--seed",
            "1",
            "--out",
            "x.csv",
        ],
    );
}

fn make_model(dir: &Path) {
    make_data(dir);
    ok(
        dir,
        &[
            "fit",
            "--data",
            "x.csv",
            "--objective",
            "ssm",
            "--hidden",
            "4",
            "--steps",
            "3",
            "--quiet",
            "--out",
            "m.json",
        ],
    );
}

#[test]
fn an_output_fifo_is_written_as_a_stream_and_stays_a_fifo() {
    let dir = scratch("out-fifo");
    make_model(&dir);
    let fifo = dir.join("pipe");
    mkfifo(&fifo);
    let reader = {
        let fifo = fifo.clone();
        std::thread::spawn(move || {
            let mut text = String::new();
            fs::File::open(&fifo)
                .unwrap()
                .read_to_string(&mut text)
                .unwrap();
            text
        })
    };
    ok(
        &dir,
        &[
            "sample", "--model", "m.json", "--n", "5", "--steps", "3", "--out", "pipe",
        ],
    );
    let text = reader.join().unwrap();
    assert_eq!(text.lines().count(), 5, "{text:?}");
    assert!(text.lines().all(|l| l.split(',').count() == 2), "{text:?}");
    let kind = fs::symlink_metadata(&fifo).unwrap().file_type();
    assert!(kind.is_fifo(), "the FIFO was replaced: {kind:?}");
    fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn an_output_symlink_is_followed_and_the_link_stays() {
    let dir = scratch("out-link");
    make_model(&dir);
    fs::create_dir(dir.join("real")).unwrap();
    fs::write(dir.join("real/s.csv"), "old\n").unwrap();
    std::os::unix::fs::symlink("real/s.csv", dir.join("link.csv")).unwrap();
    ok(
        &dir,
        &[
            "sample", "--model", "m.json", "--n", "4", "--steps", "3", "--out", "link.csv",
        ],
    );
    let link = fs::symlink_metadata(dir.join("link.csv")).unwrap();
    assert!(link.file_type().is_symlink(), "the link was replaced");
    let written = fs::read_to_string(dir.join("real/s.csv")).unwrap();
    assert_eq!(written.lines().count(), 4, "{written:?}");
    // A model written through a link loads back.
    std::os::unix::fs::symlink("real/fitted.json", dir.join("fitted.json")).unwrap();
    ok(
        &dir,
        &[
            "fit",
            "--data",
            "x.csv",
            "--objective",
            "ssm",
            "--hidden",
            "4",
            "--steps",
            "2",
            "--quiet",
            "--out",
            "fitted.json",
        ],
    );
    scoretape::io::load_model(&dir.join("real/fitted.json")).unwrap();
    assert!(fs::symlink_metadata(dir.join("fitted.json"))
        .unwrap()
        .file_type()
        .is_symlink());
    fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn an_output_that_is_an_input_or_another_output_is_refused_naming_both() {
    let dir = scratch("out-clash");
    make_model(&dir);
    let data_before = fs::read(dir.join("x.csv")).unwrap();
    let model_before = fs::read(dir.join("m.json")).unwrap();
    let fit = |extra: &[&str]| -> Vec<String> {
        [
            "fit",
            "--data",
            "x.csv",
            "--objective",
            "ssm",
            "--hidden",
            "4",
            "--steps",
            "2",
            "--quiet",
        ]
        .iter()
        .chain(extra)
        .map(|s| s.to_string())
        .collect()
    };
    let cases: Vec<(Vec<String>, [&str; 2])> = vec![
        (fit(&["--out", "x.csv"]), ["--data", "--out"]),
        (fit(&["--out", "./x.csv"]), ["--data", "--out"]),
        (
            fit(&["--out", "n.json", "--log", "n.json"]),
            ["--out", "--log"],
        ),
        (
            fit(&["--out", "n.json", "--log", "x.csv"]),
            ["--data", "--log"],
        ),
        (
            fit(&["--out", "n.json", "--checkpoint", "x.csv"]),
            ["--data", "--checkpoint"],
        ),
        (
            ["sample", "--model", "m.json", "--n", "3", "--out", "m.json"]
                .map(String::from)
                .to_vec(),
            ["--model", "--out"],
        ),
        (
            [
                "denoise", "--model", "m.json", "--data", "x.csv", "--sigma", "0.1", "--out",
                "x.csv",
            ]
            .map(String::from)
            .to_vec(),
            ["--data", "--out"],
        ),
        (
            [
                "plot", "--model", "m.json", "--data", "x.csv", "--out", "m.json",
            ]
            .map(String::from)
            .to_vec(),
            ["--model", "--out"],
        ),
    ];
    // The same file under another name (a hard link) is the same file.
    fs::hard_link(dir.join("x.csv"), dir.join("alias.csv")).unwrap();
    let cases = cases
        .into_iter()
        .chain([(fit(&["--out", "alias.csv"]), ["--data", "--out"])]);
    for (args, [a, b]) in cases {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let line = fails(&dir, &args, 2, "are the same file");
        assert!(line.contains(a) && line.contains(b), "{line}");
    }
    assert_eq!(fs::read(dir.join("x.csv")).unwrap(), data_before);
    assert_eq!(fs::read(dir.join("m.json")).unwrap(), model_before);
    assert!(!dir.join("n.json").exists());
    fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_missing_or_unwritable_folder_fails_before_any_work() {
    let dir = scratch("out-folder");
    make_data(&dir);
    // A fit of a million updates would take minutes: the refusal is at once.
    let start = Instant::now();
    let args = [
        "fit",
        "--data",
        "x.csv",
        "--objective",
        "ssm",
        "--steps",
        "1000000",
        "--quiet",
        "--out",
        "no/such/m.json",
    ];
    fails(&dir, &args, 1, "the folder no/such does not exist");
    // The demo checks both its outputs before training.
    fails(
        &dir,
        &["demo", "--quiet", "--out", "missing/demo.png"],
        1,
        "does not exist",
    );
    assert!(
        start.elapsed() < Duration::from_secs(5),
        "{:?}",
        start.elapsed()
    );
    fails(
        &dir,
        &["data", "two-moons", "--n", "3", "--out", "."],
        2,
        "is a folder",
    );
    if is_root() {
        eprintln!("skipped the read-only folder case: root may write anywhere");
    } else {
        use std::os::unix::fs::PermissionsExt;
        fs::create_dir(dir.join("locked")).unwrap();
        fs::set_permissions(dir.join("locked"), fs::Permissions::from_mode(0o555)).unwrap();
        fails(
            &dir,
            &["data", "two-moons", "--n", "3", "--out", "locked/x.csv"],
            1,
            "is not writable",
        );
        fs::set_permissions(dir.join("locked"), fs::Permissions::from_mode(0o755)).unwrap();
    }
    fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn device_outputs_are_streams_and_a_full_device_is_an_error() {
    if !is_root() {
        eprintln!("skipped: making device nodes needs root");
        return;
    }
    let dir = scratch("out-devices");
    let mknod = |name: &str, minor: &str| {
        let status = std::process::Command::new("mknod")
            .args([name, "c", "1", minor])
            .current_dir(&dir)
            .status()
            .unwrap();
        status.success()
    };
    // Our own null (1,3) and full (1,7) devices, never the real ones.
    if !(mknod("null", "3") && mknod("full", "7")) {
        eprintln!("skipped: mknod is not permitted here");
        fs::remove_dir_all(&dir).unwrap();
        return;
    }
    ok(&dir, &["data", "two-moons", "--n", "5", "--out", "null"]);
    let out = run(&dir, &["data", "two-moons", "--n", "5", "--out", "full"]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(out.stderr.contains("full: cannot write"), "{}", out.stderr);
    for name in ["null", "full"] {
        let kind = fs::symlink_metadata(dir.join(name)).unwrap().file_type();
        assert!(kind.is_char_device(), "{name} was replaced: {kind:?}");
    }
    // Two outputs on one character device are not a clash (the log and the
    // model both go to the null device).
    ok(&dir, &["data", "two-moons", "--n", "60", "--out", "x.csv"]);
    ok(
        &dir,
        &[
            "fit",
            "--data",
            "x.csv",
            "--objective",
            "ssm",
            "--hidden",
            "4",
            "--steps",
            "2",
            "--quiet",
            "--out",
            "null",
            "--log",
            "null",
        ],
    );
    assert!(temporaries(&dir).is_empty(), "{:?}", temporaries(&dir));
    fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_stale_temporary_of_a_killed_write_is_removed_by_the_next_write() {
    let dir = scratch("out-stale");
    // PIDs stop below 2^22 on Linux: no process has this one.
    fs::write(dir.join(".x.csv.tmp-4194305"), "half a file").unwrap();
    ok(&dir, &["data", "two-moons", "--n", "5", "--out", "x.csv"]);
    if Path::new("/proc/self").exists() {
        assert!(temporaries(&dir).is_empty(), "{:?}", temporaries(&dir));
    }
    fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn dev_stdout_redirected_to_a_file_is_appended_to_and_checked_for_clashes() {
    let dir = scratch("out-stdout");
    make_model(&dir);
    let appended = |name: &str, args: &[&str]| {
        let file = fs::OpenOptions::new()
            .append(true)
            .create(true)
            .open(dir.join(name))
            .unwrap();
        std::process::Command::new(cli_support::BIN)
            .args(args)
            .current_dir(&dir)
            .stdout(file)
            .output()
            .unwrap()
    };
    // `>> out.csv`: what was there stays.
    fs::write(dir.join("out.csv"), "# kept\n").unwrap();
    let out = appended(
        "out.csv",
        &["data", "two-moons", "--n", "2", "--out", "/dev/stdout"],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = fs::read_to_string(dir.join("out.csv")).unwrap();
    assert!(text.starts_with("# kept\n"), "{text:?}");
    assert_eq!(text.lines().count(), 3, "{text:?}");
    // `--out /dev/stdout >> m.json` is the model itself: refused.
    let before = fs::read(dir.join("m.json")).unwrap();
    let out = appended(
        "m.json",
        &[
            "sample",
            "--model",
            "m.json",
            "--n",
            "2",
            "--out",
            "/dev/stdout",
        ],
    );
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("are the same file"), "{stderr}");
    assert_eq!(fs::read(dir.join("m.json")).unwrap(), before);
    fs::remove_dir_all(&dir).unwrap();
}
