//! A `resource:` check as written (`ResourceDecl`) and validated (`ResourceBody`): a selection
//! of objects and what they must look like.

use serde::Deserialize;
use serde_json::Value;
use serde_saphyr::Spanned;

type S = Spanned<String>;

/// `resource:` as written; also the selection of a variable's `discover:`.
#[derive(Debug, Deserialize, Clone)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ResourceDecl {
    pub api_version: S,
    pub kind: S,
    #[serde(default)]
    pub namespace: Option<String>,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub labels: Option<S>,
}

#[derive(Debug, Deserialize, Clone, Copy, PartialEq, Eq, Default)]
#[serde(rename_all = "lowercase")]
pub enum Quantifier {
    #[default]
    All,
    Any,
    None,
}

/// A resource check: the objects `selector` picks, judged by `expect`.
#[derive(Debug, Clone, PartialEq)]
pub struct ResourceBody {
    pub selector: Selector,
    pub expect: ResourceExpect,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Selector {
    pub api_version: String,
    pub kind: String,
    pub namespace: Option<String>,
    pub name: Option<String>,
    pub labels: Option<String>,
}

/// What the selected objects must be. `absent: true` excludes the other fields (a lint).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ResourceExpect {
    pub quantifier: Quantifier,
    pub count: Option<Count>,
    pub match_: Option<Value>,
    pub cel: Option<String>,
    pub absent: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CountOp {
    Eq,
    Ge,
    Le,
    Gt,
    Lt,
}

/// `count: ">= 4"`: how many selected objects must satisfy the expectation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Count {
    pub op: CountOp,
    pub n: usize,
}
impl Count {
    pub fn parse(s: &str) -> Option<Count> {
        let s = s.trim();
        let (op, rest) = [
            (">=", CountOp::Ge),
            ("<=", CountOp::Le),
            ("==", CountOp::Eq),
            (">", CountOp::Gt),
            ("<", CountOp::Lt),
            ("=", CountOp::Eq),
        ]
        .iter()
        .find_map(|(p, op)| s.strip_prefix(p).map(|r| (*op, r)))
        .unwrap_or((CountOp::Eq, s));
        rest.trim().parse().ok().map(|n| Count { op, n })
    }

    pub fn holds(&self, actual: usize) -> bool {
        match self.op {
            CountOp::Eq => actual == self.n,
            CountOp::Ge => actual >= self.n,
            CountOp::Le => actual <= self.n,
            CountOp::Gt => actual > self.n,
            CountOp::Lt => actual < self.n,
        }
    }
}

impl std::fmt::Display for Count {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let op = match self.op {
            CountOp::Eq => "exactly",
            CountOp::Ge => "at least",
            CountOp::Le => "at most",
            CountOp::Gt => "more than",
            CountOp::Lt => "fewer than",
        };
        write!(f, "{op} {}", self.n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_counts() {
        assert_eq!(
            Count::parse(">= 4"),
            Some(Count {
                op: CountOp::Ge,
                n: 4
            })
        );
        assert_eq!(
            Count::parse("2"),
            Some(Count {
                op: CountOp::Eq,
                n: 2
            })
        );
        assert_eq!(
            Count::parse("<1"),
            Some(Count {
                op: CountOp::Lt,
                n: 1
            })
        );
        assert_eq!(Count::parse("lots"), None);
        assert!(Count::parse(">=4").unwrap().holds(5));
        assert!(!Count::parse(">=4").unwrap().holds(3));
    }
}
