//! How a value from the inputs is shown in a message: one [`preview`] for every quoted value (a
//! few dozen characters, then an ellipsis and the value's length, so one 50 MB value cannot make
//! a 50 MB error, terminal or report), and [`terminal_safe`] for everything printed to a
//! terminal (control characters written as `\u{..}`, so a DN holding an escape sequence cannot
//! set the window title, clear the screen or print a fake verdict).
//!
//! It owns only the shape of the text; what is quoted, and where, is the caller's business.

use std::borrow::Cow;
use std::fmt::Write as _;

/// Characters of a value shown before the ellipsis.
pub(crate) const PREVIEW_CHARS: usize = 40;
/// A value up to this long is shown whole (cutting 2 characters to say "…(50 chars)" helps
/// nobody).
const SHOWN_WHOLE: usize = 60;

/// A value as a message quotes it: control characters escaped, and when longer than a few dozen
/// characters, its start, an ellipsis and its length in characters.
pub(crate) fn preview(value: &str) -> String {
    let length = value.chars().count();
    let mut out = String::new();
    let shown = if length > SHOWN_WHOLE {
        PREVIEW_CHARS
    } else {
        length
    };
    for c in value.chars().take(shown) {
        push_escaped(&mut out, c);
    }
    if shown < length {
        let _ = write!(out, "… ({length} characters)");
    }
    out
}

/// [`preview`] in single quotes, the way messages quote a value.
pub(crate) fn quoted(value: &str) -> String {
    format!("'{}'", preview(value))
}

/// Text for a terminal: every control character except line feed and tab, and the invisible
/// direction overrides, written as `\u{..}`. Borrowed when there is nothing to escape.
pub(crate) fn terminal_safe(text: &str) -> Cow<'_, str> {
    if !text
        .chars()
        .any(|c| needs_escape(c) && c != '\n' && c != '\t')
    {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 16);
    for c in text.chars() {
        if c == '\n' || c == '\t' {
            out.push(c);
        } else {
            push_escaped(&mut out, c);
        }
    }
    Cow::Owned(out)
}

fn needs_escape(c: char) -> bool {
    c.is_control()
        || matches!(c, '\u{200b}'..='\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' | '\u{feff}')
}

fn push_escaped(out: &mut String, c: char) {
    if needs_escape(c) {
        let _ = write!(out, "\\u{{{:x}}}", u32::from(c));
    } else {
        out.push(c);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_long_value_is_cut_with_an_ellipsis_and_its_length() {
        let huge = "x".repeat(50 * 1024 * 1024);
        let shown = preview(&huge);
        assert!(shown.len() < 80, "{shown}");
        assert!(shown.starts_with(&"x".repeat(PREVIEW_CHARS)));
        assert!(shown.ends_with("… (52428800 characters)"), "{shown}");
        assert_eq!(preview("O'Brien"), "O'Brien");
        assert_eq!(quoted(&"é".repeat(60)), format!("'{}'", "é".repeat(60)));
        assert!(quoted(&"é".repeat(61)).ends_with("… (61 characters)'"));
    }

    #[test]
    fn control_characters_never_reach_a_terminal() {
        let dn = "CN=\u{1b}]0;pwned\u{7}\u{1b}[2J0 findings, exit 0\r,DC=x\u{202e}";
        let safe = terminal_safe(dn);
        assert!(!safe.chars().any(char::is_control), "{safe}");
        assert_eq!(
            safe,
            "CN=\\u{1b}]0;pwned\\u{7}\\u{1b}[2J0 findings, exit 0\\u{d},DC=x\\u{202e}"
        );
        assert!(matches!(terminal_safe("a\n\tb"), Cow::Borrowed(_)));
        assert_eq!(preview("a\u{0}b"), "a\\u{0}b");
    }
}
