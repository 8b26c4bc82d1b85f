//! Located authoring diagnostics, rendered like a compiler (or hurl): `file:line:col`, the
//! offending line, a caret under the spot, and a "did you mean" when a close name exists.

use crate::readfile::ReadError;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// One problem in a lab file, with everything needed to show it without re-reading the file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    pub file: PathBuf,
    /// 1-based; 0 when the problem concerns the file as a whole.
    pub line: u32,
    /// 1-based column of the first character the caret points at.
    pub col: u32,
    /// How many characters the caret underlines (at least 1).
    pub width: usize,
    pub message: String,
    /// The offending source line, captured when the diagnostic is made.
    pub source_line: Option<String>,
    /// Text printed after the caret, e.g. "did you mean `checks`?".
    pub label: Option<String>,
    /// A longer hint printed below the snippet.
    pub help: Option<String>,
}

impl Diagnostic {
    /// A diagnostic at `line:col` of `text` (the file's contents), capturing the source line.
    pub fn at(file: &Path, text: &str, line: u32, col: u32, message: impl Into<String>) -> Self {
        let source_line = (line > 0)
            .then(|| nth_line(text, line as usize).map(str::to_owned))
            .flatten();
        Diagnostic {
            file: file.to_path_buf(),
            line,
            col: col.max(1),
            width: 1,
            message: message.into(),
            source_line,
            label: None,
            help: None,
        }
    }

    /// A diagnostic about a whole file (missing, unreadable).
    pub fn file(file: &Path, message: impl Into<String>) -> Self {
        Diagnostic {
            file: file.to_path_buf(),
            line: 0,
            col: 0,
            width: 1,
            message: message.into(),
            source_line: None,
            label: None,
            help: None,
        }
    }

    /// A file that cannot be read (`what` names it for the reader: "instructions file
    /// `steps/01.md`"): located at the offending byte when its content is the problem.
    pub fn unreadable(file: &Path, what: &str, e: &ReadError) -> Self {
        let message = format!("cannot read {what}: {e}");
        match e.location() {
            Some((line, col, text)) => Diagnostic::at(file, text, line, col, message),
            None => Diagnostic::file(file, message),
        }
    }

    pub fn width(mut self, width: usize) -> Self {
        self.width = width.max(1);
        self
    }

    pub fn label(mut self, label: impl Into<String>) -> Self {
        self.label = Some(label.into());
        self
    }

    pub fn help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }

    /// Label the caret with "did you mean `x`?" when `word` is a likely typo of a candidate.
    pub fn suggest<'a, I: IntoIterator<Item = &'a str>>(self, word: &str, candidates: I) -> Self {
        match did_you_mean(word, candidates) {
            Some(s) => self.label(format!("did you mean `{s}`?")),
            None => self,
        }
    }

    /// Underline the token that starts at the caret (a word, a key, a quoted string).
    pub fn underline_token(mut self) -> Self {
        if let Some(line) = &self.source_line {
            let rest: String = line.chars().skip(self.col as usize - 1).collect();
            let n = rest
                .chars()
                .take_while(|c| !c.is_whitespace() && !matches!(c, ':' | ',' | ']' | '}'))
                .count();
            self.width = n.max(1);
        }
        self
    }

    /// Underline from the caret to the end of the line (a whole value).
    pub fn underline_rest(mut self) -> Self {
        if let Some(line) = &self.source_line {
            let n = line.trim_end().chars().count();
            self.width = n.saturating_sub(self.col as usize - 1).max(1);
        }
        self
    }

    /// `file:line:col` (or just `file` for whole-file problems).
    pub fn location(&self) -> String {
        if self.line == 0 {
            self.file.display().to_string()
        } else {
            format!("{}:{}:{}", self.file.display(), self.line, self.col)
        }
    }

    /// Render like rustc/hurl. `style` decides colours; pass `Style::plain()` for files and tests.
    pub fn render(&self, style: &Style) -> String {
        let mut out = String::new();
        let _ = writeln!(
            out,
            "{}: {}",
            style.error("error"),
            style.bold(&printable(&self.message))
        );
        let gutter = if self.line == 0 {
            1
        } else {
            self.line.to_string().len()
        };
        let pad = " ".repeat(gutter);
        let _ = writeln!(out, "{pad}{} {}", style.blue("-->"), self.location());
        if let Some(src) = &self.source_line {
            let (src, col, width) = snippet(src, self.col as usize, self.width);
            let _ = writeln!(out, "{pad} {}", style.blue("|"));
            let _ = writeln!(
                out,
                "{} {} {src}",
                style.blue(&self.line.to_string()),
                style.blue("|")
            );
            let caret = format!("{}{}", " ".repeat(col - 1), "^".repeat(width));
            let label = self
                .label
                .as_deref()
                .map(|l| format!(" {}", printable(l)))
                .unwrap_or_default();
            let _ = writeln!(
                out,
                "{pad} {} {}",
                style.blue("|"),
                style.error(&format!("{caret}{label}"))
            );
        }
        if let Some(help) = &self.help {
            for (i, line) in printable(help).lines().enumerate() {
                let lead = if i == 0 { "= help:" } else { "       " };
                let _ = writeln!(out, "{pad} {} {line}", style.blue(lead));
            }
        }
        out
    }
}

thread_local! {
    /// Where the lines of the last large text start (its address and length, then the offsets),
    /// so that thousands of problems in one large file do not each scan it from the top.
    static LINE_STARTS: std::cell::RefCell<(usize, usize, Vec<usize>)> =
        const { std::cell::RefCell::new((0, 0, Vec::new())) };
}

/// Line `line` (1-based) of `text`, as `str::lines` gives it.
fn nth_line(text: &str, line: usize) -> Option<&str> {
    if text.len() < 64 * 1024 {
        return text.lines().nth(line - 1);
    }
    let (start, end) = LINE_STARTS.with(|cache| {
        let mut cache = cache.borrow_mut();
        let key = (text.as_ptr() as usize, text.len());
        let bytes = text.as_bytes();
        // The same address and length but other content (a new text where a freed one was)
        // shows in the line breaks not being where the offsets say.
        let valid = |starts: &[usize]| {
            starts
                .iter()
                .skip(1)
                .take(64)
                .all(|&s| bytes.get(s - 1) == Some(&b'\n'))
        };
        if (cache.0, cache.1) != key || !valid(&cache.2) {
            let starts = std::iter::once(0)
                .chain(
                    bytes
                        .iter()
                        .enumerate()
                        .filter(|(_, b)| **b == b'\n')
                        .map(|(i, _)| i + 1),
                )
                .filter(|&s| s < bytes.len())
                .collect();
            *cache = (key.0, key.1, starts);
        }
        let start = *cache.2.get(line - 1)?;
        let end = cache.2.get(line).map_or(bytes.len(), |next| next - 1);
        Some((start, end))
    })?;
    let l = &text[start..end];
    let l = l.strip_suffix('\n').unwrap_or(l); // the last line's
    Some(l.strip_suffix('\r').unwrap_or(l))
}

/// The most characters of a source line shown; longer lines are cut around the caret.
const SNIPPET_CHARS: usize = 100;

/// The source line as shown (control characters replaced, tabs as one space so the caret keeps
/// its column, at most [`SNIPPET_CHARS`] characters around the caret, `…` where cut) and the
/// caret's column and width in it.
fn snippet(line: &str, col: usize, width: usize) -> (String, usize, usize) {
    let chars: Vec<char> = line
        .chars()
        .map(|c| if c == '\t' { ' ' } else { c })
        .collect();
    let col = col.clamp(1, chars.len() + 1);
    if chars.len() <= SNIPPET_CHARS {
        let text: String = chars.into_iter().collect();
        return (printable(&text), col, width.min(SNIPPET_CHARS));
    }
    let start = (col - 1)
        .saturating_sub(SNIPPET_CHARS / 3)
        .min(chars.len() - SNIPPET_CHARS);
    let end = start + SNIPPET_CHARS;
    let mut text = String::new();
    if start > 0 {
        text.push('…');
    }
    text.extend(&chars[start..end]);
    if end < chars.len() {
        text.push('…');
    }
    let prefix = usize::from(start > 0);
    let col = col - start + prefix;
    let width = width.min(prefix + SNIPPET_CHARS + 1 - col).max(1);
    (printable(&text), col, width)
}

/// `text` with control characters (terminal escapes among them) replaced by `�`, newlines kept.
pub fn printable(text: &str) -> String {
    text.chars()
        .map(|c| {
            if c.is_control() && c != '\n' {
                '\u{fffd}'
            } else {
                c
            }
        })
        .collect()
}

/// Colours for rendering; a plain style produces no escape codes.
#[derive(Debug, Clone, Copy)]
pub struct Style {
    color: bool,
}

impl Style {
    pub fn plain() -> Self {
        Style { color: false }
    }
    pub fn colored(color: bool) -> Self {
        Style { color }
    }
    fn paint(&self, s: &str, style: console::Style) -> String {
        if self.color {
            style.force_styling(true).apply_to(s).to_string()
        } else {
            s.to_owned()
        }
    }
    pub fn error(&self, s: &str) -> String {
        self.paint(s, console::Style::new().red().bold())
    }
    pub fn bold(&self, s: &str) -> String {
        self.paint(s, console::Style::new().bold())
    }
    pub fn ok(&self, s: &str) -> String {
        self.paint(s, console::Style::new().green().bold())
    }
    pub fn blue(&self, s: &str) -> String {
        self.paint(s, console::Style::new().blue().bold())
    }
}

/// The closest candidate to `word` if it is close enough to be a likely typo.
pub fn did_you_mean<'a, I>(word: &str, candidates: I) -> Option<String>
where
    I: IntoIterator<Item = &'a str>,
{
    candidates
        .into_iter()
        .map(|c| (strsim::jaro_winkler(word, c), c))
        .filter(|(score, c)| *score > 0.8 && *c != word)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, c)| c.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_caret_under_the_column() {
        let text = "name: x\nsteps:\n    chekcs: []\n";
        let d = Diagnostic::at(Path::new("lab.yaml"), text, 3, 5, "unknown field `chekcs`")
            .underline_token()
            .label("did you mean `checks`?");
        let out = d.render(&Style::plain());
        assert_eq!(
            out,
            "error: unknown field `chekcs`\n --> lab.yaml:3:5\n  |\n3 |     chekcs: []\n  |     ^^^^^^ did you mean `checks`?\n"
        );
    }

    #[test]
    fn long_lines_are_cut_around_the_caret_and_escapes_replaced() {
        let line = format!("{}\x1b[31mkey: x{}", "a".repeat(200_000), "b".repeat(1000));
        let d = Diagnostic::at(Path::new("f.yaml"), &line, 1, 200_006, "bad key").width(3);
        let out = d.render(&Style::plain());
        assert!(out.len() < 400, "{out}");
        assert!(!out.contains('\x1b'), "{out:?}");
        let lines: Vec<&str> = out.lines().collect();
        assert!(
            lines[3].starts_with("1 | …a") && lines[3].ends_with("b…"),
            "{out}"
        );
        let caret = lines[4].chars().position(|c| c == '^').unwrap();
        let under: String = lines[3].chars().skip(caret).take(3).collect();
        assert_eq!(under, "key");
        assert_eq!(lines[4].trim_end().chars().count() - caret, 3);
    }

    #[test]
    fn lines_of_large_texts_are_the_lines() {
        let text: String = (0..20_000).map(|i| format!("line {i}\r\n")).collect();
        for n in [1, 2, 9_999, 20_000] {
            assert_eq!(nth_line(&text, n), text.lines().nth(n - 1), "{n}");
        }
        assert_eq!(nth_line(&text, 20_001), None);
        let other = text.replace("line 1\r\n", "line 1 \n");
        assert_eq!(nth_line(&other, 3), other.lines().nth(2));
    }

    #[test]
    fn suggests_only_close_names() {
        assert_eq!(
            did_you_mean("chekcs", ["id", "title", "checks"]).as_deref(),
            Some("checks")
        );
        assert_eq!(did_you_mean("zzz", ["id", "title", "checks"]), None);
    }
}
