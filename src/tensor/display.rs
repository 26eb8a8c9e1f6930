//! A readable print of a [`Tensor`], nested brackets like NumPy and ndarray,
//! with long axes shortened to their first and last few entries.

use super::Tensor;
use crate::real::Real;
use core::fmt;

/// An axis longer than this prints only its first and last [`EDGE`] entries.
const LONGEST_SHOWN: usize = 6;
/// The entries printed at each end of a shortened axis.
const EDGE: usize = 3;

/// Nested brackets, one level per axis, rows of a matrix on their own lines;
/// an axis with more than 6 entries shows its first 3 and last 3 around
/// `...`. A precision (`{:.3}`) applies to every element.
///
/// ```
/// use scoretape::Tensor;
/// let m = Tensor::from_rows(&[vec![1.0, 2.5], vec![3.0, 4.0]]).unwrap();
/// assert_eq!(format!("{m}"), "[[1, 2.5],\n [3, 4]]");
/// assert_eq!(format!("{:.1}", Tensor::vector(&[1.0, 2.0])), "[1.0, 2.0]");
/// let long = Tensor::from_fn(&[10], |k| k as f64);
/// assert_eq!(format!("{long}"), "[0, 1, 2, ..., 7, 8, 9]");
/// assert_eq!(format!("{}", Tensor::scalar(0.5)), "0.5");
/// ```
impl<T: Real> fmt::Display for Tensor<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_block(f, self.shape(), self.data(), 0)
    }
}

/// Writes the block of `data` with `shape`, nested `depth` axes deep.
fn write_block<T: Real>(
    f: &mut fmt::Formatter<'_>,
    shape: &[usize],
    data: &[T],
    depth: usize,
) -> fmt::Result {
    let Some((&len, inner)) = shape.split_first() else {
        return match f.precision() {
            Some(digits) => write!(f, "{:.*}", digits, data[0]),
            None => write!(f, "{}", data[0]),
        };
    };
    let stride: usize = inner.iter().product();
    // Between sub-blocks: a comma, then for blocks of rank ≥ 1 a newline
    // (two for rank ≥ 2) and indentation up to the opening brackets.
    let separator = |f: &mut fmt::Formatter<'_>| -> fmt::Result {
        if inner.is_empty() {
            return f.write_str(", ");
        }
        f.write_str(",")?;
        for _ in 0..inner.len() {
            f.write_str("\n")?;
        }
        for _ in 0..=depth {
            f.write_str(" ")?;
        }
        Ok(())
    };
    f.write_str("[")?;
    let shortened = len > LONGEST_SHOWN;
    for i in 0..len {
        if shortened && (EDGE..len - EDGE).contains(&i) {
            if i == EDGE {
                separator(f)?;
                f.write_str("...")?;
            }
            continue;
        }
        if i > 0 {
            separator(f)?;
        }
        write_block(f, inner, &data[i * stride..(i + 1) * stride], depth + 1)?;
    }
    f.write_str("]")
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::format;

    #[test]
    fn three_axes_print_with_blank_lines_between_matrices() {
        let t = Tensor::from_fn(&[2, 2, 2], |k| k as f64);
        assert_eq!(
            format!("{t}"),
            "[[[0, 1],\n  [2, 3]],\n\n [[4, 5],\n  [6, 7]]]"
        );
    }

    #[test]
    fn long_rows_and_long_columns_are_shortened() {
        let t = Tensor::from_fn(&[8, 8], |k| k as f64);
        let printed = format!("{t}");
        assert_eq!(printed.lines().count(), 7); // 3 rows, "...", 3 rows
        assert!(printed.starts_with("[[0, 1, 2, ..., 5, 6, 7],\n"));
        assert!(printed.contains("\n ...,\n"));
        assert!(printed.ends_with("[56, 57, 58, ..., 61, 62, 63]]"));
    }

    #[test]
    fn empty_axes_print_empty_brackets() {
        assert_eq!(format!("{}", Tensor::<f64>::zeros(&[0])), "[]");
        assert_eq!(format!("{}", Tensor::<f64>::zeros(&[2, 0])), "[[],\n []]");
    }
}
