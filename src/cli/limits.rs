//! Requests too large to hold in memory are refused before anything is
//! allocated, with exit code 1 and the size they would need, instead of the
//! process being aborted by a failed allocation.
//!
//! The bound: the numbers a request must hold at once (8 bytes each, counted
//! with checked arithmetic so that nothing overflows) may not exceed the
//! machine's physical memory (`MemTotal` of `/proc/meminfo` on Linux; 1 TiB
//! where the operating system does not tell). The count is a lower bound of
//! what the command allocates, so a refused request could never have run.

use super::error::CliError;

/// The bytes one number takes.
const BYTES_PER_VALUE: u128 = 8;

/// The memory available to one process, in bytes.
fn memory_limit() -> u128 {
    const FALLBACK: u128 = 1 << 40;
    let Ok(text) = std::fs::read_to_string("/proc/meminfo") else {
        return FALLBACK;
    };
    text.lines()
        .find_map(|line| {
            let kib = line.strip_prefix("MemTotal:")?.trim().strip_suffix("kB")?;
            kib.trim().parse::<u128>().ok().map(|k| k * 1024)
        })
        .unwrap_or(FALLBACK)
}

/// The product of `factors`, or `None` if it does not fit in 128 bits.
pub(crate) fn product(factors: &[usize]) -> Option<u128> {
    factors
        .iter()
        .try_fold(1u128, |acc, &f| acc.checked_mul(f as u128))
}

/// The sum of optional counts (`None` if any is `None` or the sum overflows).
pub(crate) fn sum(counts: &[Option<u128>]) -> Option<u128> {
    counts
        .iter()
        .try_fold(0u128, |acc, c| c.and_then(|c| acc.checked_add(c)))
}

/// Refuses a request that must hold `values` numbers at once (`None`: more
/// than fit in 128 bits), describing it as `what` in the message
/// (`"would need 160 GB for 10000000000 samples of dimension 2"`).
pub(crate) fn check_values(
    values: Option<u128>,
    what: impl FnOnce() -> String,
) -> Result<(), CliError> {
    let limit = memory_limit();
    let bytes = values.and_then(|v| v.checked_mul(BYTES_PER_VALUE));
    match bytes {
        Some(b) if b <= limit => Ok(()),
        Some(b) => Err(CliError::data(format!(
            "would need {} for {}, more than this machine's {} of memory",
            human(b),
            what(),
            human(limit)
        ))),
        None => Err(CliError::data(format!(
            "would need more than 10^30 bytes for {}",
            what()
        ))),
    }
}

/// Bytes in the largest fitting unit, e.g. `160 GB`, `1.5 MB`.
fn human(bytes: u128) -> String {
    let units = ["bytes", "kB", "MB", "GB", "TB", "PB", "EB"];
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1000.0 && unit + 1 < units.len() {
        value /= 1000.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{bytes} bytes")
    } else if value >= 100.0 {
        format!("{value:.0} {}", units[unit])
    } else {
        format!("{value:.2} {}", units[unit]).replace(".00 ", " ")
    }
}

/// The parameters of an MLP with these layer widths (input, hidden…, output):
/// Σ (inᵢ·outᵢ + outᵢ).
pub(crate) fn mlp_parameters(widths: &[usize]) -> Option<u128> {
    let layers: Vec<Option<u128>> = widths
        .windows(2)
        .map(|w| product(&[w[0], w[1]]).and_then(|p| p.checked_add(w[1] as u128)))
        .collect();
    sum(&layers)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_are_printed_short_and_overflow_is_caught() {
        assert_eq!(human(160_000_000_000), "160 GB");
        assert_eq!(human(1_500_000), "1.50 MB");
        assert_eq!(human(12), "12 bytes");
        assert_eq!(product(&[usize::MAX, usize::MAX, usize::MAX]), None);
        assert_eq!(mlp_parameters(&[2, 3, 1]), Some(2 * 3 + 3 + 3 + 1));
        let err = check_values(product(&[10_000_000_000, 1 << 40]), || "x".into()).unwrap_err();
        assert_eq!(err.code, 1);
        assert!(err.message.starts_with("would need "), "{}", err.message);
        check_values(Some(1000), || "x".into()).unwrap();
    }
}
