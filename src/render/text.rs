//! Text from outside (cluster objects, command output, lab titles) made safe for people and
//! files. Every reporter and renderer goes through [`plain_text`].

use std::borrow::Cow;

/// Text from the cluster or a command, made safe to print or store: terminal escape codes
/// removed (colour, cursor movement, titles, hyperlinks), tabs expanded to 8-column stops, and
/// other control characters and Unicode non-characters dropped. Newlines are kept.
///
/// Values come from objects and command output the learner controls, so they must never be
/// able to drive the terminal, and an XML file may not contain most control characters.
pub(crate) fn plain_text(s: &str) -> Cow<'_, str> {
    let clean = |c: char| c == '\n' || !(c.is_control() || is_noncharacter(c));
    if !s.chars().any(|c| c == '\t' || !clean(c)) {
        return Cow::Borrowed(s);
    }
    let stripped = console::strip_ansi_codes(s);
    let mut out = String::with_capacity(stripped.len());
    let mut col = 0;
    for c in stripped.chars() {
        match c {
            '\n' => {
                out.push('\n');
                col = 0;
            }
            '\t' => {
                let n = 8 - col % 8;
                out.extend(std::iter::repeat_n(' ', n));
                col += n;
            }
            c if clean(c) => {
                out.push(c);
                col += 1;
            }
            _ => {}
        }
    }
    Cow::Owned(out)
}

fn is_noncharacter(c: char) -> bool {
    let n = c as u32;
    (0xFDD0..=0xFDEF).contains(&n) || n & 0xFFFE == 0xFFFE
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_text_strips_escapes_and_controls_but_keeps_layout() {
        assert!(matches!(plain_text("plain\nline"), Cow::Borrowed(_)));
        assert_eq!(
            plain_text("\x1b[31mred\x1b[0m\tx\r\n\x07ab\tc\u{FFFF}"),
            "red     x\nab      c"
        );
        assert_eq!(plain_text("\x1b]0;title\x07ok"), "ok");
    }
}
