//! DOT text for a [`Graph`], written with dot-writer in objgraph's conventions.

use std::fmt;
use std::io::{self, Write};

use dot_writer::{Attributes, DotWriter};

use crate::graph::{Graph, Hsv};

impl Graph {
    /// The graph as DOT text.
    pub fn to_dot(&self) -> String {
        String::from_utf8(self.dot_bytes()).expect("DOT is written from UTF-8 strings")
    }

    /// Writes the graph as DOT text to `out` (objgraph's `output=`).
    pub fn write_dot(&self, out: &mut dyn Write) -> io::Result<()> {
        out.write_all(&self.dot_bytes())
    }

    /// dot-writer panics on a failed write, so it writes to memory only. The graph is named
    /// `ObjectGraph`, as objgraph names it (Graphviz titles its SVG with the name), which
    /// dot-writer has no call for: the name goes in after the keyword it writes first.
    fn dot_bytes(&self) -> Vec<u8> {
        let mut bytes = b"digraph ObjectGraph".to_vec();
        let start = bytes.len();
        {
            let mut writer = DotWriter::from(&mut bytes);
            let mut digraph = writer.digraph();
            digraph.node_attributes().set("shape", "box", false).set("style", "filled", false).set(
                "fillcolor",
                "white",
                false,
            );
            for (i, node) in self.nodes.iter().enumerate() {
                let id = node_id(i);
                {
                    let mut statement = digraph.node_named(id.as_str());
                    statement.set("label", &quote(&node.label.join("\n")), true);
                    for (name, value) in &node.attrs {
                        statement.set(&attribute_name(name), &quote(value), true);
                    }
                    statement.set("fillcolor", &hsv(node.fill), true);
                    if node.start {
                        statement.set("fontcolor", "red", false);
                    } else if node.fill.2 < 0.5 {
                        statement.set("fontcolor", "white", false);
                    }
                }
                if node.finalizer {
                    let marker = format!("{id}_finalize");
                    marker_edge(&mut digraph, &id, &marker);
                    digraph
                        .node_named(marker.as_str())
                        .set("label", "finalize", true)
                        .set("shape", "doublecircle", false)
                        .set("height", "0.25", false)
                        .set("color", "red", false)
                        .set("fillcolor", "0,.5,1", true)
                        .set("fontsize", "6", false);
                }
                for edge in &node.edges {
                    let statement = digraph.edge(node_id(edge.from), node_id(edge.to));
                    if !edge.label.is_empty() {
                        statement.attributes().set("label", &quote(&edge.label), true);
                    }
                }
                if let Some((skipped, fill)) = node.overflow {
                    let overflow = format!("too_many_{id}");
                    let (label, from, to) = if self.backrefs {
                        (format!("{skipped} more backreferences"), overflow.as_str(), id.as_str())
                    } else {
                        (format!("{skipped} more references"), id.as_str(), overflow.as_str())
                    };
                    marker_edge(&mut digraph, from, to);
                    digraph
                        .node_named(overflow.as_str())
                        .set("label", &label, true)
                        .set("shape", "box", false)
                        .set("height", "0.25", false)
                        .set("color", "red", false)
                        .set("fillcolor", &hsv(fill), true)
                        .set("fontsize", "6", false)
                        .set("fontcolor", "white", false);
                }
            }
        }
        debug_assert!(bytes[start..].starts_with(b"digraph "), "dot-writer writes the keyword first");
        bytes.drain(start..start + b"digraph".len());
        bytes
    }
}

impl fmt::Display for Graph {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_dot())
    }
}

/// objgraph's short red dotted edge to a marker node (a finalizer, an overflow).
fn marker_edge(digraph: &mut dot_writer::Scope<'_, '_>, from: &str, to: &str) {
    digraph
        .edge(from, to)
        .attributes()
        .set("color", "red", false)
        .set("style", "dotted", false)
        .set("len", "0.25", false)
        .set("weight", "10", false);
}

pub(crate) fn node_id(i: usize) -> String {
    format!("o{i}")
}

/// `"h,s,v"` with each number as C's `%g` writes it, as objgraph does.
fn hsv(Hsv(h, s, v): Hsv) -> String {
    format!("{},{},{}", general(h), general(s), general(v))
}

/// C's `%g` for numbers in `0..=1`: six significant digits, no trailing zeros.
fn general(x: f64) -> String {
    if x == 0.0 {
        return "0".to_owned();
    }
    let magnitude = x.abs().log10().floor() as i32;
    let decimals = (5 - magnitude).max(0) as usize;
    let text = format!("{x:.decimals$}");
    if text.contains('.') { text.trim_end_matches('0').trim_end_matches('.').to_owned() } else { text }
}

/// The body of a DOT double-quoted string showing `text` as it reads: backslashes and
/// quotes escaped, newlines as DOT's `\n` line breaks, `&` as `&amp;` (Graphviz reads HTML
/// entities in every label). dot-writer writes quoted values as given, so this is the only
/// escaping they get. Labels reach here with their control characters made visible.
pub(crate) fn quote(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    for c in text.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            '&' => out.push_str("&amp;"),
            c if crate::graph::unwritable(c) => {
                out.push_str(&crate::graph::visible(&c.to_string()).replace('\\', "\\\\"))
            }
            c => out.push(c),
        }
    }
    out
}

/// A user's attribute name, quoted unless it is a plain DOT identifier.
fn attribute_name(name: &str) -> String {
    let plain = !name.is_empty()
        && !name.starts_with(|c: char| c.is_ascii_digit())
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    if plain { name.to_owned() } else { format!("\"{}\"", quote(name)) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn general_matches_c_percent_g() {
        assert_eq!(general(1.0), "1");
        assert_eq!(general(0.0), "0");
        assert_eq!(general(0.3), "0.3");
        assert_eq!(general(1.0 - 0.7 / 3.0), "0.766667");
        assert_eq!(general(0.6), "0.6");
        assert_eq!(general(0.5 + 0.3 * 0.5), "0.65");
    }

    #[test]
    fn quote_escapes_what_dot_and_graphviz_would_read() {
        assert_eq!(quote(r#"a "b" \c"#), r#"a \"b\" \\c"#);
        assert_eq!(quote("one\ntwo"), "one\\ntwo");
        assert_eq!(quote("a & b"), "a &amp; b");
        assert_eq!(quote("\0"), "\\\\x00");
    }

    #[test]
    fn attribute_names_are_quoted_unless_plain() {
        assert_eq!(attribute_name("URL"), "URL");
        assert_eq!(attribute_name("my attr"), "\"my attr\"");
        assert_eq!(attribute_name("1x"), "\"1x\"");
    }
}
