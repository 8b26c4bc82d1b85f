//! `{{ name }}` placeholders: finding them (with positions, for the lint) and substituting them
//! (for the plan). The syntax is deliberately unlike shell (`${X}`, `$(cmd)`) so that commands in
//! step Markdown can use both.

use std::collections::BTreeMap;

/// One `{{ name }}` occurrence: the name and its 1-based line/column in the text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Placeholder {
    pub name: String,
    pub line: u32,
    pub col: u32,
    /// Length of the whole `{{ … }}` token, for the caret.
    pub len: usize,
}

/// Every placeholder in `text`. A `{{` without a closing `}}` on the same line is reported with
/// an empty name, so the lint can say "unclosed".
pub fn placeholders(text: &str) -> Vec<Placeholder> {
    let mut found = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let mut rest = line;
        let mut offset = 0;
        while let Some(start) = rest.find("{{") {
            let after = &rest[start + 2..];
            let col = (offset + start) as u32 + 1;
            match after.find("}}") {
                Some(end) => {
                    let name = after[..end].trim().to_owned();
                    found.push(Placeholder {
                        name,
                        line: i as u32 + 1,
                        col,
                        len: end + 4,
                    });
                    let consumed = start + 2 + end + 2;
                    offset += consumed;
                    rest = &rest[consumed..];
                }
                None => {
                    found.push(Placeholder {
                        name: String::new(),
                        line: i as u32 + 1,
                        col,
                        len: 2,
                    });
                    break;
                }
            }
        }
    }
    found
}

/// Whether `name` is a valid variable name (`[A-Za-z][A-Za-z0-9_]*`).
pub fn valid_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// Replace every `{{ name }}` that has a value; unknown ones are left as they are and returned.
pub fn substitute(text: &str, values: &BTreeMap<String, String>) -> (String, Vec<String>) {
    let mut out = String::with_capacity(text.len());
    let mut missing = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find("{{") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        match after.find("}}") {
            Some(end) => {
                let name = after[..end].trim();
                match values.get(name) {
                    Some(v) => out.push_str(v),
                    None => {
                        if !missing.iter().any(|m| m == name) {
                            missing.push(name.to_owned());
                        }
                        out.push_str(&rest[start..start + 2 + end + 2]);
                    }
                }
                rest = &after[end + 2..];
            }
            None => {
                out.push_str(&rest[start..]);
                rest = "";
            }
        }
    }
    out.push_str(rest);
    (out, missing)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_placeholders_with_positions() {
        let found = placeholders("a: x\nname: istiod-{{ revision }} in {{ns}}\nbad {{ open\n");
        assert_eq!(found.len(), 3);
        assert_eq!(
            (found[0].name.as_str(), found[0].line, found[0].col),
            ("revision", 2, 14)
        );
        assert_eq!(found[0].len, "{{ revision }}".len());
        assert_eq!((found[1].name.as_str(), found[1].col), ("ns", 32));
        assert_eq!((found[2].name.as_str(), found[2].line), ("", 3));
    }

    #[test]
    fn substitutes_known_and_reports_missing() {
        let values = BTreeMap::from([("revision".to_string(), "asm-1-23".to_string())]);
        let (out, missing) = substitute("istiod-{{ revision }} -g {{ rg }} ${SHELL}", &values);
        assert_eq!(out, "istiod-asm-1-23 -g {{ rg }} ${SHELL}");
        assert_eq!(missing, vec!["rg".to_string()]);
    }
}
