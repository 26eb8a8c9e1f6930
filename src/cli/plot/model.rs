//! The picture of a 2-D model: its density as a heat map with a colour bar,
//! its score field as arrows, data and samples as points, with axes, a title
//! and a legend.

use super::axes::{axes, colour_bar, legend, title, Area, Axis, Marker};
use super::figure::{Figure, Rgb, Shape};
use crate::cli::error::CliError;
use crate::error::Error;
use crate::io::AnyModel;
use crate::model::AffineMap;
use crate::sample::{conditioned_score_fn, energy_score_fn};
use crate::tensor::Tensor;
use std::path::Path;

pub(crate) const WIDTH: u32 = 680;
pub(crate) const HEIGHT: u32 = 650;
/// The square plot area; the title lines sit above it, the colour bar right
/// of it, the tick labels, axis name and legend below it.
pub(crate) const AREA: Area = Area {
    left: 70.0,
    top: 70.0,
    width: 500.0,
    height: 500.0,
};
pub(crate) const COLOUR_BAR: Area = Area {
    left: 600.0,
    top: 70.0,
    width: 16.0,
    height: 500.0,
};
/// The baseline of the legend row.
pub(crate) const LEGEND_BASELINE: f64 = 632.0;
const GRID: usize = 100;
const ARROWS: usize = 20;
const DATA: Rgb = Rgb(255, 255, 255);
const SAMPLES: Rgb = Rgb(230, 50, 40);
const ARROW: Rgb = Rgb(240, 240, 240);

/// The plotted square: from the points' range with a margin, or [-3, 3]².
fn bounds(points: &[&Tensor<f64>]) -> (f64, f64, f64, f64) {
    let mut b = (
        f64::INFINITY,
        f64::NEG_INFINITY,
        f64::INFINITY,
        f64::NEG_INFINITY,
    );
    for p in points {
        for row in p.data().chunks(2) {
            b = (
                b.0.min(row[0]),
                b.1.max(row[0]),
                b.2.min(row[1]),
                b.3.max(row[1]),
            );
        }
    }
    if !b.0.is_finite() {
        return (-3.0, 3.0, -3.0, 3.0);
    }
    // A square window, so that distances read the same along both axes.
    let half = 0.5 * 1.3 * (b.1 - b.0).max(b.3 - b.2).max(1e-3);
    let (cx, cy) = ((b.0 + b.1) / 2.0, (b.2 + b.3) / 2.0);
    (cx - half, cx + half, cy - half, cy + half)
}

/// Cell centres of an `n × n` grid over the bounds, row-major from the top.
fn grid(n: usize, (x0, x1, y0, y1): (f64, f64, f64, f64)) -> Tensor<f64> {
    Tensor::from_fn(&[n * n, 2], |k| {
        let (cell, axis) = (k / 2, k % 2);
        let (row, column) = (cell / n, cell % n);
        if axis == 0 {
            x0 + (column as f64 + 0.5) * (x1 - x0) / n as f64
        } else {
            y1 - (row as f64 + 0.5) * (y1 - y0) / n as f64
        }
    })
}

/// Energies and scores of the model on a batch.
fn energy_and_score(
    model: &AnyModel,
    input_map: Option<&AffineMap>,
    x: &Tensor<f64>,
) -> Result<(Option<Tensor<f64>>, Tensor<f64>), Error> {
    // Through an input map: E(x) = E_z(z) and the score Aᵀ s_z(z) (as rows,
    // s_z A), z = A(x − m).
    if let Some(map) = input_map {
        let (energy, score_z) = energy_and_score(model, None, &map.apply(x))?;
        return Ok((energy, score_z.matmul(map.matrix())));
    }
    fn with<M: crate::model::Energy<f64>>(
        m: &M,
        x: &Tensor<f64>,
    ) -> Result<(Option<Tensor<f64>>, Tensor<f64>), Error> {
        energy_score_fn(m)(x).map(|(e, s)| (Some(e), s))
    }
    match model {
        AnyModel::MlpEnergy(m) => with(m, x),
        AnyModel::Quadratic(m) => with(m, x),
        AnyModel::Boltzmann(m) => with(m, x),
        // A σ-conditioned network is drawn at its smallest noise, σ = 0.01.
        AnyModel::MlpScore(m) => Ok((None, conditioned_score_fn(m)(x, 0.01)?)),
    }
}

/// Viridis, by linear interpolation between five of its colours; `t ∈ [0, 1]`.
pub(crate) fn colour_map(t: f64) -> Rgb {
    const STOPS: [(f64, f64, f64); 5] = [
        (68.0, 1.0, 84.0),
        (59.0, 82.0, 139.0),
        (33.0, 145.0, 140.0),
        (94.0, 201.0, 98.0),
        (253.0, 231.0, 37.0),
    ];
    let t = t.clamp(0.0, 1.0) * 4.0;
    let i = (t.floor() as usize).min(3);
    let f = t - i as f64;
    let (a, b) = (STOPS[i], STOPS[i + 1]);
    let mix = |p: f64, q: f64| (p + f * (q - p)).round() as u8;
    Rgb(mix(a.0, b.0), mix(a.1, b.1), mix(a.2, b.2))
}

/// The figure of a 2-D model, titled by `caption` (one line each); `path`
/// names the model in errors. With an `input_map` the model is drawn in the
/// data's original units.
///
/// The density `exp(-E)` is normalised numerically on the plotted grid
/// (sum of density × cell area = 1); a score network has no density, so its
/// figure shows the arrows and points on a plain background.
pub(crate) fn model_figure(
    model: &AnyModel,
    input_map: Option<&AffineMap>,
    path: &Path,
    caption: &[String],
    data: Option<&Tensor<f64>>,
    samples: Option<&Tensor<f64>>,
) -> Result<Figure, CliError> {
    if model.dim() != 2 {
        return Err(CliError::data(format!(
            "{}: plots need a 2-D model, this one has dimension {}",
            path.display(),
            model.dim()
        )));
    }
    let points: Vec<&Tensor<f64>> = data.into_iter().chain(samples).collect();
    let b = bounds(&points);
    let (h, v) = (Axis::linear(b.0, b.1), Axis::linear(b.2, b.3));
    let to_pixel = |x: f64, y: f64| AREA.pixel(&h, &v, x, y);
    let mut fig = Figure::new(WIDTH, HEIGHT);
    fig.push(Shape::Rect {
        x: AREA.left,
        y: AREA.top,
        w: AREA.width,
        h: AREA.height,
        fill: colour_map(0.0),
    });
    let (energies, _) = energy_and_score(model, input_map, &grid(GRID, b))?;
    let arrows_name = match energies {
        Some(_) => "score -grad E (scaled)",
        None => "score s(x) (scaled)",
    };
    if let Some(e) = energies {
        // p ∝ exp(-(E - min E)), normalised so that Σ p · cell area = 1.
        let min = e.data().iter().copied().fold(f64::INFINITY, f64::min);
        let unnormalised = e.map(|v| (min - v).exp());
        let area = (b.1 - b.0) * (b.3 - b.2) / (GRID * GRID) as f64;
        let density = unnormalised.map(|p| p / (unnormalised.sum() * area));
        let peak = density.data().iter().copied().fold(0.0, f64::max);
        let drawable = e.all_finite() && density.all_finite() && peak > 0.0 && peak.is_finite();
        if !drawable {
            return Err(not_finite_on_grid(path, "the density exp(-E)"));
        }
        let cell = AREA.width / GRID as f64;
        for (k, &p) in density.data().iter().enumerate() {
            fig.push(Shape::Rect {
                x: AREA.left + (k % GRID) as f64 * cell,
                y: AREA.top + (k / GRID) as f64 * cell,
                w: cell + 0.5,
                h: cell + 0.5,
                fill: colour_map(p / peak),
            });
        }
        colour_bar(&mut fig, COLOUR_BAR, peak, "density", colour_map);
    }
    let arrow_points = grid(ARROWS, b);
    let (_, scores) = energy_and_score(model, input_map, &arrow_points)?;
    if !scores.all_finite() {
        return Err(not_finite_on_grid(path, "the score"));
    }
    let longest = scores
        .data()
        .chunks(2)
        .map(|s| s[0].hypot(s[1]))
        .fold(0.0, f64::max)
        .max(1e-300);
    let reach = 0.45 * AREA.width / ARROWS as f64;
    for (p, s) in arrow_points.data().chunks(2).zip(scores.data().chunks(2)) {
        let from = to_pixel(p[0], p[1]);
        let scale = reach / longest;
        let to = (from.0 + s[0] * scale, from.1 - s[1] * scale);
        fig.push(Shape::Line {
            from,
            to,
            stroke: ARROW,
            width: 1.2,
        });
        fig.push(Shape::Circle {
            centre: to,
            radius: 1.5,
            fill: ARROW,
            opacity: 1.0,
        });
    }
    for (set, colour) in [(data, DATA), (samples, SAMPLES)] {
        for row in set.into_iter().flat_map(|t| t.data().chunks(2)) {
            fig.push(Shape::Circle {
                centre: to_pixel(row[0], row[1]),
                radius: 1.6,
                fill: colour,
                opacity: 0.7,
            });
        }
    }
    axes(&mut fig, AREA, &h, &v, ("x1", "x2"));
    title(&mut fig, caption, f64::from(WIDTH));
    let mut entries = Vec::new();
    for (set, colour, name) in [(data, DATA, "data"), (samples, SAMPLES, "samples")] {
        if let Some(t) = set {
            entries.push((Marker::Dot(colour), format!("{name} (n={})", t.shape()[0])));
        }
    }
    entries.push((Marker::Arrow(ARROW), arrows_name.to_string()));
    legend(
        &mut fig,
        (AREA.left, LEGEND_BASELINE),
        colour_map(0.0),
        &entries,
    );
    Ok(fig)
}

/// The error for a model whose `what` is not finite somewhere on the grid:
/// an all-black picture would say nothing.
fn not_finite_on_grid(path: &Path, what: &str) -> CliError {
    CliError::data(format!(
        "{}: {what} of the model is not finite on the plotted grid, so there is nothing to draw",
        path.display()
    ))
}
