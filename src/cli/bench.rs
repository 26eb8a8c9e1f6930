//! `scoretape bench`: times the standard workloads ([`crate::workloads`]) the
//! way `docs/performance.md` reports them — warm-up, then at least 20 timed calls,
//! the median, minimum and maximum time per call, and the peak memory of the
//! process — as a table or as one JSON line per (workload, size) cell.
//!
//! `scoretape bench --workload esm --size M --json` prints exactly one line,
//! which is how the side-by-side comparison with JAX and PyTorch
//! (`benches/peers/compare.py`) calls it.

use crate::workloads::{Dims, Size, Workload, ROSENBROCK_N};
use std::hint::black_box;
use std::time::{Duration, Instant};

/// Options of `scoretape bench`.
///
/// ```
/// use clap::Parser;
/// use scoretape::cli::bench::BenchArgs;
/// #[derive(Parser)]
/// struct Cli {
///     #[command(flatten)]
///     bench: BenchArgs,
/// }
/// use scoretape::workloads::{Size, Workload};
/// let cli = Cli::parse_from(["bench", "--workload", "ssm", "--size", "M", "--json"]);
/// assert_eq!(cli.bench.workload, vec![Workload::Ssm]);
/// assert_eq!(cli.bench.size, vec![Size::M]);
/// assert!(cli.bench.json);
/// assert!(Cli::try_parse_from(["bench", "--workload", "nope"]).is_err());
/// ```
#[derive(clap::Args, Debug, Clone)]
pub struct BenchArgs {
    /// A workload to run: grad, hvp, esm, esm-laplacian, ssm, ssm-vr, fd-ssm,
    /// dsm, rm, rosenbrock, or a training step train-esm, train-ssm,
    /// train-dsm, train-rm (repeat for several; default: all of them).
    #[arg(long, value_name = "NAME")]
    pub workload: Vec<Workload>,
    /// A size to run: S, M or L (repeat for several; default: all three).
    /// rosenbrock has no size and runs once.
    #[arg(long, value_name = "S|M|L")]
    pub size: Vec<Size>,
    /// Print one JSON line per cell instead of a table.
    #[arg(long)]
    pub json: bool,
    /// The least number of timed calls per cell.
    #[arg(long, value_name = "N", value_parser = super::common::at_least_one, default_value_t = 20)]
    pub calls: usize,
    /// Untimed calls before timing starts.
    #[arg(long, value_name = "N", default_value_t = 3)]
    pub warmup: usize,
    /// Keep timing calls until at least this many seconds have been timed
    /// (and at least `--calls` calls made), so fast cells get many calls.
    #[arg(long, value_name = "SECONDS", value_parser = super::common::non_negative, default_value_t = 1.0)]
    pub min_time: f64,
    /// Override the input dimension d of every selected size (h and B stay),
    /// e.g. to see how esm and ssm scale with d.
    #[arg(long, value_name = "D", value_parser = super::common::at_least_one)]
    pub dim: Option<usize>,
}

/// Runs every selected (workload, size) cell and prints its timing.
///
/// # Errors
///
/// A message if `--calls` is zero,
/// `--min-time` is negative or not a number, `--dim` is zero, or a workload
/// fails or returns a non-finite result.
///
/// ```
/// use scoretape::cli::bench::{run, BenchArgs};
/// use scoretape::workloads::Workload;
/// let args = BenchArgs {
///     workload: vec![Workload::Rosenbrock],
///     size: vec![],
///     json: true,
///     calls: 20,
///     warmup: 1,
///     min_time: 0.0,
///     dim: None,
/// };
/// run(&args).unwrap(); // prints {"framework":"scoretape","workload":"rosenbrock",…}
/// let bad = BenchArgs { calls: 0, ..args };
/// assert!(run(&bad).is_err());
/// ```
pub fn run(args: &BenchArgs) -> Result<(), String> {
    let cells = cells(args)?;
    if args.calls == 0 {
        return Err("--calls must be at least 1".into());
    }
    if !(args.min_time >= 0.0 && args.min_time.is_finite()) {
        return Err(format!(
            "--min-time must be a finite number of seconds ≥ 0, got {}",
            args.min_time
        ));
    }
    if !args.json {
        println!("{}", table_header());
    }
    for (workload, size, dims) in cells {
        let timing = time_cell(workload, dims, args)?;
        let label = match size {
            Some(size) => size.to_string(),
            None => format!("n{}", dims.dim),
        };
        let peak_rss_mb = peak_rss_mb();
        if args.json {
            println!(
                "{}",
                json_line(workload, &label, dims, &timing, peak_rss_mb)
            );
        } else {
            println!(
                "{}",
                table_row(workload, &label, dims, &timing, peak_rss_mb)
            );
        }
    }
    Ok(())
}

/// The selected cells, in the order workloads × sizes, with the dimensions
/// each runs at. `rosenbrock` has no size (`None`) and appears once.
fn cells(args: &BenchArgs) -> Result<Vec<(Workload, Option<Size>, Dims)>, String> {
    let workloads: &[Workload] = if args.workload.is_empty() {
        &Workload::ALL
    } else {
        &args.workload
    };
    let sizes: &[Size] = if args.size.is_empty() {
        &Size::ALL
    } else {
        &args.size
    };
    if args.dim == Some(0) {
        return Err("--dim must be at least 1".into());
    }
    let mut cells = Vec::new();
    for &workload in workloads {
        if !workload.is_batched() {
            let dims = Dims {
                dim: ROSENBROCK_N,
                hidden: 0,
                batch: 1,
            };
            cells.push((workload, None, dims));
            continue;
        }
        for &size in sizes {
            let mut dims = size.dims();
            if let Some(dim) = args.dim {
                dims.dim = dim;
            }
            cells.push((workload, Some(size), dims));
        }
    }
    Ok(cells)
}

/// Per-call times of one cell, in seconds.
struct Timing {
    median_s: f64,
    min_s: f64,
    max_s: f64,
    calls: usize,
}

/// Prepares the workload once (not timed), runs the warm-up calls, then times
/// calls one by one until both `--calls` calls and `--min-time` seconds are
/// reached.
fn time_cell(workload: Workload, dims: Dims, args: &BenchArgs) -> Result<Timing, String> {
    let mut prepared = workload
        .prepare_dims(dims)
        .map_err(|e| format!("{workload} at {dims}: {e}"))?;
    let mut call = || -> Result<(), String> {
        let checksum = prepared
            .run()
            .map_err(|e| format!("{workload} at {dims}: {e}"))?;
        if !checksum.is_finite() {
            return Err(format!(
                "{workload} at {dims}: the result is not finite ({checksum})"
            ));
        }
        // The checksum depends on every result, so the work cannot be skipped.
        black_box(checksum);
        Ok(())
    };
    for _ in 0..args.warmup {
        call()?;
    }
    let min_time = Duration::from_secs_f64(args.min_time);
    let mut times = Vec::with_capacity(args.calls);
    let mut timed = Duration::ZERO;
    while times.len() < args.calls || timed < min_time {
        let start = Instant::now();
        call()?;
        let elapsed = start.elapsed();
        timed += elapsed;
        times.push(elapsed.as_secs_f64());
    }
    times.sort_by(f64::total_cmp);
    Ok(Timing {
        median_s: median_of_sorted(&times),
        min_s: times[0],
        max_s: times[times.len() - 1],
        calls: times.len(),
    })
}

/// The median of a sorted, non-empty slice (the mean of the middle two for
/// an even count, as numpy's median).
fn median_of_sorted(sorted: &[f64]) -> f64 {
    let n = sorted.len();
    if n % 2 == 1 {
        sorted[n / 2]
    } else {
        0.5 * (sorted[n / 2 - 1] + sorted[n / 2])
    }
}

/// The peak resident set size of this process so far, in MB (`VmHWM` of
/// `/proc/self/status`, which Linux reports in kB); NaN where it is not
/// available. With several cells in one process it is the peak over all of
/// them so far, so measure one cell per process to attribute memory.
fn peak_rss_mb() -> f64 {
    let Ok(status) = std::fs::read_to_string("/proc/self/status") else {
        return f64::NAN;
    };
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmHWM:"))
        .and_then(|rest| rest.split_whitespace().next()?.parse::<f64>().ok())
        .map_or(f64::NAN, |kb| kb / 1024.0)
}

fn json_line(
    workload: Workload,
    size: &str,
    dims: Dims,
    timing: &Timing,
    peak_rss_mb: f64,
) -> String {
    let mut line = serde_json::json!({
        "framework": "scoretape",
        "workload": workload.name(),
        "size": size,
        "median_s": timing.median_s,
        "min_s": timing.min_s,
        "max_s": timing.max_s,
        "calls": timing.calls,
        // JSON has no NaN: serde_json writes a non-finite number as null.
        "peak_rss_mb": (peak_rss_mb * 10.0).round() / 10.0,
    });
    if workload.is_batched() {
        line["d"] = dims.dim.into();
        line["h"] = dims.hidden.into();
        line["B"] = dims.batch.into();
    }
    line.to_string()
}

fn table_header() -> String {
    format!(
        "{:<11} {:<5} {:>4} {:>4} {:>4} {:>12} {:>12} {:>12} {:>6} {:>8}",
        "workload", "size", "d", "h", "B", "median", "min", "max", "calls", "rss_MB"
    )
}

fn table_row(
    workload: Workload,
    size: &str,
    dims: Dims,
    timing: &Timing,
    peak_rss_mb: f64,
) -> String {
    format!(
        "{:<11} {:<5} {:>4} {:>4} {:>4} {:>12} {:>12} {:>12} {:>6} {:>8.1}",
        workload.name(),
        size,
        dims.dim,
        dims.hidden,
        dims.batch,
        human_time(timing.median_s),
        human_time(timing.min_s),
        human_time(timing.max_s),
        timing.calls,
        peak_rss_mb
    )
}

/// A duration in µs, ms or s, whichever reads best.
fn human_time(seconds: f64) -> String {
    if seconds < 1e-3 {
        format!("{:.1} µs", seconds * 1e6)
    } else if seconds < 1.0 {
        format!("{:.3} ms", seconds * 1e3)
    } else {
        format!("{seconds:.3} s")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(workload: &[Workload], size: &[Size]) -> BenchArgs {
        BenchArgs {
            workload: workload.to_vec(),
            size: size.to_vec(),
            json: true,
            calls: 3,
            warmup: 1,
            min_time: 0.0,
            dim: None,
        }
    }

    #[test]
    fn one_workload_and_size_is_one_cell() {
        let cells = cells(&args(&[Workload::Esm], &[Size::M])).unwrap();
        assert_eq!(cells, vec![(Workload::Esm, Some(Size::M), Size::M.dims())]);
    }

    #[test]
    fn defaults_are_every_batched_cell_and_rosenbrock_once() {
        let cells = cells(&args(&[], &[])).unwrap();
        // Every workload but rosenbrock at each of S, M, L, once; rosenbrock
        // once, without a size.
        for workload in Workload::ALL {
            let found: Vec<_> = cells.iter().filter(|c| c.0 == workload).collect();
            if workload == Workload::Rosenbrock {
                assert_eq!(found.len(), 1);
                assert_eq!(found[0].1, None);
            } else {
                let sizes: Vec<_> = found.iter().map(|c| c.1).collect();
                assert_eq!(
                    sizes,
                    vec![Some(Size::S), Some(Size::M), Some(Size::L)],
                    "{workload:?}"
                );
            }
        }
        assert_eq!(cells.len(), 3 * (Workload::ALL.len() - 1) + 1);
    }

    #[test]
    fn dim_overrides_d_only() {
        let mut a = args(&[Workload::Ssm], &[Size::L]);
        a.dim = Some(7);
        let (_, _, dims) = cells(&a).unwrap()[0];
        assert_eq!((dims.dim, dims.hidden, dims.batch), (7, 256, 128));
    }

    #[test]
    fn zero_dim_is_an_error() {
        let mut a = args(&[Workload::Grad], &[Size::S]);
        a.dim = Some(0);
        assert!(cells(&a).unwrap_err().contains("--dim"));
    }

    #[test]
    fn median_of_odd_and_even_counts() {
        assert_eq!(median_of_sorted(&[1.0, 2.0, 10.0]), 2.0);
        assert_eq!(median_of_sorted(&[1.0, 2.0, 4.0, 10.0]), 3.0);
    }

    #[test]
    fn timing_makes_at_least_the_requested_calls() {
        let mut a = args(&[Workload::Rosenbrock], &[]);
        a.calls = 25;
        let t = time_cell(Workload::Rosenbrock, Size::S.dims(), &a).unwrap();
        assert_eq!(t.calls, 25);
        assert!(t.min_s <= t.median_s && t.median_s <= t.max_s && t.min_s > 0.0);
    }

    #[test]
    fn json_line_has_the_fields_compare_py_reads() {
        let timing = Timing {
            median_s: 0.5,
            min_s: 0.25,
            max_s: 1.0,
            calls: 20,
        };
        let line = json_line(Workload::Ssm, "M", Size::M.dims(), &timing, 12.34);
        assert!(!line.contains('\n'));
        let v: serde_json::Value = serde_json::from_str(&line).unwrap();
        assert_eq!(v["framework"], "scoretape");
        assert_eq!(v["workload"], "ssm");
        assert_eq!(v["size"], "M");
        assert_eq!(v["median_s"], 0.5);
        assert_eq!(v["min_s"], 0.25);
        assert_eq!(v["max_s"], 1.0);
        assert_eq!(v["calls"], 20);
        assert_eq!(v["peak_rss_mb"], 12.3);
        assert_eq!(v["d"], 16);
    }

    #[test]
    fn peak_rss_is_positive_on_linux() {
        if std::path::Path::new("/proc/self/status").exists() {
            assert!(peak_rss_mb() > 0.0);
        }
    }
}
