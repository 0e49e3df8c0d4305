//! Number and time formatting: how figures are written, shared by the panels, the app's messages
//! and the snapshot. Below both `app` and `ui`, so neither reaches into the other for it.

use humansize::{BINARY, FormatSizeOptions, format_size};

pub fn bytes(n: u64) -> String {
    format_size(n, FormatSizeOptions::from(BINARY).decimal_places(1).space_after_value(false))
}

/// "45s", "12m", "3h", "5d": the width of an uptime column, not its precision, matters here.
pub fn age(secs: i64) -> String {
    let s = secs.max(0);
    match s {
        0..60 => format!("{s}s"),
        60..3600 => format!("{}m", s / 60),
        3600..86_400 => format!("{}h", s / 3600),
        _ => format!("{}d", s / 86_400),
    }
}

/// Block characters for sparklines, empty to full.
pub const SPARKS: [char; 9] = [' ', '▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];

/// The sparkline level (0-8) of a percentage: anything above 0 shows at least the lowest bar.
pub fn spark_level(percent: f64) -> usize {
    (percent.clamp(0.0, 100.0) * 8.0 / 100.0).ceil() as usize
}

/// One sample of a sparkline: a sample of 0 still shows the lowest bar, so an idle GPU's
/// history reads as flat, and a blank means no sample.
pub fn spark_char(percent: f64) -> char {
    SPARKS[spark_level(percent).max(1)]
}

/// Cuts `s` to `width` characters, marking the cut with an ellipsis.
pub fn truncate(s: &str, width: usize) -> String {
    if s.chars().count() <= width {
        return s.to_string();
    }
    if width == 0 {
        return String::new();
    }
    let mut out: String = s.chars().take(width - 1).collect();
    out.push('…');
    out
}

/// `text` in lines of at most `width` characters, broken at spaces; a word longer than a line
/// is cut with an ellipsis.
pub fn wrap_words(text: &str, width: usize) -> Vec<String> {
    wrap_phrases(&text.split_whitespace().collect::<Vec<_>>(), width)
}

/// `phrases` in lines of at most `width` characters, broken between phrases ("40 GB free," /
/// "of 500 GB (92% full)") where they fit, and between the words of a phrase wider than a line.
pub fn wrap_phrases<S: AsRef<str>>(phrases: &[S], width: usize) -> Vec<String> {
    let width = width.max(1);
    let units = phrases.iter().flat_map(|p| {
        let p = p.as_ref();
        if p.chars().count() <= width {
            vec![p.to_string()]
        } else {
            p.split_whitespace().map(|w| truncate(w, width)).collect()
        }
    });
    let mut lines: Vec<String> = Vec::new();
    let mut line = String::new();
    for unit in units {
        if line.is_empty() {
            line = unit;
        } else if line.chars().count() + 1 + unit.chars().count() <= width {
            line.push(' ');
            line.push_str(&unit);
        } else {
            lines.push(std::mem::replace(&mut line, unit));
        }
    }
    if !line.is_empty() {
        lines.push(line);
    }
    lines
}

/// A container's CPU %, memory and memory % as the table writes them (empty when unknown): the
/// app redraws when these change, not when a byte does.
pub fn stats_text(s: &crate::docker::ContainerStats) -> [String; 3] {
    [
        s.cpu_percent.map(|p| format!("{p:.1}")).unwrap_or_default(),
        s.mem_used.map(bytes).unwrap_or_default(),
        s.mem_percent().map(|p| format!("{p:.1}")).unwrap_or_default(),
    ]
}

/// Whether two readings of a container look the same in the table.
pub fn same_on_screen(a: &crate::docker::ContainerStats, b: &crate::docker::ContainerStats) -> bool {
    a == b || stats_text(a) == stats_text(b)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats() {
        assert_eq!(bytes(0), "0B");
        assert_eq!(bytes(1536 * 1024 * 1024), "1.5GiB");
        assert_eq!(age(59), "59s");
        assert_eq!(age(3 * 3600 + 5), "3h");
        assert_eq!(age(-5), "0s");
        assert_eq!(truncate("nvidia/cuda:12.9.1-base", 8), "nvidia/…");
        assert_eq!(truncate("abc", 3), "abc");
    }

    #[test]
    fn wraps_at_spaces_and_cuts_only_a_word_wider_than_the_line() {
        let text = "35.8 GB used, 12.3 GB free, 2.1 GB reserved of 50.2 GB (71% full)";
        let lines = wrap_words(text, 38);
        assert_eq!(lines, ["35.8 GB used, 12.3 GB free, 2.1 GB", "reserved of 50.2 GB (71% full)"]);
        assert!(lines.iter().all(|l| l.chars().count() <= 38));
        assert_eq!(wrap_words("a verylongword b", 6), ["a", "veryl…", "b"]);
        assert_eq!(wrap_phrases(&["1 GB used,", "2 GB free"], 12), ["1 GB used,", "2 GB free"]);
        assert!(wrap_words("  ", 10).is_empty());
        let wide = ["of 1023.9 GB (100% full)"];
        assert_eq!(wrap_phrases(&wide, 12), ["of 1023.9 GB", "(100% full)"], "no figure cut");
    }
}
