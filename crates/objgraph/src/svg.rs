//! Pictures of a [`Graph`]: SVG through Graphviz's `dot` when it is installed, through the
//! pure-Rust layout-rs otherwise, so that a bare machine still gets a picture.

use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};

use layout::backends::svg::SVGWriter;
use layout::core::base::Orientation;
use layout::core::color::Color;
use layout::core::style::{LineStyleKind, StyleAttr};
use layout::std_shapes::render::get_shape_size;
use layout::std_shapes::shapes::{Arrow, Element, LineEndKind, ShapeKind};
use layout::topo::layout::VisualGraph;

use crate::graph::{Graph, Hsv};

/// Which program lays out and draws a graph.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Renderer {
    /// Graphviz's `dot` if it is on the `PATH`, the built-in renderer otherwise.
    #[default]
    Auto,
    /// Graphviz's `dot`; an error if it is not installed.
    Graphviz,
    /// The built-in pure-Rust renderer (layout-rs): simpler layouts, no Graphviz needed.
    Builtin,
}

/// Why a graph could not be drawn or saved.
#[derive(Debug)]
#[non_exhaustive]
pub enum RenderError {
    /// Graphviz's `dot` is not installed, and the output asked for needs it.
    GraphvizNotFound,
    /// `dot` ran and failed.
    Graphviz {
        /// Its exit status.
        status: std::process::ExitStatus,
        /// What it wrote to standard error.
        stderr: String,
    },
    /// The built-in renderer failed on this graph.
    Builtin(String),
    /// Writing a file or talking to `dot` failed.
    Io(std::io::Error),
}

impl std::fmt::Display for RenderError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RenderError::GraphvizNotFound => {
                write!(f, "Graphviz's `dot` is not installed; save as .dot or .svg, which do not need it")
            }
            RenderError::Graphviz { status, stderr } => write!(f, "`dot` failed ({status}): {}", stderr.trim()),
            RenderError::Builtin(message) => write!(f, "the built-in renderer failed: {message}"),
            RenderError::Io(error) => write!(f, "{error}"),
        }
    }
}

impl std::error::Error for RenderError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            RenderError::Io(error) => Some(error),
            _ => None,
        }
    }
}

impl From<std::io::Error> for RenderError {
    fn from(error: std::io::Error) -> Self {
        RenderError::Io(error)
    }
}

impl Graph {
    /// The graph as SVG: Graphviz's layout when `dot` is installed, the built-in one
    /// otherwise (or when `dot` fails).
    pub fn to_svg(&self) -> Result<String, RenderError> {
        self.render_svg(Renderer::Auto)
    }

    /// The graph as SVG, drawn by `renderer`.
    pub fn render_svg(&self, renderer: Renderer) -> Result<String, RenderError> {
        match renderer {
            Renderer::Graphviz => self.graphviz("svg").map(|bytes| String::from_utf8_lossy(&bytes).into_owned()),
            Renderer::Builtin => self.builtin_svg(),
            Renderer::Auto => match self.render_svg(Renderer::Graphviz) {
                Ok(svg) => Ok(svg),
                Err(_) => self.builtin_svg(),
            },
        }
    }

    /// Saves the graph to `path` in the format its extension names (objgraph's
    /// `filename=`): `.dot` writes DOT, `.svg` writes SVG (never needing Graphviz), any other
    /// extension (`.png`, `.pdf`, ...) is handed to Graphviz's `dot -T<extension>`.
    pub fn save(&self, path: impl AsRef<Path>) -> Result<(), RenderError> {
        let path = path.as_ref();
        let extension = path.extension().and_then(|e| e.to_str()).unwrap_or("dot").to_ascii_lowercase();
        let bytes = match extension.as_str() {
            "dot" | "gv" => self.to_dot().into_bytes(),
            "svg" => self.to_svg()?.into_bytes(),
            format => self.graphviz(format)?,
        };
        std::fs::write(path, bytes)?;
        Ok(())
    }

    /// Runs `dot -T<format>` on the DOT text.
    fn graphviz(&self, format: &str) -> Result<Vec<u8>, RenderError> {
        let mut child = match Command::new("dot")
            .arg(format!("-T{format}"))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
        {
            Ok(child) => child,
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Err(RenderError::GraphvizNotFound),
            Err(error) => return Err(error.into()),
        };
        // `dot` reads all of its input before writing, so writing first cannot deadlock.
        child.stdin.take().expect("stdin is piped").write_all(self.to_dot().as_bytes())?;
        let output = child.wait_with_output()?;
        if !output.status.success() {
            return Err(RenderError::Graphviz {
                status: output.status,
                stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
            });
        }
        Ok(output.stdout)
    }

    /// Lays the graph out with layout-rs.
    fn builtin_svg(&self) -> Result<String, RenderError> {
        let draw = || {
            let mut visual = VisualGraph::new(Orientation::TopToBottom);
            let handles: Vec<_> = self
                .nodes
                .iter()
                .map(|node| {
                    let outline = if node.start { "red" } else { "black" };
                    visual.add_node(shape(
                        ShapeKind::new_box(&node.label.join("\n")),
                        outline,
                        if node.start { 2 } else { 1 },
                        node.fill,
                        14,
                    ))
                })
                .collect();
            for (i, node) in self.nodes.iter().enumerate() {
                if node.finalizer {
                    let marker = visual.add_node(shape(
                        ShapeKind::new_double_circle("finalize"),
                        "red",
                        1,
                        Hsv(0.0, 0.5, 1.0),
                        8,
                    ));
                    visual.add_edge(arrow("", "red", LineStyleKind::Dotted), handles[i], marker);
                }
                for edge in &node.edges {
                    visual.add_edge(
                        arrow(&edge.label, "black", LineStyleKind::Normal),
                        handles[edge.from],
                        handles[edge.to],
                    );
                }
                if let Some((skipped, fill)) = node.overflow {
                    let label = if self.backrefs {
                        format!("{skipped} more backreferences")
                    } else {
                        format!("{skipped} more references")
                    };
                    let overflow = visual.add_node(shape(ShapeKind::new_box(&label), "red", 1, fill, 8));
                    let (from, to) = if self.backrefs { (overflow, handles[i]) } else { (handles[i], overflow) };
                    visual.add_edge(arrow("", "red", LineStyleKind::Dotted), from, to);
                }
            }
            let mut svg = SVGWriter::new();
            visual.do_it(false, false, false, &mut svg);
            svg.finalize()
        };
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(draw)).map_err(|panic| {
            let message = panic
                .downcast_ref::<&str>()
                .map(|s| (*s).to_owned())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "panicked".to_owned());
            RenderError::Builtin(message)
        })
    }
}

/// A node for layout-rs, sized for its label.
fn shape(kind: ShapeKind, outline: &str, width: usize, fill: Hsv, font_size: usize) -> Element {
    // layout-rs lays text out across the graph's direction: a top-down graph's boxes are
    // sized left to right.
    let direction = Orientation::LeftToRight;
    let size = get_shape_size(direction, &kind, font_size, matches!(kind, ShapeKind::DoubleCircle(_)));
    // layout-rs draws all text black: deep fills are lightened to keep labels readable
    // where Graphviz would switch to white text.
    let fill = Hsv(fill.0, fill.1, fill.2.max(0.6));
    let look = StyleAttr::new(Color::fast(outline), width, Color::from_name(&fill.to_rgb_hex()), 0, font_size);
    Element::create(kind, look, direction, size)
}

fn arrow(label: &str, colour: &str, style: LineStyleKind) -> Arrow {
    let look = StyleAttr::new(Color::fast(colour), 1, None, 0, 12);
    Arrow::new(LineEndKind::None, LineEndKind::Arrow, style, label, &look, &None, &None)
}
