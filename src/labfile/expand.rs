//! Resolving variable values that refer to other variables (`meshConfigMap:
//! "istio-{{ revision }}"`) without letting a lab, a roster or a `--var` blow up: a cycle
//! (`blockedHost: "{{ blockedHost }}.x"`) is an error that names it, and so is a value that grows
//! past [`VALUE_LIMIT`] as it expands (`e0: "{{ e1 }}{{ e1 }}"`, 40 levels deep, would be a
//! terabyte). Each value is expanded once (memoised) and never built past the limit, so
//! resolving costs at most `variables × limit` bytes, whatever the input.
//!
//! The same bounds hold for the texts the values are pasted into: [`expanded_len`] measures a
//! substitution before it is made, so callers can refuse one that would exceed [`TEXT_LIMIT`].

use std::collections::BTreeMap;

/// The longest value a variable may expand to (characters, counted in bytes).
pub const VALUE_LIMIT: usize = 64 * 1024;
/// The longest a single text (a step's Markdown, a check's string, a whole file) may grow to
/// once its placeholders are substituted: as large as a lab file may be.
pub const TEXT_LIMIT: usize = crate::readfile::LAB_FILE_LIMIT as usize;
/// The most all the substituted texts of one plan (a lab for one profile) may add up to.
pub const PLAN_LIMIT: usize = 16 * 1024 * 1024;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ExpandError {
    /// `chain` starts and ends with the same variable: `[a, b, a]`.
    #[error("variables refer to each other in a cycle: {}", arrows(.chain))]
    Cycle { chain: Vec<String> },
    /// `chain` leads from the variable being resolved to the one whose value grew too long.
    #[error(
        "variable `{}` expands to more than {} characters ({})",
        .chain.last().map(String::as_str).unwrap_or_default(),
        .limit,
        arrows(.chain)
    )]
    TooLong { chain: Vec<String>, limit: usize },
}

impl ExpandError {
    /// The variable the error is about: the one that closes the cycle, or that grew too long.
    pub fn variable(&self) -> &str {
        let chain = match self {
            ExpandError::Cycle { chain } | ExpandError::TooLong { chain, .. } => chain,
        };
        chain.last().map(String::as_str).unwrap_or_default()
    }

    /// Every variable the error involves.
    pub fn chain(&self) -> &[String] {
        match self {
            ExpandError::Cycle { chain } | ExpandError::TooLong { chain, .. } => chain,
        }
    }
}

/// `a → b → c`, long chains shortened to their ends: `e0 → e1 → … → e39`.
fn arrows(chain: &[String]) -> String {
    let quoted: Vec<String> = chain.iter().map(|c| format!("`{c}`")).collect();
    if quoted.len() <= 6 {
        return quoted.join(" → ");
    }
    let (head, tail) = (&quoted[..3], &quoted[quoted.len() - 2..]);
    format!("{} → … → {}", head.join(" → "), tail.join(" → "))
}

/// Expand every value of `raw` that refers to other variables. Values that refer, directly or
/// not, to a variable `raw` does not have (or that hold an unclosed `{{`) are left out: those
/// variables count as unset.
pub fn resolve(
    raw: &BTreeMap<String, String>,
    limit: usize,
) -> Result<BTreeMap<String, String>, ExpandError> {
    let mut r = Resolver {
        raw,
        limit,
        done: BTreeMap::new(),
        stack: Vec::new(),
    };
    for name in raw.keys() {
        r.visit(name)?;
    }
    Ok(r.done
        .into_iter()
        .filter_map(|(k, v)| v.map(|v| (k.to_owned(), v)))
        .collect())
}

struct Resolver<'a> {
    raw: &'a BTreeMap<String, String>,
    limit: usize,
    /// `None`: the variable ends up unset.
    done: BTreeMap<&'a str, Option<String>>,
    /// The variables being expanded, outermost first.
    stack: Vec<&'a str>,
}

impl<'a> Resolver<'a> {
    fn visit(&mut self, name: &'a str) -> Result<Option<String>, ExpandError> {
        if let Some(v) = self.done.get(name) {
            return Ok(v.clone());
        }
        let chain = |stack: &[&str], last: &str| -> Vec<String> {
            stack
                .iter()
                .map(|s| s.to_string())
                .chain([last.to_owned()])
                .collect()
        };
        if let Some(start) = self.stack.iter().position(|s| *s == name) {
            return Err(ExpandError::Cycle {
                chain: chain(&self.stack[start..], name),
            });
        }
        let (key, text) = self.raw.get_key_value(name).expect("visit known names");
        self.stack.push(key);
        let mut out = String::new();
        let mut unset = false;
        let mut rest = text.as_str();
        while let Some(start) = rest.find("{{") {
            out.push_str(&rest[..start]);
            let after = &rest[start + 2..];
            let Some(end) = after.find("}}") else {
                unset = true; // an unclosed `{{`: never a usable value
                break;
            };
            let refd = after[..end].trim();
            match self.raw.get_key_value(refd) {
                Some((k, _)) => match self.visit(k)? {
                    Some(v) if !unset => out.push_str(&v),
                    _ => unset = true,
                },
                None => unset = true,
            }
            if out.len() > self.limit {
                return Err(ExpandError::TooLong {
                    chain: chain(&self.stack[..self.stack.len() - 1], name),
                    limit: self.limit,
                });
            }
            rest = &after[end + 2..];
        }
        if !unset {
            out.push_str(rest);
        }
        if out.len() > self.limit {
            return Err(ExpandError::TooLong {
                chain: chain(&self.stack[..self.stack.len() - 1], name),
                limit: self.limit,
            });
        }
        self.stack.pop();
        let value = (!unset).then_some(out);
        self.done.insert(key, value.clone());
        Ok(value)
    }
}

/// Substituted text counted against [`TEXT_LIMIT`] (each text) and [`PLAN_LIMIT`] (all of them),
/// measured before it is built. The first text over a limit is kept, with where it is.
#[derive(Debug, Default)]
pub struct Budget {
    used: usize,
    /// Where the first text over a limit is, and the limit.
    pub over: Option<(String, usize)>,
}

impl Budget {
    /// Whether `text` may be substituted with `values`; `place` names it for the error.
    pub fn admit(
        &mut self,
        text: &str,
        values: &BTreeMap<String, String>,
        place: impl FnOnce() -> String,
    ) -> bool {
        if self.over.is_some() {
            return false;
        }
        let n = expanded_len(text, values);
        self.used = self.used.saturating_add(n);
        let limit = if n > TEXT_LIMIT {
            TEXT_LIMIT
        } else if self.used > PLAN_LIMIT {
            PLAN_LIMIT
        } else {
            return true;
        };
        self.over = Some((place(), limit));
        false
    }
}

/// The length `text` would have after [`crate::labfile::template::substitute`] with `values` (placeholders
/// without a value keep their length), computed without building it.
pub fn expanded_len(text: &str, values: &BTreeMap<String, String>) -> usize {
    // The same scan as `template::substitute` (a placeholder may span lines there).
    let mut n = 0usize;
    let mut rest = text;
    while let Some(start) = rest.find("{{") {
        let after = &rest[start + 2..];
        let Some(end) = after.find("}}") else {
            break;
        };
        let token = start + 2 + end + 2;
        let value = values
            .get(after[..end].trim())
            .map_or(token - start, String::len);
        n = n.saturating_add(start).saturating_add(value);
        rest = &after[end + 2..];
    }
    n.saturating_add(rest.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raw(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn nested_values_resolve_and_unset_ones_propagate() {
        let v = resolve(
            &raw(&[
                ("revision", "asm-1-24"),
                ("cm", "istio-shared-configmap-{{ revision }}"),
                ("scope", "{{ resourceGroup }}/x"),
                ("outer", "<{{ scope }}>"),
                ("open", "{{ revision"),
            ]),
            VALUE_LIMIT,
        )
        .unwrap();
        assert_eq!(v["cm"], "istio-shared-configmap-asm-1-24");
        assert_eq!(v.keys().collect::<Vec<_>>(), ["cm", "revision"]);
    }

    #[test]
    fn a_cycle_through_a_default_is_named() {
        let e = resolve(&raw(&[("blockedHost", "{{ blockedHost }}.x")]), VALUE_LIMIT).unwrap_err();
        assert_eq!(
            e.to_string(),
            "variables refer to each other in a cycle: `blockedHost` → `blockedHost`"
        );
        let e = resolve(
            &raw(&[("a", "{{ b }}"), ("b", "x{{ c }}"), ("c", "{{a}}")]),
            99,
        )
        .unwrap_err();
        assert_eq!(e.chain(), ["a", "b", "c", "a"]);
    }

    #[test]
    fn an_exponential_chain_stops_at_the_limit() {
        let mut pairs: Vec<(String, String)> = (0..40)
            .map(|i| {
                (
                    format!("e{i}"),
                    format!("{{{{ e{} }}}}{{{{ e{} }}}}", i + 1, i + 1),
                )
            })
            .collect();
        pairs.push(("e40".into(), "xx".into()));
        let e = resolve(&pairs.into_iter().collect(), VALUE_LIMIT).unwrap_err();
        // 2 × 2^k characters pass 64 KiB at e24; the chain leads there from e0.
        assert_eq!(e.variable(), "e24");
        assert_eq!(e.chain().first().map(String::as_str), Some("e0"));
        assert!(
            e.to_string()
                .contains("`e0` → `e1` → `e2` → … → `e23` → `e24`"),
            "{e}"
        );
    }

    #[test]
    fn a_long_literal_value_is_too_long_too() {
        let e = resolve(&raw(&[("big", &"x".repeat(100))]), 99).unwrap_err();
        assert_eq!(
            e,
            ExpandError::TooLong {
                chain: vec!["big".into()],
                limit: 99
            }
        );
    }

    #[test]
    fn expanded_length_matches_substitution() {
        let values = raw(&[("a", "12345"), ("b", "")]);
        for text in [
            "x{{ a }}y{{b}}z{{ c }}",
            "",
            "{{ a",
            "{{a}}{{a}}",
            "{{ a\n}}",
        ] {
            assert_eq!(
                expanded_len(text, &values),
                crate::labfile::template::substitute(text, &values).0.len(),
                "{text}"
            );
        }
    }
}
