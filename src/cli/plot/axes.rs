//! The furniture of a figure: axes with ticks and tick labels, a title, a
//! legend and a colour bar.

use super::figure::{Anchor, Figure, Rgb, Shape};
use super::font::{text_width, CELL_WIDTH, GLYPH_HEIGHT};

pub(crate) const INK: Rgb = Rgb(0, 0, 0);
const TICK_LENGTH: f64 = 5.0;

/// One axis: the plotted range of values, linear or base-10 logarithmic.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Axis {
    pub lo: f64,
    pub hi: f64,
    pub log: bool,
}

impl Axis {
    pub fn linear(lo: f64, hi: f64) -> Self {
        Axis { lo, hi, log: false }
    }

    /// Where `v` lies between `lo` (0) and `hi` (1), in log10 for a log axis.
    pub fn fraction(&self, v: f64) -> f64 {
        if self.log {
            (v.log10() - self.lo.log10()) / (self.hi.log10() - self.lo.log10())
        } else {
            (v - self.lo) / (self.hi - self.lo)
        }
    }

    /// The ticks inside the range, with their labels.
    pub fn ticks(&self) -> Vec<(f64, String)> {
        if !self.log {
            return nice_ticks(self.lo, self.hi, 8);
        }
        // Whole decades when the range spans two or more; otherwise 1-2-5 steps.
        let (a, b) = (self.lo.log10(), self.hi.log10());
        // Values parsed from their decimal text, so 1e-3 is the double nearest 0.001.
        let tick = |text: String| (text.parse::<f64>().expect("a decimal number"), text);
        let decades: Vec<(f64, String)> = (a.ceil() as i32..=b.floor() as i32)
            .map(|k| tick(format!("1e{k}")))
            .collect();
        if decades.len() >= 2 {
            return decades;
        }
        let mut ticks = Vec::new();
        for k in a.floor() as i32..=b.ceil() as i32 {
            for m in [1, 2, 5] {
                let (v, _) = if k >= 0 {
                    tick(format!("{}", m * 10i64.pow(k as u32)))
                } else {
                    tick(format!("{m}e{k}"))
                };
                if v >= self.lo && v <= self.hi {
                    // Printed as a plain decimal: 0.2, not 2e-1.
                    ticks.push((v, format!("{v}")));
                }
            }
        }
        ticks
    }
}

/// Ticks at the multiples of a step of 1, 2 or 5 times a power of ten, the
/// step chosen so that about `target` of them fall in `[lo, hi]`; labels
/// with as many decimals as the step needs.
pub(crate) fn nice_ticks(lo: f64, hi: f64, target: usize) -> Vec<(f64, String)> {
    let range = hi - lo;
    if range <= 0.0 || !range.is_finite() {
        return vec![(lo, format!("{lo}"))];
    }
    let rough = range / target as f64;
    let power = 10f64.powf(rough.log10().floor());
    let step = [1.0, 2.0, 5.0, 10.0]
        .into_iter()
        .map(|m| m * power)
        .find(|&s| s >= rough)
        .unwrap_or(10.0 * power);
    let decimals = (-step.log10().floor()).max(0.0) as usize;
    let first = (lo / step).ceil() as i64;
    let last = (hi / step).floor() as i64;
    (first..=last)
        .map(|k| {
            let v = k as f64 * step;
            // `k · step` can print as -0.0: label zero as "0".
            let v = if v == 0.0 { 0.0 } else { v };
            (v, format!("{v:.decimals$}"))
        })
        .collect()
}

/// A rectangle of the figure in pixels.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Area {
    pub left: f64,
    pub top: f64,
    pub width: f64,
    pub height: f64,
}

impl Area {
    pub fn right(&self) -> f64 {
        self.left + self.width
    }

    pub fn bottom(&self) -> f64 {
        self.top + self.height
    }

    /// The pixel of the point `(x, y)` on the axes `(h, v)`.
    pub fn pixel(&self, h: &Axis, v: &Axis, x: f64, y: f64) -> (f64, f64) {
        (
            self.left + h.fraction(x) * self.width,
            self.bottom() - v.fraction(y) * self.height,
        )
    }
}

/// Text in the default ink at scale 1.
pub(crate) fn label(fig: &mut Figure, at: (f64, f64), text: &str, anchor: Anchor) {
    fig.push(Shape::Text {
        at,
        scale: 1,
        text: text.to_string(),
        anchor,
        fill: INK,
    });
}

/// A frame around `area`, outward ticks with labels on its bottom (`h`) and
/// left (`v`) sides, and the axis names centred under it and left of it.
pub(crate) fn axes(fig: &mut Figure, area: Area, h: &Axis, v: &Axis, names: (&str, &str)) {
    fig.push(Shape::Frame {
        x: area.left,
        y: area.top,
        w: area.width,
        h: area.height,
        stroke: INK,
    });
    let half_glyph = f64::from(GLYPH_HEIGHT) / 2.0;
    for (value, text) in h.ticks() {
        let x = area.left + h.fraction(value) * area.width;
        tick(fig, (x, area.bottom()), (x, area.bottom() + TICK_LENGTH));
        let baseline = area.bottom() + TICK_LENGTH + 4.0 + f64::from(GLYPH_HEIGHT);
        label(fig, (x, baseline), &text, Anchor::Middle);
    }
    for (value, text) in v.ticks() {
        let y = area.bottom() - v.fraction(value) * area.height;
        tick(fig, (area.left - TICK_LENGTH, y), (area.left, y));
        let at = (area.left - TICK_LENGTH - 3.0, y + half_glyph);
        label(fig, at, &text, Anchor::End);
    }
    let below = area.bottom() + TICK_LENGTH + 2.0 * f64::from(GLYPH_HEIGHT) + 14.0;
    label(
        fig,
        (area.left + area.width / 2.0, below),
        names.0,
        Anchor::Middle,
    );
    // The vertical axis's name sits above its tick labels, left-aligned with them.
    let widest = v
        .ticks()
        .iter()
        .map(|(_, t)| text_width(t))
        .max()
        .unwrap_or(0);
    let x = area.left - TICK_LENGTH - 3.0 - f64::from(widest);
    label(fig, (x, area.top - 8.0), names.1, Anchor::Start);
}

fn tick(fig: &mut Figure, from: (f64, f64), to: (f64, f64)) {
    fig.push(Shape::Line {
        from,
        to,
        stroke: INK,
        width: 1.0,
    });
}

/// Title lines from the top left corner: the first at scale 2 when it fits
/// in `width`, the others at scale 1. Returns the baseline of the last.
pub(crate) fn title(fig: &mut Figure, lines: &[String], width: f64) -> f64 {
    let mut baseline = 6.0;
    for (i, text) in lines.iter().enumerate() {
        let big = i == 0 && f64::from(2 * text_width(text)) + 20.0 <= width;
        let scale = if big { 2 } else { 1 };
        baseline += f64::from((GLYPH_HEIGHT + 5) * scale);
        fig.push(Shape::Text {
            at: (10.0, baseline),
            scale,
            text: text.clone(),
            anchor: Anchor::Start,
            fill: INK,
        });
    }
    baseline
}

/// How a legend entry draws its series.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Marker {
    Dot(Rgb),
    Line(Rgb),
    /// A short arrow with a dot at its head, as the score field is drawn.
    Arrow(Rgb),
}

/// One row of legend entries starting at `at` (the left end of the baseline):
/// each a 14-pixel swatch of `background` with its marker, then its text.
pub(crate) fn legend(
    fig: &mut Figure,
    at: (f64, f64),
    background: Rgb,
    entries: &[(Marker, String)],
) {
    let mut x = at.0;
    let centre_y = at.1 - f64::from(GLYPH_HEIGHT) / 2.0;
    for (marker, text) in entries {
        fig.push(Shape::Rect {
            x,
            y: centre_y - 7.0,
            w: 14.0,
            h: 14.0,
            fill: background,
        });
        let centre = (x + 7.0, centre_y);
        match *marker {
            Marker::Dot(fill) => fig.push(Shape::Circle {
                centre,
                radius: 3.0,
                fill,
                opacity: 1.0,
            }),
            Marker::Line(stroke) => fig.push(Shape::Line {
                from: (x + 1.0, centre_y),
                to: (x + 13.0, centre_y),
                stroke,
                width: 1.5,
            }),
            Marker::Arrow(stroke) => {
                fig.push(Shape::Line {
                    from: (x + 2.0, centre_y + 4.0),
                    to: (x + 12.0, centre_y - 4.0),
                    stroke,
                    width: 1.2,
                });
                fig.push(Shape::Circle {
                    centre: (x + 12.0, centre_y - 4.0),
                    radius: 1.5,
                    fill: stroke,
                    opacity: 1.0,
                });
            }
        }
        label(fig, (x + 20.0, at.1), text, Anchor::Start);
        x += 20.0 + f64::from(text_width(text) + 3 * CELL_WIDTH);
    }
}

/// A vertical colour bar in `area` for values from 0 (bottom) to `peak`
/// (top), coloured by `colour_map(value / peak)`, with ticks and labels on
/// its right and `name` above it.
pub(crate) fn colour_bar(
    fig: &mut Figure,
    area: Area,
    peak: f64,
    name: &str,
    colour_map: impl Fn(f64) -> Rgb,
) {
    let bands = area.height.round().max(1.0) as usize;
    let band = area.height / bands as f64;
    for i in 0..bands {
        // Band i from the top holds the value at its centre.
        let t = 1.0 - (i as f64 + 0.5) / bands as f64;
        fig.push(Shape::Rect {
            x: area.left,
            y: area.top + i as f64 * band,
            w: area.width,
            h: band + 0.5,
            fill: colour_map(t),
        });
    }
    fig.push(Shape::Frame {
        x: area.left,
        y: area.top,
        w: area.width,
        h: area.height,
        stroke: INK,
    });
    let axis = Axis::linear(0.0, peak);
    for (value, text) in axis.ticks() {
        let y = area.bottom() - axis.fraction(value) * area.height;
        tick(fig, (area.right(), y), (area.right() + TICK_LENGTH, y));
        let at = (
            area.right() + TICK_LENGTH + 3.0,
            y + f64::from(GLYPH_HEIGHT) / 2.0,
        );
        label(fig, at, &text, Anchor::Start);
    }
    label(fig, (area.left, area.top - 8.0), name, Anchor::Start);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn values(ticks: &[(f64, String)]) -> Vec<f64> {
        ticks.iter().map(|t| t.0).collect()
    }

    #[test]
    fn nice_ticks_step_by_one_two_or_five() {
        let t = nice_ticks(-1.37, 2.41, 8);
        assert_eq!(values(&t), [-1.0, -0.5, 0.0, 0.5, 1.0, 1.5, 2.0]);
        assert_eq!(t[2].1, "0.0");
        assert_eq!(t[0].1, "-1.0");
        let t = nice_ticks(0.0, 0.87, 6);
        assert_eq!(
            t.iter().map(|t| t.1.as_str()).collect::<Vec<_>>(),
            ["0.0", "0.2", "0.4", "0.6", "0.8"]
        );
        let t = nice_ticks(0.0, 3000.0, 6);
        assert_eq!(
            values(&t),
            [0.0, 500.0, 1000.0, 1500.0, 2000.0, 2500.0, 3000.0]
        );
        assert_eq!(t[1].1, "500");
        assert_eq!(nice_ticks(1.0, 1.0, 6).len(), 1);
    }

    #[test]
    fn log_axes_tick_decades_or_one_two_five() {
        let wide = Axis {
            lo: 3e-4,
            hi: 20.0,
            log: true,
        };
        let t = wide.ticks();
        assert_eq!(values(&t), [1e-3, 1e-2, 1e-1, 1.0, 1e1]);
        assert_eq!(t[0].1, "1e-3");
        assert!((wide.fraction(20.0) - 1.0).abs() < 1e-12 && wide.fraction(3e-4).abs() < 1e-12);
        let narrow = Axis {
            lo: 0.15,
            hi: 0.9,
            log: true,
        };
        assert_eq!(values(&narrow.ticks()), [0.2, 0.5]);
        let half = Axis::linear(2.0, 4.0).fraction(3.0);
        assert_eq!(half, 0.5);
    }
}
