//! `scoretape plot`: pictures of 2-D models and of training logs, as SVG or
//! PNG (chosen by the output's extension), with axes, tick labels, a title
//! and a legend in both.
//!
//! A model plot shows the learned density `exp(-E)` normalised numerically
//! on the plotted grid (sum of density × cell area = 1) as a heat map with a
//! colour bar, the score field as arrows, and optionally data (white) and
//! samples (red) as points. A score network has no density: its plot shows
//! the arrows and points only. A loss plot shows the loss by step, on a
//! linear or (`--log-scale`) logarithmic axis.
//!
//! Everything is drawn by our own code: [`figure`] holds the shapes and
//! renders them as SVG text or as pixels for the PNG encoder, [`font`] is the
//! bitmap font the pixels' text is set in, and [`axes`] the ticks, titles,
//! legends and colour bars.

mod axes;
mod figure;
mod font;
mod loss;
mod model;

use super::common::{load_model, Dataset};
use super::error::CliError;
use super::objective::ObjectiveName;
use crate::io::{write_atomic, FileError};
use crate::tensor::Tensor;
use clap::{Args, ValueEnum};
use figure::Figure;
use std::path::{Path, PathBuf};

pub(crate) use model::model_figure;

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
    /// The objective the model was fitted with, for the title.
    #[arg(long, value_enum)]
    pub objective: Option<ObjectiveName>,
    /// Draw this training log (from `fit --log`) instead of a model.
    #[arg(long, value_name = "FILE", conflicts_with = "model")]
    pub loss_curve: Option<PathBuf>,
    /// With --loss-curve: a logarithmic loss axis (every loss must be positive).
    #[arg(long, requires = "loss_curve")]
    pub log_scale: bool,
    /// The figure: .svg or .png.
    #[arg(long, value_name = "FILE")]
    pub out: PathBuf,
}

/// Runs `scoretape plot`.
pub(crate) fn run(args: &PlotArgs) -> Result<(), CliError> {
    let format = Format::of(&args.out)?;
    let figure = match (&args.loss_curve, &args.model) {
        (Some(log), _) => loss::loss_figure(log, args.log_scale)?,
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
            let caption = caption(args, &model.kind().to_string(), model_path, &data, &samples);
            model_figure(
                model,
                file.input_map.as_ref(),
                model_path,
                &caption,
                data.as_ref(),
                samples.as_ref(),
            )?
        }
        (None, None) => return Err(CliError::usage("give --model or --loss-curve")),
    };
    save(&args.out, format, &figure)
}

/// The title lines of a model plot: the model, then what is known of its
/// objective, data and samples.
fn caption(
    args: &PlotArgs,
    kind: &str,
    model_path: &Path,
    data: &Option<Tensor<f64>>,
    samples: &Option<Tensor<f64>>,
) -> Vec<String> {
    let mut details = Vec::new();
    if let Some(objective) = args.objective {
        let name = objective
            .to_possible_value()
            .expect("every objective has a name");
        details.push(format!("objective {}", name.get_name()));
    }
    for (what, path, set) in [
        ("data", &args.data, data),
        ("samples", &args.samples, samples),
    ] {
        if let (Some(p), Some(t)) = (path, set) {
            details.push(format!("{what} {} (n={})", p.display(), t.shape()[0]));
        }
    }
    let mut lines = vec![format!("{kind} model {}", model_path.display())];
    if !details.is_empty() {
        lines.push(details.join(", "));
    }
    lines
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

#[cfg(test)]
mod tests {
    use super::axes::INK;
    use super::model::{AREA, COLOUR_BAR, LEGEND_BASELINE};
    use super::*;
    use crate::io::AnyModel;
    use crate::model::QuadraticEnergy;
    use crate::random::{normal_tensor, seeded};

    /// The figure as decoded from its PNG bytes: width, height, RGB pixels.
    fn decoded(figure: &Figure) -> (usize, usize, Vec<u8>) {
        let bytes = encode_png(figure).unwrap();
        let mut reader = png::Decoder::new(std::io::Cursor::new(bytes))
            .read_info()
            .unwrap();
        let mut pixels = vec![0; reader.output_buffer_size().unwrap()];
        let info = reader.next_frame(&mut pixels).unwrap();
        assert_eq!(info.color_type, png::ColorType::Rgb);
        (info.width as usize, info.height as usize, pixels)
    }

    /// How many pixels in the box `x0..x1 × y0..y1` have the ink colour.
    fn ink_in(
        image: &(usize, usize, Vec<u8>),
        (x0, x1): (f64, f64),
        (y0, y1): (f64, f64),
    ) -> usize {
        let (width, _, pixels) = image;
        let mut count = 0;
        for y in y0 as usize..y1 as usize {
            for x in x0 as usize..x1 as usize {
                let k = (y * width + x) * 3;
                count += usize::from(pixels[k..k + 3] == [INK.0, INK.1, INK.2]);
            }
        }
        count
    }

    #[test]
    fn the_png_of_a_model_has_text_where_the_labels_are_and_nowhere_else() {
        let model = AnyModel::Quadratic(QuadraticEnergy::new(2).unwrap());
        let points = normal_tensor::<f64, _>(&[200, 2], &mut seeded(0));
        let caption = [
            "quadratic model q.json".to_string(),
            "objective esm, data d.csv (n=200)".to_string(),
        ];
        let figure = model_figure(
            &model,
            None,
            Path::new("q.json"),
            &caption,
            Some(&points),
            Some(&points),
        )
        .unwrap();
        let image = decoded(&figure);
        assert_eq!(
            (image.0, image.1),
            (figure.width as usize, figure.height as usize)
        );
        let right = f64::from(figure.width);
        // The title: a scale-2 first line (14 pixels tall) and a second line.
        assert!(ink_in(&image, (10.0, 280.0), (14.0, 32.0)) > 200);
        assert!(ink_in(&image, (10.0, 200.0), (35.0, 45.0)) > 100);
        // Tick labels under the plot, left of it, and right of the colour bar.
        let below = AREA.bottom() + 8.0;
        assert!(ink_in(&image, (AREA.left, AREA.right()), (below, below + 10.0)) > 50);
        assert!(ink_in(&image, (0.0, AREA.left - 6.0), (AREA.top, AREA.bottom())) > 50);
        assert!(
            ink_in(
                &image,
                (COLOUR_BAR.right() + 6.0, right),
                (AREA.top, AREA.bottom())
            ) > 50
        );
        // The legend's text.
        assert!(
            ink_in(
                &image,
                (AREA.left, right),
                (LEGEND_BASELINE - 7.0, LEGEND_BASELINE)
            ) > 50
        );
        // Blank: right of the title, between the plot and the colour bar,
        // and under the legend.
        assert_eq!(ink_in(&image, (right - 60.0, right), (0.0, 45.0)), 0);
        assert_eq!(
            ink_in(
                &image,
                (AREA.right() + 2.0, COLOUR_BAR.left - 2.0),
                (AREA.top, AREA.bottom())
            ),
            0
        );
        assert_eq!(
            ink_in(
                &image,
                (0.0, right),
                (LEGEND_BASELINE + 4.0, f64::from(figure.height))
            ),
            0
        );
        let svg = figure.to_svg();
        for text in [
            "quadratic model q.json",
            ">density</text>",
            ">x1</text>",
            ">x2</text>",
            ">data (n=200)</text>",
            ">samples (n=200)</text>",
        ] {
            assert!(svg.contains(text), "{text}");
        }
    }

    #[test]
    fn loss_curves_have_axes_and_a_log_scale_for_positive_losses() {
        let dir = std::env::temp_dir().join(format!("scoretape-plot-loss-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let log = dir.join("log.csv");
        let mut text = "step,epoch,loss,validation_loss\n".to_string();
        for step in 1..=50u32 {
            text += &format!("{step},1,{},\n", 10.0 * 0.9f64.powi(step as i32));
        }
        std::fs::write(&log, &text).unwrap();
        let linear = loss::loss_figure(&log, false).unwrap().to_svg();
        let logarithmic = loss::loss_figure(&log, true).unwrap();
        let svg = logarithmic.to_svg();
        assert!(svg.contains(">loss (log scale)</text>") && svg.contains(">step</text>"));
        // 10·0.9^50 ≈ 0.05 to 9: ticks at the decades 0.1 and 1 (and 1e-1, 1e0 labels).
        assert!(
            svg.contains(">1e-1</text>") && svg.contains(">1e0</text>"),
            "{svg}"
        );
        assert!(!linear.contains("log scale"));
        let image = decoded(&logarithmic);
        assert!(ink_in(&image, (0.0, 85.0), (70.0, 570.0)) > 30);
        std::fs::write(
            &log,
            "step,epoch,loss,validation_loss\n1,1,-2.5,\n2,1,-3,\n",
        )
        .unwrap();
        let err = loss::loss_figure(&log, true)
            .err()
            .expect("a negative loss has no logarithm");
        assert!(err.to_string().contains("needs positive losses"), "{err}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
