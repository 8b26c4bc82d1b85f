//! Label selectors in kubectl's string syntax (`app in (a, b),tier!=db,!legacy`), parsed into
//! kube's `Selector` so matching follows the same rules as the API server.

use kube::core::{Expression, Selector, SelectorExt};
use std::collections::{BTreeMap, BTreeSet};

/// Why a label selector string could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SelectorError {
    #[error("unbalanced `)`")]
    UnbalancedClose,
    #[error("unclosed `(`")]
    Unclosed,
    #[error(
        "cannot read requirement `{req}` (expected key=value, key!=value, key in (a,b), key notin (a,b), key or !key)"
    )]
    Requirement { req: String },
}

/// Parse a label selector string. The error says which requirement could not be read.
pub fn parse(s: &str) -> Result<Selector, SelectorError> {
    let mut exprs = Vec::new();
    for req in split_requirements(s)? {
        exprs.push(parse_requirement(req.trim())?);
    }
    Ok(Selector::from_iter(exprs))
}

/// Whether `labels` satisfy the selector.
pub fn matches(selector: &Selector, labels: &BTreeMap<String, String>) -> bool {
    selector.matches(labels)
}

fn split_requirements(s: &str) -> Result<Vec<&str>, SelectorError> {
    let mut parts = Vec::new();
    let (mut depth, mut start) = (0i32, 0);
    for (i, c) in s.char_indices() {
        match c {
            '(' => depth += 1,
            ')' => {
                depth -= 1;
                if depth < 0 {
                    return Err(SelectorError::UnbalancedClose);
                }
            }
            ',' if depth == 0 => {
                parts.push(&s[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    if depth != 0 {
        return Err(SelectorError::Unclosed);
    }
    parts.push(&s[start..]);
    Ok(parts.into_iter().filter(|p| !p.trim().is_empty()).collect())
}

fn parse_requirement(req: &str) -> Result<Expression, SelectorError> {
    let bad = || SelectorError::Requirement { req: req.into() };
    if let Some(key) = req.strip_prefix('!') {
        return valid_key(key.trim())
            .then(|| Expression::DoesNotExist(key.trim().into()))
            .ok_or_else(bad);
    }
    for (op, negate) in [("!=", true), ("==", false), ("=", false)] {
        if let Some((k, v)) = req.split_once(op) {
            let (k, v) = (k.trim(), v.trim());
            if !valid_key(k) || v.contains(char::is_whitespace) {
                return Err(bad());
            }
            return Ok(if negate {
                Expression::NotEqual(k.into(), v.into())
            } else {
                Expression::Equal(k.into(), v.into())
            });
        }
    }
    let words: Vec<&str> = req.splitn(2, char::is_whitespace).collect();
    match words.as_slice() {
        [key] if valid_key(key) => Ok(Expression::Exists((*key).into())),
        [key, rest] if valid_key(key) => {
            let rest = rest.trim();
            let (negate, list) = if let Some(l) = rest.strip_prefix("notin") {
                (true, l)
            } else if let Some(l) = rest.strip_prefix("in") {
                (false, l)
            } else {
                return Err(bad());
            };
            let list = list.trim();
            let inner = list
                .strip_prefix('(')
                .and_then(|l| l.strip_suffix(')'))
                .ok_or_else(bad)?;
            let values: BTreeSet<String> = inner
                .split(',')
                .map(|v| v.trim().to_owned())
                .filter(|v| !v.is_empty())
                .collect();
            if values.is_empty() {
                return Err(bad());
            }
            Ok(if negate {
                Expression::NotIn((*key).into(), values)
            } else {
                Expression::In((*key).into(), values)
            })
        }
        _ => Err(bad()),
    }
}

fn valid_key(k: &str) -> bool {
    !k.is_empty()
        && k.chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./".contains(c))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn set_and_equality_requirements() {
        let sel = parse("app in (store-front, order-service),tier!=db,!legacy").unwrap();
        assert!(matches(&sel, &labels(&[("app", "store-front")])));
        assert!(!matches(&sel, &labels(&[("app", "rabbitmq")])));
        assert!(!matches(
            &sel,
            &labels(&[("app", "store-front"), ("legacy", "1")])
        ));
        assert!(!matches(
            &sel,
            &labels(&[("app", "order-service"), ("tier", "db")])
        ));
        let sel = parse("istio.io/rev=asm-1-23").unwrap();
        assert!(matches(&sel, &labels(&[("istio.io/rev", "asm-1-23")])));
    }

    #[test]
    fn rejects_malformed_selectors() {
        assert!(parse("app in (a, b").is_err());
        assert!(parse("app inn (a)").is_err());
        assert!(parse("a b=c").is_err());
    }
}
