//! The `scoretape` command-line program (feature `cli`): toy data, fitting,
//! evaluation, sampling, denoising, plots and benchmarks over CSV data and
//! JSON model files.
//!
//! The binary `src/bin/scoretape.rs` only calls `main`; everything else is
//! here so it is documented and tested with the library.
//!
//! # Exit codes
//!
//! | code | meaning |
//! |------|---------|
//! | 0 | success |
//! | 1 (`EXIT_DATA`) | bad data, a bad model file, a file that cannot be read or written, or a numerical failure |
//! | 2 (`EXIT_USAGE`) | a malformed command line (unknown option, bad value such as σ ≤ 0) |
//! | 3 (`EXIT_INTERNAL`) | a bug in scoretape (please report it) |
//!
//! Every error is one line on standard error, `error: ` followed by the file,
//! the line when there is one, and the problem. Before any work, every output
//! is checked: its folder must exist and be writable, and it must not be an
//! input or another output. Output files are written atomically, so a failed
//! command never leaves a half-written file; a device, FIFO or socket is
//! written as a stream, and a symbolic link is followed (see
//! `docs/reliability.md`).
//!
//! ```
//! // The same as running `scoretape data two-moons --n 3 --seed 1`.
//! let code = scoretape::cli::run(["scoretape", "data", "two-moons", "--n", "3", "--seed", "1"]);
//! assert_eq!(code, 0);
//! let code = scoretape::cli::run(["scoretape", "data", "no-such-set", "--n", "3"]);
//! assert_eq!(code, scoretape::cli::EXIT_USAGE);
//! ```

pub mod bench;
mod budget;
mod checkpoint;
mod common;
mod data_cmd;
mod defaults;
mod demo;
mod denoise;
mod discrete;
mod error;
mod eval;
mod fit;
mod fit_report;
mod held_out;
mod limits;
mod log;
mod metric;
mod objective;
mod outputs;
mod plot;
mod preprocess;
mod progress;
mod sample;
mod solver;
mod validate;

pub use data_cmd::DataArgs;
pub use demo::DemoArgs;
pub use denoise::DenoiseArgs;
pub use error::{CliError, EXIT_DATA, EXIT_INTERNAL, EXIT_USAGE};
pub use eval::{EvalArgs, Quantity};
pub use fit::{FitArgs, ModelArg};
pub use metric::{LogZChoice, Metric, MetricArgs};
pub use objective::{ObjectiveName, ProjectionArg, TraceArg};
pub use plot::PlotArgs;
pub use preprocess::PreprocessArgs;
pub use sample::{SampleArgs, SamplerArg};
pub use solver::SolverArg;

use clap::{ArgMatches, CommandFactory, FromArgMatches, Parser, Subcommand};
use std::ffi::OsString;

/// The command line.
#[derive(Parser, Debug)]
#[command(
    name = "scoretape",
    version,
    about = "Score matching for unnormalised densities p(x) ∝ exp(-E(x)), on a tape-based autodiff engine",
    after_help = "Exit codes: 0 success, 1 bad data/model/file or numerical failure, 2 bad command line, 3 internal error."
)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
    /// Threads a batch is split over (default: SCORETAPE_THREADS, else the
    /// number of cores). 1 gives the single-threaded numbers; more change
    /// them only by rounding.
    #[arg(long, global = true, value_name = "N", value_parser = common::at_least_one)]
    pub threads: Option<usize>,
}

/// The subcommands.
#[derive(Subcommand, Debug)]
pub enum Command {
    /// Write a seeded toy data set as CSV.
    Data(DataArgs),
    /// Fit a model to data by score matching.
    Fit(FitArgs),
    /// Evaluate a loss, its parameter gradient, or a per-sample quantity.
    Eval(EvalArgs),
    /// Draw samples from a model (Langevin, MALA, annealed Langevin).
    Sample(SampleArgs),
    /// Denoise samples with Tweedie's formula x̃ + σ² s(x̃).
    Denoise(DenoiseArgs),
    /// Draw a 2-D model (density, score field, data, samples) or a loss curve.
    Plot(PlotArgs),
    /// Fit two moons by sliced score matching, sample, and draw the result.
    Demo(DemoArgs),
    /// Time the standard workloads.
    Bench(bench::BenchArgs),
}

/// Runs the program on the process's arguments and returns its exit code.
pub fn main() -> i32 {
    keep_freed_memory();
    run(std::env::args_os())
}

/// Asks the C library's allocator to keep memory it is given back, for reuse.
///
/// The matrix kernel allocates its packing buffers (a few hundred KiB) on
/// every product and frees them on return. glibc by default gives such memory
/// back to the operating system (by `munmap`, or by trimming the top of a
/// thread's heap), so the next product faults every page in afresh: measured,
/// 20% of an `hvp` call at size L on two threads. Raising the mmap and trim
/// thresholds keeps it. This is a setting of the process, so the program sets
/// it and the library does not; a program embedding the library can do the
/// same, or set `GLIBC_TUNABLES=glibc.malloc.trim_threshold=268435456:glibc.malloc.mmap_threshold=33554432`.
fn keep_freed_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        use std::ffi::c_int;
        unsafe extern "C" {
            fn mallopt(param: c_int, value: c_int) -> c_int;
        }
        // From glibc's <malloc.h>.
        const M_TRIM_THRESHOLD: c_int = -1;
        const M_MMAP_THRESHOLD: c_int = -3;
        // SAFETY: `mallopt` only changes allocator parameters; it is called
        // before this program allocates from other threads. A refused value
        // (return 0) leaves the default, which is only slower.
        unsafe {
            mallopt(M_TRIM_THRESHOLD, 256 << 20);
            // 32 MiB is the largest mmap threshold glibc accepts on 64-bit.
            mallopt(M_MMAP_THRESHOLD, 32 << 20);
        }
    }
}

/// Runs the program on the given arguments (the first is the program name)
/// and returns its exit code; errors are printed to standard error as one line.
///
/// ```
/// assert_eq!(scoretape::cli::run(["scoretape", "--version"]), 0);
/// assert_eq!(scoretape::cli::run(["scoretape", "eval"]), scoretape::cli::EXIT_USAGE);
/// ```
pub fn run<I, A>(args: I) -> i32
where
    I: IntoIterator<Item = A>,
    A: Into<OsString> + Clone,
{
    // The matches are kept beside the parsed command: they say which
    // options were given on the command line, so that one that does not
    // apply can be refused.
    let parsed = Cli::command()
        .try_get_matches_from(args)
        .and_then(|matches| Cli::from_arg_matches(&matches).map(|cli| (cli, matches)));
    let (cli, matches) = match parsed {
        Ok(parsed) => parsed,
        Err(e) => {
            // --help and --version are "errors" to clap, printed to stdout.
            let _ = e.print();
            return if e.use_stderr() { EXIT_USAGE } else { 0 };
        }
    };
    let subcommand_matches = matches
        .subcommand()
        .map_or_else(ArgMatches::default, |(_, m)| m.clone());
    // A panic is a bug; report it as one line instead of a backtrace.
    let previous_hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(|info| {
        eprintln!("error: internal error in scoretape (please report): {info}");
    }));
    if cli.threads.is_some() {
        crate::exec::set_default_threads(cli.threads);
    }
    // Unwind-safe in fact: after a panic nothing here is used again.
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        dispatch(&cli.command, &subcommand_matches)
    }));
    std::panic::set_hook(previous_hook);
    match result {
        Ok(Ok(())) => 0,
        Ok(Err(e)) => {
            eprintln!("error: {e}");
            e.code
        }
        Err(_) => EXIT_INTERNAL,
    }
}

/// Checks the command line and the command's files before any work, then
/// runs it.
fn dispatch(command: &Command, matches: &ArgMatches) -> Result<(), CliError> {
    validate::check(command, matches)?;
    outputs::check(command)?;
    match command {
        Command::Data(args) => data_cmd::run(args),
        Command::Fit(args) => fit::run(args),
        Command::Eval(args) => eval::run(args),
        Command::Sample(args) => sample::run(args),
        Command::Denoise(args) => denoise::run(args),
        Command::Plot(args) => plot::run(args),
        Command::Demo(args) => demo::run(args),
        Command::Bench(args) => bench::run(args).map_err(CliError::data),
    }
}
