//! Text from outside (process names, container and image names, labels, env, log lines, engine
//! and NVML errors, config files) made safe for a terminal: any local user can name a process
//! `ESC]52;c;…BEL` (which writes the operator's clipboard) and any docker user can put escapes
//! in a container's settings. Control characters are shown as `�`; JSON escapes C1 controls too.

use std::borrow::Cow;

/// One line of text: a line break shows as `\n` (`\r`), a tab as a space, every other control
/// character (C0, DEL, C1) as `�`. A name with a newline (`prctl(PR_SET_NAME)`) can then never
/// print a forged line of its own.
pub fn line(s: &str) -> Cow<'_, str> {
    if !s.chars().any(char::is_control) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        match c {
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push(' '),
            c if c.is_control() => out.push('\u{FFFD}'),
            c => out.push(c),
        }
    }
    Cow::Owned(out)
}

/// `line` for an owned string, without a copy when nothing changes.
pub fn own_line(s: String) -> String {
    match line(&s) {
        Cow::Borrowed(_) => s,
        Cow::Owned(o) => o,
    }
}

/// Text of several lines: newlines and tabs stay, every other control character is replaced.
pub fn lines(s: &str) -> Cow<'_, str> {
    replace(s, |c| c.is_control() && c != '\n' && c != '\t')
}

fn replace(s: &str, bad: impl Fn(char) -> bool) -> Cow<'_, str> {
    if !s.chars().any(&bad) {
        return Cow::Borrowed(s);
    }
    Cow::Owned(s.chars().map(|c| if bad(c) { '\u{FFFD}' } else { c }).collect())
}

/// A JSON document with DEL and the C1 controls (U+0080–U+009F) written as `\u00XX` escapes:
/// serde_json escapes C0 controls but passes these through, and some terminals act on them.
/// They can only occur inside strings, where the escape means the same character.
pub fn json(doc: &str) -> Cow<'_, str> {
    let bad = |c: char| ('\u{7f}'..='\u{9f}').contains(&c);
    if !doc.chars().any(bad) {
        return Cow::Borrowed(doc);
    }
    let mut out = String::with_capacity(doc.len() + 16);
    for c in doc.chars() {
        if bad(c) {
            out.push_str(&format!("\\u{:04x}", u32::from(c)));
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_become_visible_and_harmless() {
        let osc52 = "py\u{1b}]52;c;ZXZpbA==\u{7}thon";
        assert_eq!(line(osc52), "py\u{FFFD}]52;c;ZXZpbA==\u{FFFD}thon");
        assert_eq!(line("a\u{9b}31mb"), "a\u{FFFD}31mb");
        assert_eq!(lines("a\nb\tc\u{1b}[2J"), "a\nb\tc\u{FFFD}[2J");
        assert!(matches!(line("plain"), Cow::Borrowed(_)));
        // A forged second line stays on the first.
        assert_eq!(line("python\ngpu 0: 80 GiB by root"), "python\\ngpu 0: 80 GiB by root");
        assert_eq!(line("a\r\tb"), "a\\r b");
        assert_eq!(own_line("x\ny".into()), "x\\ny");
    }

    #[test]
    fn json_escapes_c1_and_stays_valid() {
        let doc =
            serde_json::to_string(&serde_json::json!({"name": "x\u{9b}y\u{7f}z\u{1b}"})).unwrap_or_default();
        let safe = json(&doc);
        assert!(!safe.chars().any(|c| c.is_control()), "{safe}");
        let back: serde_json::Value = serde_json::from_str(&safe).unwrap_or_default();
        assert_eq!(back["name"], "x\u{9b}y\u{7f}z\u{1b}");
    }
}
