//! What a variable's value may be. Values come from lab files, `--var`, state files, rosters and
//! snapshots, and end up in shell commands and on the terminal, so every resolved value is held
//! to the same rules: never empty, no control characters (an escape sequence would otherwise
//! reach the terminal as it is), and — when the lab declares `pattern:` — the whole value
//! matches the pattern. `validate` applies them to defaults and profile values; the plan
//! applies them to every value it resolves, so `start`, `grade`, `ci`, `check` and `class report`
//! refuse the same values.

/// A variable's `pattern:`, compiled to match the whole value (`^(?:…)$`), so a pattern the
/// author left unanchored still cannot be satisfied by a value with extra text around a match.
#[derive(Debug, Clone)]
pub struct Pattern {
    /// As written in lab.yaml, for messages.
    pub source: String,
    regex: regex::Regex,
}

impl Pattern {
    pub fn new(source: &str) -> Result<Pattern, Box<regex::Error>> {
        let regex = regex::RegexBuilder::new(&format!("^(?:{source})$"))
            .size_limit(1 << 20)
            .build()
            .map_err(Box::new)?;
        Ok(Pattern {
            source: source.to_owned(),
            regex,
        })
    }

    pub fn matches(&self, value: &str) -> bool {
        self.regex.is_match(value)
    }
}

/// Why a value is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ValueProblem {
    #[error("is empty")]
    Empty,
    #[error("contains a control character ({0})")]
    Control(String),
    #[error("does not match its pattern `{0}`")]
    NoMatch(String),
}

/// Whether `value` may be used; see the module docs.
pub fn check(value: &str, pattern: Option<&Pattern>) -> Result<(), ValueProblem> {
    if value.is_empty() {
        return Err(ValueProblem::Empty);
    }
    if let Some(c) = value.chars().find(|c| c.is_control()) {
        return Err(ValueProblem::Control(c.escape_default().to_string()));
    }
    match pattern {
        Some(p) if !p.matches(value) => Err(ValueProblem::NoMatch(p.source.clone())),
        _ => Ok(()),
    }
}

/// Longest value quoted in a message, in characters.
const SHOWN_MAX: usize = 80;

/// A value as a message quotes it: control characters escaped (`\u{1b}`), cut at 80 characters.
pub fn shown(value: &str) -> String {
    let mut out: String = value
        .chars()
        .take(SHOWN_MAX)
        .flat_map(|c| {
            if c.is_control() {
                c.escape_default().collect::<Vec<_>>()
            } else {
                vec![c]
            }
        })
        .collect();
    if value.chars().count() > SHOWN_MAX {
        out.push('…');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pattern_matches_the_whole_value() {
        let p = Pattern::new("asm-[0-9]+-[0-9]+").unwrap();
        assert!(p.matches("asm-1-23"));
        assert!(!p.matches("x$(touch pwned)asm-1-23"));
        assert!(!p.matches("asm-1-23; rm -rf ~"));
        let anchored = Pattern::new("^asm-[0-9]+-[0-9]+$").unwrap();
        assert!(anchored.matches("asm-1-24"));
        assert!(Pattern::new("asm-[").is_err());
    }

    #[test]
    fn empty_control_and_mismatched_values_are_refused() {
        let p = Pattern::new("^asm-[0-9]+-[0-9]+$").unwrap();
        assert_eq!(check("", None), Err(ValueProblem::Empty));
        assert_eq!(
            check("a\u{1b}[31mred", None),
            Err(ValueProblem::Control("\\u{1b}".into()))
        );
        assert_eq!(
            check("line\nbreak", None).unwrap_err().to_string(),
            "contains a control character (\\n)"
        );
        assert_eq!(
            check("x$(touch pwned)", Some(&p)).unwrap_err().to_string(),
            "does not match its pattern `^asm-[0-9]+-[0-9]+$`"
        );
        assert_eq!(check("asm-1-23", Some(&p)), Ok(()));
        assert_eq!(check("rg (lab) #1", None), Ok(()));
    }

    #[test]
    fn shown_values_carry_no_escape_sequence_and_are_bounded() {
        assert_eq!(shown("a\u{1b}]0;title\u{7}b"), "a\\u{1b}]0;title\\u{7}b");
        let long = "x".repeat(500);
        assert_eq!(shown(&long).chars().count(), SHOWN_MAX + 1);
    }
}
