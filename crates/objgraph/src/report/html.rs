//! The report as one HTML page that works from the file system: no server, no network,
//! CSS and script inline, graphs as the SVG files beside it.
//!
//! The page is complete without its script — every table is there, sorted as the report
//! sorted it — and the script adds sorting by column, the filter box and the page-address
//! parameters (`page.js`).

use std::fmt::Write as _;

use super::model::{Block, Figure, ReportData, Section, TableData};
use super::{Cell, leak};
use crate::markup::escape;

const STYLE: &str = include_str!("page.css");
const SCRIPT: &str = include_str!("page.js");

pub(super) fn render(data: &ReportData) -> String {
    let title = escape(&data.title);
    let mut html = format!(
        "<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>{title}</title>\n<style>\n{STYLE}</style>\n</head>\n<body>\n<h1>{title}</h1>\n"
    );
    // An untitled first section is the report's introduction: it comes before the filter
    // box and the contents.
    let (introduction, sections) = match data.sections.split_first() {
        Some((first, rest)) if first.title.is_empty() => (Some(first), rest),
        _ => (None, &data.sections[..]),
    };
    let mut tables = 0;
    if let Some(introduction) = introduction {
        section_html(&mut html, introduction, &mut tables);
    }
    let has_tables = data.sections.iter().flat_map(|section| &section.blocks).any(|block| match block {
        Block::Table(_) => true,
        Block::LeakCheck(leak_check) => !leak::tables(leak_check).is_empty(),
        _ => false,
    });
    if has_tables {
        html.push_str(
            "<div class=\"filter\"><label>Filter the tables: <input id=\"filter\" type=\"search\" \
             placeholder=\"a type name\" autocomplete=\"off\"></label><output id=\"filter-count\"></output></div>\n",
        );
    }
    let titled: Vec<_> = sections.iter().filter(|section| !section.title.is_empty()).collect();
    if titled.len() > 1 {
        html.push_str("<nav><ol>\n");
        for section in titled {
            let _ = writeln!(html, "<li><a href=\"#{}\">{}</a></li>", escape(&section.anchor), escape(&section.title));
        }
        html.push_str("</ol></nav>\n");
    }
    for section in sections {
        section_html(&mut html, section, &mut tables);
    }
    let _ = write!(html, "<script>\n{SCRIPT}</script>\n</body>\n</html>\n");
    html
}

/// A section; `tables` counts the tables written so far, for their ids.
fn section_html(html: &mut String, section: &Section, tables: &mut usize) {
    let _ = writeln!(html, "<section id=\"{}\">", escape(&section.anchor));
    if !section.title.is_empty() {
        let _ = writeln!(html, "<h2>{}</h2>", escape(&section.title));
    }
    for block in &section.blocks {
        match block {
            Block::Paragraph { text } => {
                let _ = writeln!(html, "<p>{}</p>", escape(text));
            }
            Block::Preformatted { text } => {
                let _ = writeln!(html, "<pre>{}</pre>", escape(text.trim_end_matches('\n')));
            }
            Block::Table(table) => {
                *tables += 1;
                table_html(html, table, *tables);
            }
            Block::Figure(figure) => figure_html(html, figure),
            Block::LeakCheck(leak_check) => {
                for table in leak::tables(leak_check) {
                    *tables += 1;
                    table_html(html, &table, *tables);
                }
            }
        }
    }
    html.push_str("</section>\n");
}

fn table_html(html: &mut String, table: &TableData, number: usize) {
    let numeric = table.numeric_columns();
    let _ = writeln!(html, "<table class=\"data\" id=\"table-{number}\">");
    let _ = writeln!(html, "<caption>{}</caption>", escape(&table.caption));
    html.push_str("<thead><tr>");
    for (column, numeric) in table.columns.iter().zip(&numeric) {
        let _ = write!(
            html,
            "<th scope=\"col\" data-key=\"{}\" data-kind=\"{}\"><button type=\"button\">{}</button></th>",
            escape(&column.key),
            if *numeric { "number" } else { "text" },
            escape(&column.title)
        );
    }
    if let Some(title) = &table.details_title {
        let _ = write!(html, "<th scope=\"col\">{}</th>", escape(title));
    }
    html.push_str("</tr></thead>\n<tbody>\n");
    for row in &table.rows {
        html.push_str("<tr");
        if !row.keywords.is_empty() {
            let _ = write!(html, " data-keywords=\"{}\"", escape(&row.keywords));
        }
        html.push('>');
        for cell in &row.cells {
            match cell {
                Cell::Text(text) => {
                    let _ = write!(html, "<td>{}</td>", escape(text));
                }
                Cell::Number(number) => {
                    let _ = write!(html, "<td class=\"number\" data-value=\"{number}\">{number}</td>");
                }
                Cell::Change(change) => {
                    let class = match change.signum() {
                        1 => "number growth",
                        -1 => "number shrink",
                        _ => "number",
                    };
                    let _ = write!(html, "<td class=\"{class}\" data-value=\"{change}\">{change:+}</td>");
                }
            }
        }
        if table.details_title.is_some() {
            match &row.details {
                Some(details) => {
                    let _ = write!(
                        html,
                        "<td><details><summary>{}</summary><pre>{}</pre></details></td>",
                        escape(&details.summary),
                        escape(&details.text)
                    );
                }
                None => html.push_str("<td></td>"),
            }
        }
        html.push_str("</tr>\n");
    }
    html.push_str("</tbody>\n</table>\n");
}

fn figure_html(html: &mut String, figure: &Figure) {
    let name = escape(&figure.name);
    let caption = escape(&figure.caption);
    let _ = writeln!(html, "<figure id=\"figure-{name}\">");
    match &figure.error {
        Some(error) => {
            let _ = writeln!(html, "<p class=\"missing\">No picture: {}</p>", escape(error));
        }
        None => {
            let _ = writeln!(html, "<div class=\"picture\"><img src=\"{name}.svg\" alt=\"{caption}\"></div>");
        }
    }
    let drawn_by = match figure.drawn_by {
        Some("graphviz") => ", drawn by Graphviz",
        Some(_) => ", drawn by the built-in renderer",
        None => "",
    };
    let mut links = format!("<a href=\"{name}.dot\">{name}.dot</a>");
    if figure.error.is_none() {
        let _ = write!(links, " · <a href=\"{name}.svg\">{name}.svg</a>");
    }
    let _ = writeln!(
        html,
        "<figcaption>{caption}: {} {}, {} {}{drawn_by}. {links}</figcaption>\n</figure>",
        figure.objects,
        super::analysis::plural(figure.objects, "object", "objects"),
        figure.references,
        super::analysis::plural(figure.references, "reference", "references"),
    );
}
