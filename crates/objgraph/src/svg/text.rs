//! How wide text is drawn, without a font engine: boxes are sized and long lines wrapped from
//! an estimate that errs on the wide side for every font the SVG names.

/// The fonts of the built-in renderer's SVG, widest Latin fonts first so that the width
/// estimate holds wherever the SVG is opened, then CJK fonts for Chinese labels.
pub(crate) const FONT_FAMILY: &str = "'DejaVu Sans', Verdana, 'Noto Sans CJK SC', 'Source Han Sans SC', \
     'PingFang SC', 'Microsoft YaHei', sans-serif";

/// The advance of each printable ASCII character (`' '..='~'`) in hundredths of an em: the
/// widest of DejaVu Sans, Liberation Sans (Arial's metrics) and Noto Sans CJK SC, rounded up.
const ASCII_ADVANCE: [u8; 95] = [
    32, 41, 48, 84, 64, 95, 78, 28, 39, 39, 50, 84, 32, 37, 32, 40, //  !"#$%&'()*+,-./
    64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 34, 34, 84, 84, 84, 56, // 0-9 :;<=>?
    102, 69, 69, 73, 77, 67, 62, 78, 76, 30, 54, 67, 56, 87, 75, 79, // @A-O
    67, 79, 73, 67, 62, 74, 69, 99, 69, 67, 69, 39, 40, 39, 84, 56, // P-Z [\]^_
    61, 62, 64, 55, 64, 62, 36, 64, 64, 28, 28, 58, 29, 98, 64, 62, // `a-o
    64, 64, 42, 53, 40, 64, 60, 82, 60, 60, 53, 64, 34, 64, 84, // p-z {|}~
];

/// Verdana and the fonts a viewer substitutes run a few percent wider than the table.
const SAFETY: f64 = 1.06;

/// The estimated width of one line of text at `font_size` pixels.
///
/// CJK ideographs, kana, hangul and fullwidth forms take a full em; so does any other
/// character outside ASCII, which is generous for accented Latin and right for symbols.
pub(crate) fn text_width(line: &str, font_size: f64) -> f64 {
    let hundredths: u32 = line.chars().map(advance).sum();
    f64::from(hundredths) / 100.0 * font_size * SAFETY
}

fn advance(c: char) -> u32 {
    match c {
        ' '..='~' => u32::from(ASCII_ADVANCE[c as usize - ' ' as usize]),
        // Combining marks and zero-width characters add nothing.
        '\u{300}'..='\u{36f}' | '\u{200b}'..='\u{200f}' | '\u{fe00}'..='\u{fe0f}' => 0,
        _ => 100,
    }
}

/// `line` broken into lines no wider than `max_width` pixels where it can be: after `, `
/// or another space, after `::`, before `<`, `(` or `[`, and next to a wide (CJK)
/// character. A piece with no break point stays whole (the box grows to fit it): a long
/// identifier reads better whole than cut.
pub(crate) fn wrap(line: &str, font_size: f64, max_width: f64) -> Vec<String> {
    let mut lines = Vec::new();
    let mut rest = line;
    while wider_than(rest, font_size, max_width) {
        let Some(cut) = break_before(rest, font_size, max_width) else { break };
        let (head, tail) = rest.split_at(cut);
        lines.push(head.trim_end().to_owned());
        rest = tail.trim_start();
    }
    if !rest.is_empty() || lines.is_empty() {
        lines.push(rest.to_owned());
    }
    lines
}

/// Whether `text` is wider than `max_width`, reading it only until it is: a label of a
/// hundred kilobytes is wrapped in time linear in its length, not one width of the rest per
/// line made.
fn wider_than(text: &str, font_size: f64, max_width: f64) -> bool {
    // Summed as `text_width` sums, in hundredths, for the same answer at the boundary.
    let mut hundredths = 0_u32;
    text.chars().any(|c| {
        hundredths = hundredths.saturating_add(advance(c));
        f64::from(hundredths) / 100.0 * font_size * SAFETY > max_width
    })
}

/// The byte offset of the last break point of `text` that keeps the text before it within
/// `max_width`; `None` when there is none.
fn break_before(text: &str, font_size: f64, max_width: f64) -> Option<usize> {
    let mut width = 0.0;
    let mut best = None;
    let mut previous = None;
    for (at, c) in text.char_indices() {
        if let Some(previous) = previous {
            let breaks_here = match (previous, c) {
                (' ', _) | (_, '<' | '(' | '[') => true,
                (':', _) => text[..at].ends_with("::"),
                (p, c) => is_wide(p) || is_wide(c),
            };
            if breaks_here {
                best = Some(at);
            }
        }
        width += f64::from(advance(c)) / 100.0 * font_size * SAFETY;
        if width > max_width {
            return best;
        }
        previous = Some(c);
    }
    None
}

/// East Asian wide and fullwidth characters, between any two of which a line may break.
fn is_wide(c: char) -> bool {
    matches!(c,
        '\u{1100}'..='\u{115f}'
        | '\u{2e80}'..='\u{a4cf}'
        | '\u{ac00}'..='\u{d7a3}'
        | '\u{f900}'..='\u{faff}'
        | '\u{fe30}'..='\u{fe4f}'
        | '\u{ff00}'..='\u{ff60}'
        | '\u{ffe0}'..='\u{ffe6}'
        | '\u{20000}'..='\u{3fffd}')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ascii_widths_follow_the_table() {
        assert!((text_width("m", 100.0) - 98.0 * SAFETY).abs() < 1e-9);
        assert!(text_width("iiii", 14.0) < text_width("MMMM", 14.0));
    }

    #[test]
    fn wide_characters_take_an_em() {
        assert!((text_width("缓存", 10.0) - 20.0 * SAFETY).abs() < 1e-9);
    }

    #[test]
    fn wider_than_answers_as_the_whole_width_does() {
        for text in ["", "Node", "msg_handlers[\"login\"].Bound.0", "缓存 cache", &"word ".repeat(500)] {
            for max_width in [0.0, 10.0, 99.5, 250.0, 1e6] {
                assert_eq!(wider_than(text, 14.0, max_width), text_width(text, 14.0) > max_width, "{text} {max_width}");
            }
        }
    }

    #[test]
    fn short_lines_are_not_wrapped() {
        assert_eq!(wrap("Node", 14.0, 100.0), ["Node"]);
        assert_eq!(wrap("", 14.0, 100.0), [""]);
    }

    #[test]
    fn long_lines_break_after_separators() {
        let label = r#"msg_handlers["login"].Bound.0, msg_handlers["logout"].Bound.0"#;
        let lines = wrap(label, 12.0, 250.0);
        assert_eq!(lines, [r#"msg_handlers["login"].Bound.0,"#, r#"msg_handlers["logout"].Bound.0"#]);
        let path = "alloc::collections::btree::map::BTreeMap<alloc::string::String, app::Node>";
        for line in wrap(path, 14.0, 200.0) {
            assert!(text_width(&line, 14.0) <= 200.0, "{line}");
        }
    }

    #[test]
    fn wide_text_breaks_between_characters() {
        let lines = wrap("引用计数为零时对象立即被释放内存回到分配器", 14.0, 100.0);
        assert!(lines.len() > 1);
        for line in &lines {
            assert!(text_width(line, 14.0) <= 100.0, "{line}");
        }
        assert_eq!(lines.concat(), "引用计数为零时对象立即被释放内存回到分配器");
    }

    #[test]
    fn an_unbreakable_identifier_stays_whole() {
        assert_eq!(
            wrap("a_very_long_identifier_without_breaks", 14.0, 50.0),
            ["a_very_long_identifier_without_breaks"]
        );
    }
}
