//! `scoretape plot`: pictures of 2-D models and of training logs, as SVG or
//! PNG (chosen by the output's extension; PNG figures have no text labels).
//!
//! A model plot shows the learned density `exp(-E)` normalised numerically
//! on the plotted grid (sum of density × cell area = 1) as a heat map, the
//! score field as arrows, and optionally data (white) and samples (red) as
//! points. A score network has no density: its plot shows the arrows only.

mod figure;

use super::common::{load_model, Dataset};
use super::error::CliError;
use super::log::read_log;
use crate::error::Error;
use crate::io::{write_atomic, AnyModel, FileError};
use crate::model::AffineMap;
use crate::sample::{conditioned_score_fn, energy_score_fn};
use crate::tensor::Tensor;
use clap::Args;
use figure::{Figure, Rgb, Shape};
use std::path::{Path, PathBuf};

/// Options of `scoretape plot`.
#[derive(Args, Debug, Clone)]
pub struct PlotArgs {
    /// A 2-D model file (JSON) to draw.
    #[arg(long, value_name = "FILE", required_unless_present = "loss_curve")]
    pub model: Option<PathBuf>,
    /// Data points to draw over the model (CSV).
    #[arg(long, value_name = "FILE")]
    pub data: Option<PathBuf>,
    /// Samples to draw over the model (CSV).
    #[arg(long, value_name = "FILE")]
    pub samples: Option<PathBuf>,
    /// Draw this training log (from `fit --log`) instead of a model.
    #[arg(long, value_name = "FILE", conflicts_with = "model")]
    pub loss_curve: Option<PathBuf>,
    /// The figure: .svg or .png.
    #[arg(long, value_name = "FILE")]
    pub out: PathBuf,
}

/// Runs `scoretape plot`.
pub(crate) fn run(args: &PlotArgs) -> Result<(), CliError> {
    let format = Format::of(&args.out)?;
    let figure = match (&args.loss_curve, &args.model) {
        (Some(log), _) => loss_figure(log)?,
        (None, Some(model_path)) => {
            let file = load_model(model_path)?;
            let model = &file.model;
            let read = |path: &Option<PathBuf>| -> Result<Option<Tensor<f64>>, CliError> {
                match path {
                    Some(p) => {
                        let d = Dataset::read(p)?;
                        d.check_dim(model, model_path)?;
                        Ok(Some(d.x))
                    }
                    None => Ok(None),
                }
            };
            let (data, samples) = (read(&args.data)?, read(&args.samples)?);
            model_figure(
                model,
                file.input_map.as_ref(),
                model_path,
                data.as_ref(),
                samples.as_ref(),
            )?
        }
        (None, None) => return Err(CliError::usage("give --model or --loss-curve")),
    };
    save(&args.out, format, &figure)
}

#[derive(Clone, Copy)]
pub(crate) enum Format {
    Svg,
    Png,
}

impl Format {
    pub fn of(path: &Path) -> Result<Format, CliError> {
        match path.extension().and_then(|e| e.to_str()) {
            Some("svg") => Ok(Format::Svg),
            Some("png") => Ok(Format::Png),
            _ => Err(CliError::usage(format!(
                "{}: the figure must end in .svg or .png",
                path.display()
            ))),
        }
    }
}

pub(crate) fn save(path: &Path, format: Format, figure: &Figure) -> Result<(), CliError> {
    let bytes = match format {
        Format::Svg => figure.to_svg().into_bytes(),
        Format::Png => encode_png(figure).map_err(|e| FileError::new(path, e))?,
    };
    Ok(write_atomic(path, &bytes)?)
}

fn encode_png(figure: &Figure) -> Result<Vec<u8>, String> {
    let mut bytes = Vec::new();
    let mut encoder = png::Encoder::new(&mut bytes, figure.width, figure.height);
    encoder.set_color(png::ColorType::Rgb);
    encoder.set_depth(png::BitDepth::Eight);
    let mut writer = encoder.write_header().map_err(|e| e.to_string())?;
    writer
        .write_image_data(&figure.to_rgb())
        .map_err(|e| e.to_string())?;
    writer.finish().map_err(|e| e.to_string())?;
    Ok(bytes)
}

const SIZE: u32 = 600;
const MARGIN: f64 = 50.0;
const GRID: usize = 100;
const ARROWS: usize = 20;

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
    let pad = 0.15 * (b.1 - b.0).max(b.3 - b.2).max(1e-3);
    (b.0 - pad, b.1 + pad, b.2 - pad, b.3 + pad)
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
fn colour_map(t: f64) -> Rgb {
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

pub(crate) fn model_figure(
    model: &AnyModel,
    input_map: Option<&AffineMap>,
    path: &Path,
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
    let side = SIZE as f64 - 2.0 * MARGIN;
    let to_pixel = |x: f64, y: f64| {
        (
            MARGIN + (x - b.0) / (b.1 - b.0) * side,
            MARGIN + (b.3 - y) / (b.3 - b.2) * side,
        )
    };
    let mut fig = Figure::new(SIZE, SIZE);
    let (energies, _) = energy_and_score(model, input_map, &grid(GRID, b))?;
    if let Some(e) = energies {
        // p ∝ exp(-(E - min E)), normalised so that Σ p · cell area = 1.
        let min = e.data().iter().copied().fold(f64::INFINITY, f64::min);
        let unnormalised = e.map(|v| (min - v).exp());
        let area = (b.1 - b.0) * (b.3 - b.2) / (GRID * GRID) as f64;
        let density = unnormalised.map(|p| p / (unnormalised.sum() * area));
        let peak = density.data().iter().copied().fold(0.0, f64::max);
        let cell = side / GRID as f64;
        for (k, &p) in density.data().iter().enumerate() {
            fig.push(Shape::Rect {
                x: MARGIN + (k % GRID) as f64 * cell,
                y: MARGIN + (k / GRID) as f64 * cell,
                w: cell + 0.5,
                h: cell + 0.5,
                fill: colour_map(p / peak),
            });
        }
        fig.push(Shape::Text {
            at: (SIZE as f64 - MARGIN, MARGIN - 10.0),
            size: 12.0,
            text: format!("peak density {peak:.3}"),
            anchor: "end",
        });
    }
    let arrow_points = grid(ARROWS, b);
    let (_, scores) = energy_and_score(model, input_map, &arrow_points)?;
    let longest = scores
        .data()
        .chunks(2)
        .map(|s| s[0].hypot(s[1]))
        .fold(0.0, f64::max)
        .max(1e-300);
    let reach = 0.45 * side / ARROWS as f64;
    for (p, s) in arrow_points.data().chunks(2).zip(scores.data().chunks(2)) {
        let from = to_pixel(p[0], p[1]);
        let scale = reach / longest;
        let to = (from.0 + s[0] * scale, from.1 - s[1] * scale);
        fig.push(Shape::Line {
            from,
            to,
            stroke: Rgb(240, 240, 240),
            width: 1.2,
        });
        fig.push(Shape::Circle {
            centre: to,
            radius: 1.5,
            fill: Rgb(240, 240, 240),
            opacity: 1.0,
        });
    }
    for (set, colour, radius) in [
        (data, Rgb(255, 255, 255), 1.6),
        (samples, Rgb(230, 50, 40), 1.6),
    ] {
        for row in set.into_iter().flat_map(|t| t.data().chunks(2)) {
            fig.push(Shape::Circle {
                centre: to_pixel(row[0], row[1]),
                radius,
                fill: colour,
                opacity: 0.7,
            });
        }
    }
    frame(
        &mut fig,
        b,
        &format!("{} model {}", model.kind(), path.display()),
    );
    Ok(fig)
}

/// A frame around the plot area with the axis ranges and a title.
fn frame(fig: &mut Figure, (x0, x1, y0, y1): (f64, f64, f64, f64), title: &str) {
    let side = SIZE as f64 - 2.0 * MARGIN;
    fig.push(Shape::Frame {
        x: MARGIN,
        y: MARGIN,
        w: side,
        h: side,
        stroke: Rgb(0, 0, 0),
    });
    let label = |fig: &mut Figure, at: (f64, f64), v: f64, anchor| {
        fig.push(Shape::Text {
            at,
            size: 12.0,
            text: format!("{v:.3}"),
            anchor,
        });
    };
    let bottom = MARGIN + side + 16.0;
    label(fig, (MARGIN, bottom), x0, "start");
    label(fig, (MARGIN + side, bottom), x1, "end");
    label(fig, (MARGIN - 4.0, MARGIN + side), y0, "end");
    label(fig, (MARGIN - 4.0, MARGIN + 10.0), y1, "end");
    fig.push(Shape::Text {
        at: (MARGIN, MARGIN - 10.0),
        size: 14.0,
        text: title.to_string(),
        anchor: "start",
    });
}

fn loss_figure(path: &Path) -> Result<Figure, CliError> {
    let rows = read_log(path)?;
    let steps: Vec<f64> = rows.iter().map(|r| r.step as f64).collect();
    let values = rows
        .iter()
        .map(|r| r.loss)
        .chain(rows.iter().filter_map(|r| r.validation_loss));
    let (lo, hi) = values.fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), v| {
        (a.min(v), b.max(v))
    });
    let pad = 0.05 * (hi - lo).max(1e-12);
    let b = (
        steps[0],
        steps[steps.len() - 1].max(steps[0] + 1.0),
        lo - pad,
        hi + pad,
    );
    let side = SIZE as f64 - 2.0 * MARGIN;
    let to_pixel = |x: f64, y: f64| {
        (
            MARGIN + (x - b.0) / (b.1 - b.0) * side,
            MARGIN + (b.3 - y) / (b.3 - b.2) * side,
        )
    };
    let mut fig = Figure::new(SIZE, SIZE);
    for pair in rows.windows(2) {
        fig.push(Shape::Line {
            from: to_pixel(pair[0].step as f64, pair[0].loss),
            to: to_pixel(pair[1].step as f64, pair[1].loss),
            stroke: Rgb(40, 90, 200),
            width: 1.2,
        });
    }
    for r in rows.iter().filter(|r| r.validation_loss.is_some()) {
        let v = r.validation_loss.expect("filtered");
        fig.push(Shape::Circle {
            centre: to_pixel(r.step as f64, v),
            radius: 3.0,
            fill: Rgb(230, 120, 20),
            opacity: 1.0,
        });
    }
    frame(
        &mut fig,
        b,
        &format!(
            "loss (blue) and validation loss (orange) by step, {}",
            path.display()
        ),
    );
    Ok(fig)
}
