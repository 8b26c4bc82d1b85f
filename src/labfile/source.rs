//! One lab file's name and text together, so that a problem found in it is located with one
//! call: `src.at(&span, "…")` instead of spelling out file, text, line and column each time.

use crate::labfile::diag::Diagnostic;
use crate::readfile::ReadError;
use serde_saphyr::Spanned;
use std::path::{Path, PathBuf};
use std::rc::Rc;

/// A file as read, shared cheaply: every check of a step is linted against the same text.
#[derive(Debug, Clone)]
pub struct Source {
    pub file: PathBuf,
    pub text: Rc<str>,
}

impl Source {
    pub fn new(file: impl Into<PathBuf>, text: impl Into<Rc<str>>) -> Self {
        Source {
            file: file.into(),
            text: text.into(),
        }
    }

    /// A diagnostic where the value of `span` starts.
    pub fn at<T>(&self, span: &Spanned<T>, message: impl Into<String>) -> Diagnostic {
        self.at_pos(
            span.referenced.line() as u32,
            span.referenced.column() as u32,
            message,
        )
    }

    /// A diagnostic at `line:col` (1-based), quoting that line.
    pub fn at_pos(&self, line: u32, col: u32, message: impl Into<String>) -> Diagnostic {
        Diagnostic::at(&self.file, &self.text, line, col, message)
    }

    /// A file named at `span` (in this file) that cannot be read: at the offending byte of
    /// that file when its content is the problem, else at the reference.
    pub fn unreadable<T>(
        &self,
        span: &Spanned<T>,
        path: &Path,
        what: &str,
        e: &ReadError,
    ) -> Diagnostic {
        match e.location() {
            Some(_) => Diagnostic::unreadable(path, what, e),
            None => self
                .at(span, format!("cannot read {what}: {e}"))
                .underline_token(),
        }
    }

    /// Where `key:` is written as an entry of the block mapping whose first key is at
    /// `line:col` (a step's entry in `lab.yaml`, say): map keys carry no span of their own.
    pub fn key_in_block(&self, line: u32, col: u32, key: &str) -> Option<(u32, u32)> {
        let indent = (col as usize).saturating_sub(1);
        for (i, l) in self
            .text
            .lines()
            .enumerate()
            .skip((line as usize).saturating_sub(1))
        {
            let trimmed = l.trim_start_matches([' ', '-']);
            if trimmed.is_empty() || trimmed.starts_with('#') {
                continue;
            }
            let at = l.len() - trimmed.len();
            if at < indent && i + 1 > line as usize {
                return None;
            }
            if at == indent
                && trimmed
                    .strip_prefix(key)
                    .is_some_and(|rest| rest.starts_with(':'))
            {
                return Some((i as u32 + 1, col));
            }
        }
        None
    }

    /// The file's path shown relative to `dir` when it lies inside it (for messages).
    pub fn shown(&self, dir: &Path) -> String {
        self.file
            .strip_prefix(dir)
            .unwrap_or(&self.file)
            .display()
            .to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locates_positions_and_keys() {
        let src = Source::new(
            "lab.yaml",
            "steps:\n  - id: a\n    checks:\n      - id: x\n",
        );
        let d = src.at_pos(2, 5, "here");
        assert_eq!(d.location(), "lab.yaml:2:5");
        assert_eq!(d.source_line.as_deref(), Some("  - id: a"));
        assert_eq!(src.key_in_block(2, 5, "checks"), Some((3, 5)));
        assert_eq!(src.key_in_block(2, 5, "hints"), None);
        assert_eq!(src.shown(Path::new("")), "lab.yaml");
    }
}
