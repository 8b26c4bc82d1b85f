//! Turning a YAML parser error (serde-saphyr) into a located diagnostic in plain words: a "did
//! you mean" for unknown fields, the real spot of a tab, an unclosed `[` or `{` named as such,
//! and the parser's resource budgets ("budget breached: Nodes { nodes: 250001 }") explained
//! instead of quoted.

use crate::labfile::diag::{Diagnostic, did_you_mean};
use crate::labfile::manifest;
use serde_saphyr::budget::BudgetBreach;
use std::path::Path;

/// Turn a serde-saphyr error into a located diagnostic with a "did you mean" where possible.
pub fn yaml_error(file: &Path, text: &str, err: &serde_saphyr::Error) -> Diagnostic {
    let (line, col) = err
        .location()
        .map(|l| (l.line() as u32, l.column() as u32))
        .unwrap_or((0, 0));
    let located = |msg: String| {
        if line == 0 {
            Diagnostic::file(file, msg)
        } else {
            Diagnostic::at(file, text, line, col, msg)
        }
    };
    match original(err) {
        serde_saphyr::Error::SerdeUnknownField {
            field, expected, ..
        } => {
            let d = located(format!("unknown field `{field}`")).underline_token();
            match did_you_mean(field, expected.iter().copied()) {
                Some(s) => d.label(format!("did you mean `{s}`?")),
                None => d.help(format!("expected one of: {}", expected.join(", "))),
            }
        }
        serde_saphyr::Error::SerdeUnknownVariant {
            variant, expected, ..
        } => {
            // A value read inside a visitor (`error: rest` as one of several shapes) is located
            // at its key; point at the value itself when it follows on the same line.
            let value_col = text
                .lines()
                .nth((line as usize).saturating_sub(1))
                .and_then(|l| l.get((col as usize).saturating_sub(1)..))
                .and_then(|rest| rest.find(variant.as_str()))
                .map_or(col, |at| col + at as u32);
            let d = if line == 0 {
                Diagnostic::file(file, format!("unknown value `{variant}`"))
            } else {
                Diagnostic::at(
                    file,
                    text,
                    line,
                    value_col,
                    format!("unknown value `{variant}`"),
                )
            }
            .underline_token();
            let d = match did_you_mean(variant, expected.iter().copied()) {
                Some(s) => d.label(format!("did you mean `{s}`?")),
                None => d,
            };
            d.help(format!("expected one of: {}", expected.join(", ")))
        }
        serde_saphyr::Error::Budget { breach, .. } => {
            let (message, help) = budget(breach);
            located(message).help(help)
        }
        other => {
            let message = manifest::strip_location(&other.to_string());
            if message.contains("found a tab") || message.contains("tab character") {
                // The scanner reports the token it was reading, often on the line before.
                let (line, col) = first_tab(text, line).unwrap_or((line, col));
                return Diagnostic::at(file, text, line, col, "a tab where YAML needs spaces")
                    .help("YAML indents with spaces only; replace the tab with spaces");
            }
            if message.starts_with("recursion limit exceeded") {
                return located("lists and maps are nested too deeply".into()).help(
                    "files like this need a few levels of nesting; this one opens hundreds without closing them",
                );
            }
            if let Some((open, line, col)) = unclosed_bracket(text, line, col) {
                let close = if open == '[' { ']' } else { '}' };
                let message = format!("`{open}` is not closed by `{close}`");
                return Diagnostic::at(file, text, line, col, message).help(format!(
                    "a flow {} starts with `{open}` and ends with `{close}`; if the `{open}` is text, quote the value",
                    if open == '[' { "list" } else { "map" }
                ));
            }
            let d = located(message);
            let source_line = d.source_line.clone().unwrap_or_default();
            let unquoted_placeholder = source_line
                .split_once(':')
                .is_some_and(|(_, v)| v.trim_start().starts_with("{{"))
                || source_line
                    .trim_start()
                    .trim_start_matches("- ")
                    .starts_with("{{");
            if unquoted_placeholder {
                d.help("a value that starts with `{{` must be quoted, e.g. namespace: \"{{ appNamespace }}\"; unquoted, YAML reads a mapping")
            } else {
                d
            }
        }
    }
}

/// The parser's own error under the wrappers that add a snippet or an alias's locations.
fn original(mut err: &serde_saphyr::Error) -> &serde_saphyr::Error {
    while let serde_saphyr::Error::AliasError { error, .. }
    | serde_saphyr::Error::WithSnippet { error, .. } = err
    {
        err = error;
    }
    err
}

/// A budget breach in plain words: the message and a help line.
fn budget(breach: &BudgetBreach) -> (String, String) {
    let aliases = "aliases (`*name`) repeat what their anchor (`&name`) holds, so a few lines of them can stand for billions of values";
    match breach {
        BudgetBreach::Nodes { nodes } => (
            format!(
                "the YAML holds more than {} values",
                nodes.saturating_sub(1)
            ),
            format!("files like this need far fewer; {aliases}"),
        ),
        BudgetBreach::Aliases { aliases: n }
        | BudgetBreach::AliasAnchorRatio { aliases: n, .. } => (
            format!("the YAML uses too many aliases ({n})"),
            aliases.to_owned(),
        ),
        BudgetBreach::Depth { depth } => (
            format!(
                "lists and maps are nested more than {} levels deep",
                depth.saturating_sub(1)
            ),
            "files like this need a few levels of nesting".to_owned(),
        ),
        BudgetBreach::Documents { documents } => (
            format!(
                "the file holds more than {} YAML documents",
                documents.saturating_sub(1)
            ),
            "documents are separated by `---` lines".to_owned(),
        ),
        other => (
            format!("the YAML is too large to read ({})", plain(other)),
            aliases.to_owned(),
        ),
    }
}

/// `ScalarBytes { total_scalar_bytes: 5 }` → `scalar bytes: 5`.
fn plain(breach: &BudgetBreach) -> String {
    let debug = format!("{breach:?}");
    let (name, rest) = debug.split_once(' ').unwrap_or((&debug, ""));
    let number: String = rest.chars().filter(char::is_ascii_digit).collect();
    let mut words = String::new();
    for c in name.chars() {
        if c.is_uppercase() && !words.is_empty() {
            words.push(' ');
        }
        words.push(c.to_ascii_lowercase());
    }
    if number.is_empty() {
        words
    } else {
        format!("{words}: {number}")
    }
}

/// The first tab at or after `line` (1-based), within a few lines.
fn first_tab(text: &str, line: u32) -> Option<(u32, u32)> {
    text.lines()
        .enumerate()
        .skip(line.saturating_sub(1) as usize)
        .take(3)
        .find_map(|(i, l)| {
            let col = l.chars().position(|c| c == '\t')?;
            Some((i as u32 + 1, col as u32 + 1))
        })
}

/// The `[` or `{` (and its line and column) of a flow list or map still open where the parser
/// failed (`line`:`col`): it was never closed. Brackets count where a value starts (after `: `,
/// `- `, or inside another flow collection), not inside plain text.
fn unclosed_bracket(text: &str, line: u32, col: u32) -> Option<(char, u32, u32)> {
    let mut open: Vec<(char, u32, u32)> = Vec::new();
    for (i, l) in text.lines().enumerate().take(line as usize) {
        let n = i as u32 + 1;
        let mut quote: Option<char> = None;
        let mut prev = ' ';
        let mut value_start = true; // at the start of a line (after indentation)
        for (j, c) in l.chars().enumerate() {
            let here = j as u32 + 1;
            if n == line && here > col {
                break;
            }
            match (quote, c) {
                (Some(q), c) if c == q => quote = None,
                (Some(_), _) => {}
                (None, '"' | '\'') if !open.is_empty() || value_start => quote = Some(c),
                (None, '[' | '{') if !open.is_empty() || value_start => open.push((c, n, here)),
                (None, ']' | '}') if !open.is_empty() => {
                    open.pop();
                }
                (None, '#') if prev == ' ' => break,
                _ => {}
            }
            value_start = match c {
                ' ' => value_start || prev == ':' || prev == '-',
                '[' | '{' | ',' => !open.is_empty(),
                _ => false,
            };
            prev = c;
        }
    }
    let first = open.first().copied()?;
    // The parser may stop right at a bracket that does close on its line (`name: {{ x }}`,
    // an unquoted placeholder): not this mistake.
    let closes_on_its_line = first.1 == line && {
        let rest: String = text
            .lines()
            .nth(line as usize - 1)
            .unwrap_or_default()
            .chars()
            .skip(first.2 as usize - 1)
            .collect();
        let mut depth = 0i32;
        rest.chars().any(|c| {
            depth += match c {
                '[' | '{' => 1,
                ']' | '}' => -1,
                _ => 0,
            };
            depth == 0
        })
    };
    (!closes_on_its_line).then_some(first)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn diag(text: &str) -> Diagnostic {
        #[derive(Debug, serde::Deserialize)]
        #[allow(dead_code)]
        struct Doc {
            a: serde_json::Value,
        }
        let e = serde_saphyr::from_str::<Doc>(text).unwrap_err();
        yaml_error(Path::new("f.yaml"), text, &e)
    }

    #[test]
    fn a_tab_is_reported_where_it_is() {
        let d = diag("a:\n  b: one\n\tc: two\n");
        assert_eq!((d.line, d.col), (3, 1), "{}", d.message);
        assert_eq!(d.message, "a tab where YAML needs spaces");
    }

    #[test]
    fn an_unclosed_bracket_is_named() {
        let d = diag("a:\n  kind: [aks, kind\n  b: 1\n");
        assert_eq!(d.message, "`[` is not closed by `]`");
        assert_eq!((d.line, d.col), (2, 9));
        assert_eq!(unclosed_bracket("x: {{ a }}\ny: 1", 1, 4), None);
        assert_eq!(unclosed_bracket("x: [a, b\ny: 1", 1, 4), Some(('[', 1, 4)));
        assert_eq!(unclosed_bracket("x: a [b\ny: 1", 2, 1), None);
        assert_eq!(
            unclosed_bracket("x: [a,\n  b]\ny: [c", 3, 7),
            Some(('[', 3, 4))
        );
    }

    #[test]
    fn budget_breaches_are_plain_words_and_messages_are_whole() {
        let mut bomb = String::from("a:\n  l0: &l0 [x, x, x, x, x, x, x, x, x]\n");
        for i in 1..10 {
            bomb.push_str(&format!(
                "  l{i}: &l{i} [{}]\n",
                vec![format!("*l{}", i - 1); 9].join(", ")
            ));
        }
        let d = diag(&bomb);
        assert!(
            d.message.starts_with("the YAML holds more than"),
            "{}",
            d.message
        );
        assert!(
            !d.message.contains("budget") && !d.message.contains("(used"),
            "{}",
            d.message
        );
        let deep = format!("a: {}{}\n", "[".repeat(200), "]".repeat(200));
        let d = diag(&deep);
        assert!(d.message.contains("nested"), "{}", d.message);
        assert_eq!(
            plain(&BudgetBreach::ScalarBytes {
                total_scalar_bytes: 5
            }),
            "scalar bytes: 5"
        );
    }
}
