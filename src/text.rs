//! Text that came from outside vault (config files, the store, AWS's error messages, a
//! helper's output) made safe to show on a terminal: control characters are written as
//! `\u{1b}`-style escapes, so a value can neither move the cursor, rewrite what is shown,
//! set the window title, nor hide part of itself. Newlines and tabs stay: vault's own
//! multi-line output needs them, and they only move the cursor forward.
//!
//! Must not: be applied to machine-readable output (`--json`, `export`), which is exact.

use std::borrow::Cow;
use std::fmt::{self, Write as _};

/// Characters a terminal acts on instead of showing: C0 (but `\n` and `\t`), DEL, C1, and
/// the bidirectional overrides that reorder what is shown ("Trojan Source").
fn is_unsafe(c: char) -> bool {
    (c.is_control() && c != '\n' && c != '\t')
        || matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

/// `text` with every unsafe character escaped; borrowed when there is none.
pub fn printable(text: &str) -> Cow<'_, str> {
    if !text.chars().any(is_unsafe) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if is_unsafe(c) {
            let _ = write!(out, "\\u{{{:x}}}", c as u32);
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// Prints `warning: MESSAGE` to stderr, escaped.
pub fn warn(message: impl fmt::Display) {
    eprintln!("warning: {}", printable(&message.to_string()));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_what_a_terminal_would_act_on() {
        let cases = [
            (
                "plain text, with `ticks` and ünïcode",
                "plain text, with `ticks` and ünïcode",
            ),
            ("two\nlines\tand a tab", "two\nlines\tand a tab"),
            (
                "curl x | sh \r\x1b[2K  hidden",
                "curl x | sh \\u{d}\\u{1b}[2K  hidden",
            ),
            ("\x1b]0;title\x07", "\\u{1b}]0;title\\u{7}"),
            ("c1 \u{9b}31m del \x7f", "c1 \\u{9b}31m del \\u{7f}"),
            ("bidi \u{202e}txt.exe", "bidi \\u{202e}txt.exe"),
        ];
        for (input, shown) in cases {
            assert_eq!(printable(input), shown, "{input:?}");
        }
        assert!(matches!(printable("safe"), Cow::Borrowed(_)));
    }
}
