//! The report as plain text (`report.txt`): headings, text, tables in aligned columns with
//! their details indented under each row, and a line per graph naming its files.

use std::fmt::Write as _;

use super::model::{Block, ReportData, TableData};
use super::{Cell, leak};

pub(super) fn render(data: &ReportData) -> String {
    let mut out = format!("{}\n{}\n", data.title, "=".repeat(data.title.chars().count().max(3)));
    for section in &data.sections {
        if !section.title.is_empty() {
            let _ = write!(out, "\n== {} ==\n", section.title);
        }
        for block in &section.blocks {
            match block {
                Block::Paragraph { text } => {
                    let _ = writeln!(out, "{text}");
                }
                Block::Preformatted { text } => {
                    out.push_str(text);
                    if !text.ends_with('\n') {
                        out.push('\n');
                    }
                }
                Block::Table(table) => table_text(&mut out, table),
                Block::LeakCheck(leak_check) => {
                    for table in leak::tables(leak_check) {
                        table_text(&mut out, &table);
                    }
                }
                Block::Figure(figure) => {
                    let _ = write!(
                        out,
                        "[graph {name}.svg / {name}.dot: {}; {} {}, {} {}",
                        figure.caption,
                        figure.objects,
                        super::analysis::plural(figure.objects, "object", "objects"),
                        figure.references,
                        super::analysis::plural(figure.references, "reference", "references"),
                        name = figure.name
                    );
                    if let Some(error) = &figure.error {
                        let _ = write!(out, "; no picture: {error}");
                    }
                    out.push_str("]\n");
                }
            }
        }
    }
    out
}

/// A table in aligned columns: text to the left, numbers to the right.
fn table_text(out: &mut String, table: &TableData) {
    let _ = writeln!(out, "-- {} --", table.caption);
    let header: Vec<String> = table.columns.iter().map(|column| column.title.clone()).collect();
    let rows: Vec<Vec<String>> = table.rows.iter().map(|row| row.cells.iter().map(Cell::to_string).collect()).collect();
    let mut widths: Vec<usize> = header.iter().map(|title| title.chars().count()).collect();
    for row in &rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let numeric = table.numeric_columns();
    let line = |cells: &[String]| {
        let mut line = String::new();
        for (k, cell) in cells.iter().enumerate() {
            let pad = " ".repeat(widths[k] - cell.chars().count());
            if k > 0 {
                line.push_str("  ");
            }
            if numeric[k] {
                line.push_str(&pad);
                line.push_str(cell);
            } else {
                line.push_str(cell);
                line.push_str(&pad);
            }
        }
        line.trim_end().to_owned()
    };
    let _ = writeln!(out, "{}", line(&header));
    for (row, cells) in table.rows.iter().zip(&rows) {
        let _ = writeln!(out, "{}", line(cells));
        if let Some(details) = &row.details {
            let title = table.details_title.as_deref().unwrap_or("Details").to_lowercase();
            let _ = writeln!(out, "    {title}: {}", details.summary);
            for detail in details.text.lines() {
                let _ = writeln!(out, "      {detail}");
            }
        }
    }
}
