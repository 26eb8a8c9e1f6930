//! A figure as a list of shapes in pixel coordinates (origin top left),
//! rendered either as SVG text or as an RGB raster for PNG. Text is set in
//! the 5×7 bitmap font of [`font`](super::font) in the raster, and in a
//! monospace font of the same advance (10 px per unit of scale, about 6 px a
//! character) in SVG, so both layouts agree.

use super::font::{descends, glyph, text_width, CELL_WIDTH, DESCENT, GLYPH_HEIGHT};
use std::fmt::Write as _;

/// An sRGB colour.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct Rgb(pub u8, pub u8, pub u8);

impl Rgb {
    fn hex(self) -> String {
        format!("#{:02x}{:02x}{:02x}", self.0, self.1, self.2)
    }
}

pub(crate) enum Shape {
    Rect {
        x: f64,
        y: f64,
        w: f64,
        h: f64,
        fill: Rgb,
    },
    Frame {
        x: f64,
        y: f64,
        w: f64,
        h: f64,
        stroke: Rgb,
    },
    Line {
        from: (f64, f64),
        to: (f64, f64),
        stroke: Rgb,
        width: f64,
    },
    Circle {
        centre: (f64, f64),
        radius: f64,
        fill: Rgb,
        opacity: f64,
    },
    /// Text whose baseline starts, is centred or ends at `at`; `scale` is
    /// the size in multiples of the 5×7 font's pixels.
    Text {
        at: (f64, f64),
        scale: u32,
        text: String,
        anchor: Anchor,
        fill: Rgb,
    },
}

/// Where a text's anchor point is along it.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) enum Anchor {
    Start,
    Middle,
    End,
}

impl Anchor {
    fn svg(self) -> &'static str {
        match self {
            Anchor::Start => "start",
            Anchor::Middle => "middle",
            Anchor::End => "end",
        }
    }

    /// The share of the text's width left of the anchor point.
    fn before(self) -> f64 {
        match self {
            Anchor::Start => 0.0,
            Anchor::Middle => 0.5,
            Anchor::End => 1.0,
        }
    }
}

pub(crate) struct Figure {
    pub width: u32,
    pub height: u32,
    pub shapes: Vec<Shape>,
}

impl Figure {
    pub fn new(width: u32, height: u32) -> Self {
        Figure {
            width,
            height,
            shapes: vec![Shape::Rect {
                x: 0.0,
                y: 0.0,
                w: width as f64,
                h: height as f64,
                fill: Rgb(255, 255, 255),
            }],
        }
    }

    pub fn push(&mut self, shape: Shape) {
        self.shapes.push(shape);
    }

    pub fn to_svg(&self) -> String {
        let mut s = format!(
            "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{w}\" height=\"{h}\" \
             viewBox=\"0 0 {w} {h}\" font-family=\"monospace\">\n",
            w = self.width,
            h = self.height
        );
        for shape in &self.shapes {
            let line = match shape {
                Shape::Rect { x, y, w, h, fill } => format!(
                    "<rect x=\"{x:.2}\" y=\"{y:.2}\" width=\"{w:.2}\" height=\"{h:.2}\" fill=\"{}\"/>",
                    fill.hex()
                ),
                Shape::Frame { x, y, w, h, stroke } => format!(
                    "<rect x=\"{x:.2}\" y=\"{y:.2}\" width=\"{w:.2}\" height=\"{h:.2}\" \
                     fill=\"none\" stroke=\"{}\"/>",
                    stroke.hex()
                ),
                Shape::Line { from, to, stroke, width } => format!(
                    "<line x1=\"{:.2}\" y1=\"{:.2}\" x2=\"{:.2}\" y2=\"{:.2}\" stroke=\"{}\" \
                     stroke-width=\"{width:.2}\"/>",
                    from.0,
                    from.1,
                    to.0,
                    to.1,
                    stroke.hex()
                ),
                Shape::Circle { centre, radius, fill, opacity } => format!(
                    "<circle cx=\"{:.2}\" cy=\"{:.2}\" r=\"{radius:.2}\" fill=\"{}\" \
                     fill-opacity=\"{opacity:.2}\"/>",
                    centre.0,
                    centre.1,
                    fill.hex()
                ),
                Shape::Text { at, scale, text, anchor, fill } => format!(
                    "<text x=\"{:.2}\" y=\"{:.2}\" font-size=\"{}\" text-anchor=\"{}\" \
                     fill=\"{}\">{}</text>",
                    at.0,
                    at.1,
                    10 * scale,
                    anchor.svg(),
                    fill.hex(),
                    escape(text)
                ),
            };
            writeln!(s, "{line}").expect("writing to a String cannot fail");
        }
        s.push_str("</svg>\n");
        s
    }

    /// The figure as 8-bit RGB pixels, row by row.
    pub fn to_rgb(&self) -> Vec<u8> {
        let mut canvas = Canvas {
            width: self.width as usize,
            height: self.height as usize,
            pixels: vec![255; self.width as usize * self.height as usize * 3],
        };
        for shape in &self.shapes {
            match *shape {
                Shape::Rect { x, y, w, h, fill } => canvas.fill_rect(x, y, w, h, fill),
                Shape::Frame { x, y, w, h, stroke } => {
                    let corners = [(x, y), (x + w, y), (x + w, y + h), (x, y + h), (x, y)];
                    for pair in corners.windows(2) {
                        canvas.line(pair[0], pair[1], 1.0, stroke);
                    }
                }
                Shape::Line {
                    from,
                    to,
                    stroke,
                    width,
                } => canvas.line(from, to, width, stroke),
                Shape::Circle {
                    centre,
                    radius,
                    fill,
                    opacity,
                } => canvas.disc(centre, radius, fill, opacity),
                Shape::Text {
                    at,
                    scale,
                    ref text,
                    anchor,
                    fill,
                } => canvas.text(at, scale, text, anchor, fill),
            }
        }
        canvas.pixels
    }
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

struct Canvas {
    width: usize,
    height: usize,
    pixels: Vec<u8>,
}

impl Canvas {
    fn blend(&mut self, x: i64, y: i64, colour: Rgb, alpha: f64) {
        if x < 0 || y < 0 || x >= self.width as i64 || y >= self.height as i64 {
            return;
        }
        let k = (y as usize * self.width + x as usize) * 3;
        for (c, new) in [colour.0, colour.1, colour.2].into_iter().enumerate() {
            let old = self.pixels[k + c] as f64;
            self.pixels[k + c] = (old + alpha * (new as f64 - old)).round() as u8;
        }
    }

    fn fill_rect(&mut self, x: f64, y: f64, w: f64, h: f64, colour: Rgb) {
        for py in y.round() as i64..(y + h).round() as i64 {
            for px in x.round() as i64..(x + w).round() as i64 {
                self.blend(px, py, colour, 1.0);
            }
        }
    }

    fn disc(&mut self, centre: (f64, f64), radius: f64, colour: Rgb, alpha: f64) {
        let r = radius.max(0.5);
        for py in (centre.1 - r).floor() as i64..=(centre.1 + r).ceil() as i64 {
            for px in (centre.0 - r).floor() as i64..=(centre.0 + r).ceil() as i64 {
                let (dx, dy) = (px as f64 + 0.5 - centre.0, py as f64 + 0.5 - centre.1);
                if dx * dx + dy * dy <= r * r {
                    self.blend(px, py, colour, alpha);
                }
            }
        }
    }

    /// `text` in the bitmap font, each font pixel a `scale × scale` square.
    fn text(&mut self, at: (f64, f64), scale: u32, text: &str, anchor: Anchor, colour: Rgb) {
        let unit = scale as f64;
        let left = (at.0 - anchor.before() * (text_width(text) * scale) as f64).round();
        let top = at.1.round() - (GLYPH_HEIGHT * scale) as f64;
        for (i, c) in text.chars().enumerate() {
            let x = left + (i as u32 * CELL_WIDTH * scale) as f64;
            let drop = if descends(c) { DESCENT * scale } else { 0 };
            let top = top + drop as f64;
            for (r, bits) in glyph(c).iter().enumerate() {
                for column in 0..5 {
                    if bits >> (4 - column) & 1 == 1 {
                        let px = x + column as f64 * unit;
                        self.fill_rect(px, top + r as f64 * unit, unit, unit, colour);
                    }
                }
            }
        }
    }

    /// A thick segment, drawn as discs every half pixel along it.
    fn line(&mut self, from: (f64, f64), to: (f64, f64), width: f64, colour: Rgb) {
        let length = ((to.0 - from.0).powi(2) + (to.1 - from.1).powi(2)).sqrt();
        let steps = (2.0 * length).ceil().max(1.0) as usize;
        for i in 0..=steps {
            let t = i as f64 / steps as f64;
            let p = (from.0 + t * (to.0 - from.0), from.1 + t * (to.1 - from.1));
            self.disc(p, width / 2.0, colour, 1.0);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn raster_text_sets_exactly_the_glyph_pixels_at_the_scale() {
        // "1" at scale 2 with its baseline at y = 16: glyph rows 0..7 cover y = 2..16.
        let mut figure = Figure::new(20, 20);
        figure.push(Shape::Text {
            at: (3.0, 16.0),
            scale: 2,
            text: "1".into(),
            anchor: Anchor::Start,
            fill: Rgb(0, 0, 0),
        });
        let pixels = figure.to_rgb();
        let rows = glyph('1');
        for y in 0..20 {
            for x in 0..20 {
                let inked = pixels[(y * 20 + x) * 3] == 0;
                let on_glyph = (3..13).contains(&x)
                    && (2..16).contains(&y)
                    && rows[(y - 2) / 2] >> (4 - (x - 3) / 2) & 1 == 1;
                assert_eq!(inked, on_glyph, "pixel ({x}, {y})");
            }
        }
    }

    #[test]
    fn anchors_place_the_text_and_svg_carries_it() {
        let mut figure = Figure::new(40, 10);
        for (anchor, x) in [(Anchor::End, 20.0), (Anchor::Middle, 20.0)] {
            figure.push(Shape::Text {
                at: (x, 8.0),
                scale: 1,
                text: "--".into(),
                anchor,
                fill: Rgb(0, 0, 0),
            });
        }
        let pixels = figure.to_rgb();
        let inked = |x: usize| pixels[(4 * 40 + x) * 3] == 0;
        // '-' is row 3 of 5 columns; "--" ending at 20 covers 8..13 and 14..19,
        // centred on 20 covers 14..19 and 20..25.
        let expected: Vec<usize> = (8..13).chain(14..19).chain(20..25).collect();
        assert_eq!((0..40).filter(|&x| inked(x)).collect::<Vec<_>>(), expected);
        let svg = figure.to_svg();
        assert!(
            svg.contains("text-anchor=\"end\" fill=\"#000000\">--</text>"),
            "{svg}"
        );
        assert!(svg.contains("font-family=\"monospace\""));
    }
}
