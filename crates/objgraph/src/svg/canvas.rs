//! The built-in renderer's canvas: layout-rs draws onto it, it keeps the shapes, and writes
//! SVG whose size is the drawing's own.
//!
//! layout-rs's own SVG writer sizes the picture from rough text estimates (a label's byte
//! length taken as a height) and draws a self-reference as a detached curve beside its
//! node. Keeping the shapes first lets the renderer redraw self-references as loops on
//! their node and measure the drawing before writing it.

use std::collections::BTreeSet;
use std::fmt::Write as _;

use layout::core::color::Color;
use layout::core::format::{ClipHandle, RenderBackend};
use layout::core::geometry::Point;
use layout::core::style::StyleAttr;

use super::text::{FONT_FAMILY, text_width};
use crate::markup::escape;

/// Text lines are this many font sizes apart.
pub(crate) const LINE_HEIGHT: f64 = 1.25;

/// Blank space around the drawing.
const MARGIN: f64 = 4.0;

/// How far a self-reference's loop reaches out of its node: its control points' distance.
const LOOP_REACH: f64 = 40.0;

/// Half the distance between the two ends of a self-reference's loop on its node's side.
const LOOP_HALF_GAP: f64 = 8.0;

/// How far above or below a box a bend moved out of it goes.
const BEND_CLEARANCE: f64 = 14.0;

/// A label belongs to the bend it is drawn beside: at its height, within this distance.
const LABEL_REACH: f64 = 150.0;

/// How a text is placed on its `x`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Anchor {
    Start,
    Middle,
    End,
}

impl Anchor {
    fn name(self) -> &'static str {
        match self {
            Anchor::Start => "start",
            Anchor::Middle => "middle",
            Anchor::End => "end",
        }
    }
}

/// A cubic Bézier segment: two control points and the end point.
type Cubic = [Point; 3];

/// One shape of the drawing.
#[derive(Debug)]
enum Shape {
    Rect {
        /// The node of the [`crate::Graph`] this box draws, if it draws one.
        node: Option<usize>,
        at: Point,
        size: Point,
        fill: Option<String>,
        stroke: String,
        stroke_width: usize,
    },
    Ellipse {
        centre: Point,
        radii: Point,
        fill: Option<String>,
        stroke: String,
        stroke_width: usize,
    },
    Text {
        /// Where the anchor of the block of lines is; `y` is the block's vertical middle.
        at: Point,
        lines: Vec<String>,
        font_size: f64,
        anchor: Anchor,
        /// The node whose box this text labels.
        node: Option<usize>,
    },
    Path {
        start: Point,
        segments: Vec<Cubic>,
        stroke: String,
        stroke_width: usize,
        dashed: bool,
        /// Arrowheads at the start and at the end.
        heads: (bool, bool),
        /// The node this path refers back to, for a self-reference.
        self_loop: Option<usize>,
    },
}

/// Shapes as layout-rs draws them. Nodes and edges tell who they are through their
/// `properties`: `node:3` for node 3's box, `self-loop:3` for its reference to itself.
#[derive(Debug, Default)]
pub(super) struct Canvas {
    shapes: Vec<Shape>,
}

/// The `properties` of node `i`'s box.
pub(super) fn node_property(i: usize) -> String {
    format!("node:{i}")
}

/// The `properties` of node `i`'s reference to itself.
pub(super) fn self_loop_property(i: usize) -> String {
    format!("self-loop:{i}")
}

fn parse_property(properties: Option<&str>, kind: &str) -> Option<usize> {
    properties?.strip_prefix(kind)?.strip_prefix(':')?.parse().ok()
}

/// `#rrggbb`, or `#rrggbbaa` for a colour that is not opaque; `None` for no colour at all.
fn web_colour(colour: Color) -> Option<String> {
    let hex = colour.to_web_color();
    match hex.strip_suffix("ff") {
        Some(opaque) if hex.len() == 9 => Some(opaque.to_owned()),
        _ if hex.ends_with("00") => None,
        _ => Some(hex),
    }
}

impl RenderBackend for Canvas {
    fn draw_rect(
        &mut self,
        xy: Point,
        size: Point,
        look: &StyleAttr,
        properties: Option<String>,
        _clip: Option<ClipHandle>,
    ) {
        self.shapes.push(Shape::Rect {
            node: parse_property(properties.as_deref(), "node"),
            at: xy,
            size,
            fill: look.fill_color.and_then(web_colour),
            stroke: web_colour(look.line_color).unwrap_or_else(|| "none".to_owned()),
            stroke_width: look.line_width,
        });
    }

    fn draw_line(&mut self, start: Point, stop: Point, look: &StyleAttr, _properties: Option<String>) {
        self.shapes.push(Shape::Path {
            start,
            segments: vec![[start, stop, stop]],
            stroke: web_colour(look.line_color).unwrap_or_else(|| "none".to_owned()),
            stroke_width: look.line_width,
            dashed: false,
            heads: (false, false),
            self_loop: None,
        });
    }

    fn draw_circle(&mut self, xy: Point, size: Point, look: &StyleAttr, _properties: Option<String>) {
        self.shapes.push(Shape::Ellipse {
            centre: xy,
            radii: size.scale(0.5),
            fill: look.fill_color.and_then(web_colour),
            stroke: web_colour(look.line_color).unwrap_or_else(|| "none".to_owned()),
            stroke_width: look.line_width,
        });
    }

    fn draw_text(&mut self, xy: Point, text: &str, look: &StyleAttr) {
        // layout-rs draws a box's label right after the box, at its centre.
        let node = match self.shapes.last() {
            Some(&Shape::Rect { node: Some(node), at, size, .. })
                if (at.x + size.x / 2.0 - xy.x).abs() < 0.5 && (at.y + size.y / 2.0 - xy.y).abs() < 0.5 =>
            {
                Some(node)
            }
            _ => None,
        };
        self.shapes.push(Shape::Text {
            at: xy,
            lines: text.lines().map(str::to_owned).collect(),
            font_size: look.font_size as f64,
            anchor: Anchor::Middle,
            node,
        });
    }

    fn draw_arrow(
        &mut self,
        path: &[(Point, Point)],
        dashed: bool,
        head: (bool, bool),
        look: &StyleAttr,
        properties: Option<String>,
        _text: &str,
    ) {
        // layout-rs's path: `M p0.0 C p0.1, p1.0, p1.1`, then `S pk.0, pk.1` for the rest,
        // whose first control point mirrors the previous segment's second.
        let mut segments: Vec<Cubic> = Vec::with_capacity(path.len().saturating_sub(1));
        for (k, &(control, end)) in path.iter().enumerate().skip(1) {
            let first = if k == 1 {
                path[0].1
            } else {
                let [_, previous_control, previous_end] = segments[k - 2];
                previous_end.scale(2.0).sub(previous_control)
            };
            segments.push([first, control, end]);
        }
        self.shapes.push(Shape::Path {
            start: path[0].0,
            segments,
            stroke: web_colour(look.line_color).unwrap_or_else(|| "none".to_owned()),
            stroke_width: look.line_width,
            dashed,
            heads: head,
            self_loop: parse_property(properties.as_deref(), "self-loop"),
        });
    }

    fn create_clip(&mut self, _xy: Point, _size: Point, _rounded_px: usize) -> ClipHandle {
        // Clips serve rounded records, which graphs do not use.
        0
    }
}

impl Canvas {
    /// Redraws each self-reference as a loop on its node's side, its two ends on the box,
    /// and moves its label next to the loop. layout-rs routes a self-reference through a
    /// label holder it places beside the node; the loop goes on that side, in the room the
    /// holder keeps free. `label_of(i)` is the label lines of node `i`'s self-reference.
    pub(super) fn loop_self_references(&mut self, label_of: impl Fn(usize) -> Vec<String>) {
        for k in 0..self.shapes.len() {
            let Shape::Path { self_loop: Some(node), ref segments, .. } = self.shapes[k] else { continue };
            let Some(holder) = segments.first().map(|segment| segment[2]) else { continue };
            let Some((at, size)) = self.node_box(node) else { continue };
            let side = if holder.x < at.x + size.x / 2.0 { -1.0 } else { 1.0 };
            let edge_x = if side < 0.0 { at.x } else { at.x + size.x };
            let middle_y = at.y + size.y / 2.0;
            let half_gap = LOOP_HALF_GAP.min(size.y / 4.0);
            let out = edge_x + side * LOOP_REACH;
            let loop_start = Point::new(edge_x, middle_y - half_gap);
            let loop_segment = [
                Point::new(out, middle_y - half_gap - LOOP_REACH / 3.0),
                Point::new(out, middle_y + half_gap + LOOP_REACH / 3.0),
                Point::new(edge_x, middle_y + half_gap),
            ];
            if let Shape::Path { start, segments, heads, .. } = &mut self.shapes[k] {
                *start = loop_start;
                *segments = vec![loop_segment];
                *heads = (false, true);
            }
            let label = label_of(node);
            let nearest = self
                .shapes
                .iter()
                .enumerate()
                .filter_map(|(j, shape)| match shape {
                    Shape::Text { at, lines, node: None, .. } if *lines == label => Some((j, at.distance_to(holder))),
                    _ => None,
                })
                .min_by(|a, b| a.1.total_cmp(&b.1))
                .map(|(j, _)| j);
            if let Some(Shape::Text { at, anchor, .. }) = nearest.map(|j| &mut self.shapes[j]) {
                // The loop's curve reaches three quarters of the way to its control points.
                *at = Point::new(edge_x + side * (LOOP_REACH * 0.75 + 6.0), middle_y);
                *anchor = if side < 0.0 { Anchor::End } else { Anchor::Start };
            }
        }
    }

    /// Moves each bend of an edge that layout-rs left inside a node's box out of it, above
    /// or below the box on the side the edge comes from, with the label placed at that bend.
    ///
    /// layout-rs routes an edge with a label through a label holder in the row between its
    /// ends; to uncross edges it may shift a holder down by up to 95 pixels, into the box of
    /// the very node the edge points at (a 2-cycle, such as a session and its items, does
    /// it), and the arrow then runs through the box to its far side.
    pub(super) fn lift_bends_out_of_boxes(&mut self) {
        let boxes: Vec<(Point, Point)> = self
            .shapes
            .iter()
            .filter_map(|shape| match *shape {
                Shape::Rect { node: Some(_), at, size, .. } => Some((at, size)),
                _ => None,
            })
            .collect();
        let inside = |point: Point, (at, size): (Point, Point)| {
            point.x > at.x + 0.5
                && point.x < at.x + size.x - 0.5
                && point.y > at.y + 0.5
                && point.y < at.y + size.y - 0.5
        };
        let on_border = |point: Point, (at, size): (Point, Point)| {
            point.x >= at.x - 0.5
                && point.x <= at.x + size.x + 0.5
                && point.y >= at.y - 0.5
                && point.y <= at.y + size.y + 0.5
        };
        let mut moved_labels: Vec<(Point, f64)> = Vec::new();
        for shape in &mut self.shapes {
            let Shape::Path { start, segments, self_loop: None, .. } = shape else { continue };
            for k in 0..segments.len().saturating_sub(1) {
                let bend = segments[k][2];
                let Some(&node_box) = boxes.iter().find(|&&node_box| inside(bend, node_box)) else { continue };
                let (at, size) = node_box;
                let ends_here = on_border(segments[segments.len() - 1][2], node_box);
                let starts_here = on_border(*start, node_box);
                // The point the edge comes from, on the side away from this box.
                let from =
                    if ends_here { if k == 0 { *start } else { segments[k - 1][2] } } else { segments[k + 1][2] };
                let above = from.y < at.y + size.y / 2.0;
                let new_y = if above { at.y - BEND_CLEARANCE } else { at.y + size.y + BEND_CLEARANCE };
                moved_labels.push((bend, new_y - bend.y));
                // The edge passes the new bend straight towards the box, and the end on the
                // box moves to the side that faces the bend.
                let toward = if above { 1.0 } else { -1.0 };
                let reach = BEND_CLEARANCE / 2.0;
                let bend = Point::new(bend.x, new_y);
                segments[k][1] = Point::new(bend.x, new_y - toward * reach);
                segments[k][2] = bend;
                segments[k + 1][0] = Point::new(bend.x, new_y + toward * reach);
                let side =
                    Point::new(bend.x.clamp(at.x + 4.0, at.x + size.x - 4.0), if above { at.y } else { at.y + size.y });
                let side_control = Point::new(side.x, side.y - toward * reach);
                if ends_here && k + 1 == segments.len() - 1 {
                    segments[k + 1][1] = side_control;
                    segments[k + 1][2] = side;
                } else if starts_here && k == 0 {
                    *start = side;
                    segments[0][0] = side_control;
                }
            }
        }
        for (bend, dy) in moved_labels {
            let nearest = self
                .shapes
                .iter_mut()
                .filter_map(|shape| match shape {
                    Shape::Text { at, node: None, .. } if (at.y - bend.y).abs() < 1.5 => {
                        let distance = (at.x - bend.x).abs();
                        Some((at, distance))
                    }
                    _ => None,
                })
                .min_by(|a, b| a.1.total_cmp(&b.1));
            if let Some((at, _)) = nearest.filter(|&(_, distance)| distance < LABEL_REACH) {
                at.y += dy;
            }
        }
    }

    /// The box of node `i`.
    fn node_box(&self, i: usize) -> Option<(Point, Point)> {
        self.shapes.iter().find_map(|shape| match *shape {
            Shape::Rect { node: Some(node), at, size, .. } if node == i => Some((at, size)),
            _ => None,
        })
    }

    /// The smallest box holding every shape: `(min, max)` corners.
    fn bounds(&self) -> (Point, Point) {
        let mut min = Point::new(f64::INFINITY, f64::INFINITY);
        let mut max = Point::new(f64::NEG_INFINITY, f64::NEG_INFINITY);
        let mut cover = |low: Point, high: Point| {
            min = Point::new(min.x.min(low.x), min.y.min(low.y));
            max = Point::new(max.x.max(high.x), max.y.max(high.y));
        };
        for shape in &self.shapes {
            match shape {
                Shape::Rect { at, size, stroke_width, .. } => {
                    let half = *stroke_width as f64 / 2.0;
                    cover(at.sub(Point::splat(half)), at.add(*size).add(Point::splat(half)));
                }
                Shape::Ellipse { centre, radii, stroke_width, .. } => {
                    let reach = radii.add(Point::splat(*stroke_width as f64 / 2.0));
                    cover(centre.sub(reach), centre.add(reach));
                }
                Shape::Text { .. } => {
                    if let Some((low, high)) = text_box(shape) {
                        cover(low, high);
                    }
                }
                Shape::Path { start, segments, heads, .. } => {
                    let mut from = *start;
                    for segment in segments {
                        for point in sample(from, segment) {
                            cover(point, point);
                        }
                        from = segment[2];
                    }
                    // An arrowhead lies within its length of the point it ends on.
                    let head = Point::splat(ARROW_LENGTH / 2.0);
                    if heads.0 {
                        cover(start.sub(head), start.add(head));
                    }
                    if heads.1 {
                        cover(from.sub(head), from.add(head));
                    }
                }
            }
        }
        if min.x > max.x {
            return (Point::zero(), Point::zero());
        }
        (min, max)
    }

    /// The drawing as an SVG document whose size and `viewBox` are its bounds and a margin.
    pub(super) fn to_svg(&self) -> String {
        let (min, max) = self.bounds();
        let (left, top) = (min.x - MARGIN, min.y - MARGIN);
        let (width, height) = (max.x - min.x + 2.0 * MARGIN, max.y - min.y + 2.0 * MARGIN);
        let mut svg = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
        let _ = writeln!(
            svg,
            "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{}\" height=\"{}\" viewBox=\"{} {} {} {}\" \
             font-family=\"{}\" style=\"background-color: white\">",
            number(width),
            number(height),
            number(left),
            number(top),
            number(width),
            number(height),
            FONT_FAMILY
        );
        let colours: BTreeSet<&str> = self
            .shapes
            .iter()
            .filter_map(|shape| match shape {
                Shape::Path { stroke, heads, .. } if heads.0 || heads.1 => Some(stroke.as_str()),
                _ => None,
            })
            .collect();
        if !colours.is_empty() {
            svg.push_str("<defs>\n");
            for colour in colours {
                let _ = writeln!(
                    svg,
                    "<marker id=\"{}\" markerWidth=\"{ARROW_LENGTH}\" markerHeight=\"7\" refX=\"{ARROW_LENGTH}\" \
                     refY=\"3.5\" orient=\"auto-start-reverse\"><path d=\"M0,0 L{ARROW_LENGTH},3.5 L0,7 z\" \
                     fill=\"{colour}\"/></marker>",
                    marker_id(colour)
                );
            }
            svg.push_str("</defs>\n");
        }
        let mut open_node = None;
        for shape in &self.shapes {
            let node = match shape {
                Shape::Rect { node, .. } | Shape::Text { node, .. } => *node,
                _ => None,
            };
            if open_node.is_some() && open_node != node {
                svg.push_str("</g>\n");
                open_node = None;
            }
            if node.is_some() && open_node.is_none() {
                let _ = writeln!(svg, "<g class=\"node\" data-node=\"{}\">", node.unwrap_or_default());
                open_node = node;
            }
            write_shape(&mut svg, shape);
        }
        if open_node.is_some() {
            svg.push_str("</g>\n");
        }
        svg.push_str("</svg>\n");
        svg
    }
}

/// Arrowheads are this long, in user units (lines are 1 wide).
const ARROW_LENGTH: f64 = 10.0;

fn marker_id(colour: &str) -> String {
    format!("arrow-{}", colour.trim_start_matches('#'))
}

/// Points along a cubic segment from `from`, close enough together that their bounds are
/// the curve's within a fraction of a pixel.
fn sample(from: Point, [c1, c2, end]: &Cubic) -> impl Iterator<Item = Point> + '_ {
    const STEPS: usize = 32;
    (0..=STEPS).map(move |step| {
        let t = step as f64 / STEPS as f64;
        let u = 1.0 - t;
        let weights = [u * u * u, 3.0 * u * u * t, 3.0 * u * t * t, t * t * t];
        let points = [from, *c1, *c2, *end];
        points.iter().zip(weights).fold(Point::zero(), |sum, (point, weight)| sum.add(point.scale(weight)))
    })
}

/// The box a text's lines take, from the width estimate.
fn text_box(shape: &Shape) -> Option<(Point, Point)> {
    let Shape::Text { at, lines, font_size, anchor, .. } = shape else { return None };
    let width = lines.iter().map(|line| text_width(line, *font_size)).fold(0.0, f64::max);
    let height = lines.len() as f64 * font_size * LINE_HEIGHT;
    let left = match anchor {
        Anchor::Start => at.x,
        Anchor::Middle => at.x - width / 2.0,
        Anchor::End => at.x - width,
    };
    Some((Point::new(left, at.y - height / 2.0), Point::new(left + width, at.y + height / 2.0)))
}

fn write_shape(svg: &mut String, shape: &Shape) {
    match shape {
        Shape::Rect { at, size, fill, stroke, stroke_width, .. } => {
            let _ = writeln!(
                svg,
                "<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"{}\" stroke=\"{stroke}\" \
                 stroke-width=\"{stroke_width}\"/>",
                number(at.x),
                number(at.y),
                number(size.x),
                number(size.y),
                fill.as_deref().unwrap_or("none"),
            );
        }
        Shape::Ellipse { centre, radii, fill, stroke, stroke_width } => {
            let _ = writeln!(
                svg,
                "<ellipse cx=\"{}\" cy=\"{}\" rx=\"{}\" ry=\"{}\" fill=\"{}\" stroke=\"{stroke}\" \
                 stroke-width=\"{stroke_width}\"/>",
                number(centre.x),
                number(centre.y),
                number(radii.x),
                number(radii.y),
                fill.as_deref().unwrap_or("none"),
            );
        }
        Shape::Text { at, lines, font_size, anchor, node } => {
            let class = if node.is_some() { "label" } else { "edge-label" };
            let _ = write!(
                svg,
                "<text class=\"{class}\" text-anchor=\"{}\" dominant-baseline=\"central\" font-size=\"{}\">",
                anchor.name(),
                number(*font_size)
            );
            let first = at.y - (lines.len() as f64 - 1.0) * font_size * LINE_HEIGHT / 2.0;
            for (k, line) in lines.iter().enumerate() {
                let _ = write!(
                    svg,
                    "<tspan x=\"{}\" y=\"{}\">{}</tspan>",
                    number(at.x),
                    number(first + k as f64 * font_size * LINE_HEIGHT),
                    escape(line)
                );
            }
            svg.push_str("</text>\n");
        }
        Shape::Path { start, segments, stroke, stroke_width, dashed, heads, self_loop } => {
            let mut d = format!("M {} {}", number(start.x), number(start.y));
            for [c1, c2, end] in segments {
                let _ = write!(
                    d,
                    " C {} {} {} {} {} {}",
                    number(c1.x),
                    number(c1.y),
                    number(c2.x),
                    number(c2.y),
                    number(end.x),
                    number(end.y)
                );
            }
            let class = if self_loop.is_some() { "edge self-loop" } else { "edge" };
            let _ = write!(svg, "<path class=\"{class}\"");
            if let Some(node) = self_loop {
                let _ = write!(svg, " data-node=\"{node}\"");
            }
            let _ = write!(svg, " d=\"{d}\" fill=\"none\" stroke=\"{stroke}\" stroke-width=\"{stroke_width}\"");
            if *dashed {
                svg.push_str(" stroke-dasharray=\"3,3\"");
            }
            if heads.0 {
                let _ = write!(svg, " marker-start=\"url(#{})\"", marker_id(stroke));
            }
            if heads.1 {
                let _ = write!(svg, " marker-end=\"url(#{})\"", marker_id(stroke));
            }
            svg.push_str("/>\n");
        }
    }
}

/// A coordinate with at most two decimals, no trailing zeros.
fn number(x: f64) -> String {
    let text = format!("{x:.2}");
    let text = text.trim_end_matches('0').trim_end_matches('.');
    if text == "-0" { "0".to_owned() } else { text.to_owned() }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_are_short() {
        assert_eq!(number(1.0), "1");
        assert_eq!(number(1.255), "1.25");
        assert_eq!(number(-0.001), "0");
        assert_eq!(number(170.00099999999998), "170");
    }

    #[test]
    fn colours_drop_an_opaque_alpha() {
        assert_eq!(web_colour(Color::fast("red")).as_deref(), Some("#ff0000"));
        assert_eq!(web_colour(Color::transparent()), None);
    }

    #[test]
    fn the_bounds_of_a_curve_are_its_own_not_its_control_points() {
        let mut canvas = Canvas::default();
        canvas.shapes.push(Shape::Path {
            start: Point::new(0.0, 0.0),
            segments: vec![[Point::new(0.0, 100.0), Point::new(100.0, 100.0), Point::new(100.0, 0.0)]],
            stroke: "#000000".to_owned(),
            stroke_width: 1,
            dashed: false,
            heads: (false, false),
            self_loop: None,
        });
        let (min, max) = canvas.bounds();
        assert!((max.y - 75.0).abs() < 0.5, "{max:?}");
        assert_eq!((min.x, max.x), (0.0, 100.0));
    }
}
