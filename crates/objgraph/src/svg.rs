//! Pictures of a [`Graph`]: SVG through Graphviz's `dot` when it is installed, through the
//! pure-Rust layout-rs otherwise, so that a bare machine still gets a picture.
//!
//! The built-in renderer uses layout-rs for placing nodes and routing edges only: it draws
//! on a canvas of ours ([`canvas`]) that sizes boxes to their text ([`text`]), draws a
//! reference from an object to itself as a loop on its box, fits the picture to the
//! drawing, and names fonts with CJK fallbacks so that Chinese labels show.

use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};

mod builtin;
mod canvas;
mod text;

use crate::graph::Graph;

/// Which program lays out and draws a graph.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Renderer {
    /// Graphviz's `dot` if it is on the `PATH`, the built-in renderer otherwise.
    #[default]
    Auto,
    /// Graphviz's `dot`; an error if it is not installed.
    Graphviz,
    /// The built-in pure-Rust renderer (layout-rs): simpler layouts, no Graphviz needed. Its
    /// layout time grows much faster than the graph: it reorders layers to cross fewer
    /// edges only in small graphs, and refuses ([`RenderError::Builtin`]) a graph of more
    /// than about a thousand nodes to lay out (objects, a connector per reference, and a
    /// dummy node per layer a reference crosses: a tree of some 250 objects, fewer when many
    /// references cross layers), which would take minutes. Graphviz has no such bound.
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

/// So that `graph.save(path)?` works in a function returning `io::Result`, as an xtask's
/// report writer does ([`Report::write_to`](crate::Report::write_to) returns one): an I/O
/// failure stays itself, the others become [`std::io::ErrorKind::Other`] with their message.
impl From<RenderError> for std::io::Error {
    fn from(error: RenderError) -> Self {
        match error {
            RenderError::Io(error) => error,
            other => std::io::Error::other(other),
        }
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
        std::fs::write(path, bytes).map_err(|error| {
            std::io::Error::new(error.kind(), format!("could not write {}: {error}", path.display()))
        })?;
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

    /// Lays the graph out with layout-rs and draws it on our canvas.
    fn builtin_svg(&self) -> Result<String, RenderError> {
        builtin::render(self).map_err(RenderError::Builtin)
    }
}
