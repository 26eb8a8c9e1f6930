//! The picture of a training log: the loss by step (and the validation loss
//! where there is one), on a linear or logarithmic loss axis.

use super::axes::{axes, legend, title, Area, Axis, Marker};
use super::figure::{Figure, Rgb, Shape};
use crate::cli::error::CliError;
use crate::cli::log::read_log;
use std::path::Path;

const WIDTH: u32 = 680;
const HEIGHT: u32 = 650;
const AREA: Area = Area {
    left: 90.0,
    top: 70.0,
    width: 560.0,
    height: 500.0,
};
const LOSS: Rgb = Rgb(40, 90, 200);
const VALIDATION: Rgb = Rgb(230, 120, 20);

/// The figure of the training log at `path`; `log_scale` draws the loss on a
/// base-10 logarithmic axis, which needs every loss to be positive.
pub(crate) fn loss_figure(path: &Path, log_scale: bool) -> Result<Figure, CliError> {
    let rows = read_log(path)?;
    let points = rows.iter().map(|r| (r.step, r.loss)).chain(
        rows.iter()
            .filter_map(|r| r.validation_loss.map(|v| (r.step, v))),
    );
    let (mut lo, mut hi) = (f64::INFINITY, f64::NEG_INFINITY);
    for (step, value) in points {
        if log_scale && value <= 0.0 {
            return Err(CliError::data(format!(
                "{}: --log-scale needs positive losses, but step {step} has loss {value}",
                path.display()
            )));
        }
        (lo, hi) = (lo.min(value), hi.max(value));
    }
    let v = if log_scale {
        // 5% of the plotted decades as a margin on each side.
        let pad = 10f64.powf(0.05 * (hi / lo).log10().max(1e-3));
        Axis {
            lo: lo / pad,
            hi: hi * pad,
            log: true,
        }
    } else {
        let pad = 0.05 * (hi - lo).max(1e-12);
        Axis::linear(lo - pad, hi + pad)
    };
    let first = rows[0].step as f64;
    let last = (rows[rows.len() - 1].step as f64).max(first + 1.0);
    let h = Axis::linear(first, last);
    let to_pixel = |x: u64, y: f64| AREA.pixel(&h, &v, x as f64, y);
    let mut fig = Figure::new(WIDTH, HEIGHT);
    for pair in rows.windows(2) {
        fig.push(Shape::Line {
            from: to_pixel(pair[0].step, pair[0].loss),
            to: to_pixel(pair[1].step, pair[1].loss),
            stroke: LOSS,
            width: 1.2,
        });
    }
    let mut entries = vec![(Marker::Line(LOSS), "loss".to_string())];
    for r in &rows {
        if let Some(value) = r.validation_loss {
            fig.push(Shape::Circle {
                centre: to_pixel(r.step, value),
                radius: 3.0,
                fill: VALIDATION,
                opacity: 1.0,
            });
        }
    }
    if rows.iter().any(|r| r.validation_loss.is_some()) {
        entries.push((Marker::Dot(VALIDATION), "validation loss".to_string()));
    }
    let loss_name = if log_scale {
        "loss (log scale)"
    } else {
        "loss"
    };
    axes(&mut fig, AREA, &h, &v, ("step", loss_name));
    title(
        &mut fig,
        &[format!("training log {}", path.display())],
        f64::from(WIDTH),
    );
    legend(&mut fig, (AREA.left, 632.0), Rgb(255, 255, 255), &entries);
    Ok(fig)
}
