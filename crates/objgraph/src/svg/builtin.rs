//! The built-in renderer: layout-rs places the nodes and routes the edges; our canvas draws
//! them, sizing every box to its text and every picture to its drawing.

use layout::core::base::Orientation;
use layout::core::color::Color;
use layout::core::geometry::Point;
use layout::core::style::{LineStyleKind, StyleAttr};
use layout::std_shapes::shapes::{Arrow, Element, LineEndKind, ShapeKind};
use layout::topo::layout::VisualGraph;

use super::canvas::{Canvas, LINE_HEIGHT, node_property, self_loop_property};
use super::text::{text_width, wrap};
use crate::graph::{Graph, Hsv};

/// Font sizes, as Graphviz draws objgraph's graphs: labels, edge labels, markers.
const NODE_FONT: f64 = 14.0;
const EDGE_FONT: f64 = 12.0;
const MARKER_FONT: f64 = 8.0;

/// Lines longer than this many pixels are wrapped where they can break.
const MAX_NODE_LINE: f64 = 420.0;
const MAX_EDGE_LINE: f64 = 260.0;

/// Space between a box's text and its border.
const PADDING_X: f64 = 8.0;
const PADDING_Y: f64 = 5.0;

/// An estimate of the nodes layout-rs places for `graph`: its objects, a connector per
/// labelled reference, and a dummy node for each layer a reference crosses (levels from a
/// walk out of the start objects, each reference two layers long through its connector).
fn layout_size(graph: &Graph) -> usize {
    let count = graph.nodes.len();
    let mut level = vec![usize::MAX; count];
    let mut queue = std::collections::VecDeque::new();
    for (i, node) in graph.nodes.iter().enumerate() {
        if node.start {
            level[i] = 0;
            queue.push_back(i);
        }
    }
    // References as the layout sees them: from the referrer, or to it in a backrefs graph.
    let mut out: Vec<Vec<usize>> = vec![Vec::new(); count];
    for node in &graph.nodes {
        for edge in &node.edges {
            let (from, to) = if graph.backrefs { (edge.to, edge.from) } else { (edge.from, edge.to) };
            out[from].push(to);
        }
    }
    while let Some(at) = queue.pop_front() {
        for &next in &out[at] {
            if level[next] == usize::MAX {
                level[next] = level[at] + 1;
                queue.push_back(next);
            }
        }
    }
    let level_of = |i: usize| if level[i] == usize::MAX { 0 } else { level[i] };
    let crossed: usize = out
        .iter()
        .enumerate()
        .flat_map(|(from, tos)| tos.iter().map(move |&to| (from, to)))
        .map(|(from, to)| (2 * level_of(from).abs_diff(level_of(to))).saturating_sub(1))
        .sum();
    count + graph.edge_count() + crossed
}

/// The largest [`layout_size`] laid out: layout-rs's placement grows much faster than the
/// graph (on this machine, 900 laid-out nodes took 0.05 s, 1,800 from 0.7 to 23 s, 3,700 over
/// 10 s), so a larger graph is refused rather than left to run for minutes.
const MAX_LAYOUT_SIZE: usize = 1_000;

/// Up to this [`layout_size`], layout-rs also reorders each layer to cross fewer edges, which
/// costs seconds on larger graphs with many crossing references.
const MAX_OPTIMIZED_SIZE: usize = 250;

/// `graph` as SVG, laid out by layout-rs.
pub(super) fn render(graph: &Graph) -> Result<String, String> {
    if graph.nodes.is_empty() {
        // Nothing to lay out (layout-rs refuses an empty graph): an empty picture.
        return Ok(String::from(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<svg xmlns=\"http://www.w3.org/2000/svg\" \
             width=\"16\" height=\"16\" viewBox=\"0 0 16 16\" style=\"background-color: white\"></svg>\n",
        ));
    }
    let size = layout_size(graph);
    if size > MAX_LAYOUT_SIZE {
        return Err(format!(
            "this graph of {} objects and {} references is too large for the built-in renderer (about {size} \
             nodes to lay out, at most {MAX_LAYOUT_SIZE}: it would take minutes); install Graphviz, or draw less \
             (a smaller max_depth or too_many, a filter, show_chain)",
            graph.nodes.len(),
            graph.edge_count()
        ));
    }
    let draw = || {
        let mut visual = VisualGraph::new(Orientation::TopToBottom);
        let handles: Vec<_> = graph
            .nodes
            .iter()
            .enumerate()
            .map(|(i, node)| {
                let outline = if node.start { "red" } else { "black" };
                let lines = wrapped(&node.label, NODE_FONT, MAX_NODE_LINE);
                let look = look(outline, if node.start { 2 } else { 1 }, Some(node.fill), NODE_FONT);
                let mut element = boxed(&lines, look, NODE_FONT);
                element.properties = Some(node_property(i));
                visual.add_node(element)
            })
            .collect();
        for (i, node) in graph.nodes.iter().enumerate() {
            if node.finalizer {
                let marker = visual.add_node(finalize_marker());
                visual.add_edge(arrow(&[], "red", LineStyleKind::Dotted), handles[i], marker);
            }
            for edge in &node.edges {
                let label = wrapped(std::slice::from_ref(&edge.label), EDGE_FONT, MAX_EDGE_LINE);
                let mut arrow = arrow(&label, "black", LineStyleKind::Normal);
                if edge.from == edge.to {
                    arrow.properties = Some(self_loop_property(edge.from));
                }
                visual.add_edge(arrow, handles[edge.from], handles[edge.to]);
            }
            if let Some((skipped, fill)) = node.overflow {
                let label = if graph.backrefs {
                    format!("{skipped} more backreferences")
                } else {
                    format!("{skipped} more references")
                };
                let overflow = visual.add_node(boxed(&[label], look("red", 1, Some(fill), MARKER_FONT), MARKER_FONT));
                let (from, to) = if graph.backrefs { (overflow, handles[i]) } else { (handles[i], overflow) };
                visual.add_edge(arrow(&[], "red", LineStyleKind::Dotted), from, to);
            }
        }
        let mut canvas = Canvas::default();
        visual.do_it(false, size > MAX_OPTIMIZED_SIZE, false, &mut canvas);
        canvas.lift_bends_out_of_boxes();
        canvas.loop_self_references(|i| {
            let label = graph.nodes[i].edges.iter().find(|edge| edge.to == i && edge.from == i).map(|edge| &edge.label);
            wrapped(label.map(std::slice::from_ref).unwrap_or_default(), EDGE_FONT, MAX_EDGE_LINE)
        });
        canvas.to_svg()
    };
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(draw)).map_err(|panic| {
        panic
            .downcast_ref::<&str>()
            .map(|s| (*s).to_owned())
            .or_else(|| panic.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "panicked".to_owned())
    })
}

/// Every line of `lines` wrapped to `max_width`.
fn wrapped(lines: &[String], font_size: f64, max_width: f64) -> Vec<String> {
    lines.iter().flat_map(|line| wrap(line, font_size, max_width)).collect()
}

/// A box sized for `lines`.
fn boxed(lines: &[String], look: StyleAttr, font_size: f64) -> Element {
    let width = lines.iter().map(|line| text_width(line, font_size)).fold(0.0, f64::max);
    let height = lines.len().max(1) as f64 * font_size * LINE_HEIGHT;
    let size = Point::new(width + 2.0 * PADDING_X, height + 2.0 * PADDING_Y);
    // layout-rs lays text out across the graph's direction: a top-down graph's boxes are
    // sized left to right.
    Element::create(ShapeKind::new_box(&lines.join("\n")), look, Orientation::LeftToRight, size)
}

/// objgraph's red `finalize` marker: a small double circle.
fn finalize_marker() -> Element {
    let diameter = text_width("finalize", MARKER_FONT) + 6.0;
    let look = look("red", 1, Some(Hsv(0.0, 0.5, 1.0)), MARKER_FONT);
    Element::create(ShapeKind::new_double_circle("finalize"), look, Orientation::LeftToRight, Point::splat(diameter))
}

fn look(outline: &str, width: usize, fill: Option<Hsv>, font_size: f64) -> StyleAttr {
    // The canvas draws all text black: deep fills are lightened to keep labels readable
    // where Graphviz would switch to white text.
    let fill = fill.map(|Hsv(h, s, v)| Hsv(h, s, v.max(0.6)));
    let fill = fill.and_then(|fill| Color::from_name(&fill.to_rgb_hex()));
    StyleAttr::new(Color::fast(outline), width, fill, 0, font_size as usize)
}

fn arrow(label: &[String], colour: &str, style: LineStyleKind) -> Arrow {
    let look = StyleAttr::new(Color::fast(colour), 1, None, 0, EDGE_FONT as usize);
    Arrow::new(LineEndKind::None, LineEndKind::Arrow, style, &label.join("\n"), &look, &None, &None)
}
