//! Why a check could not be evaluated ("could not grade", exit 2): not a failure of the
//! learner's work, and never a pass. The messages are the ones results and reports show.

use crate::view::objects::FetchError;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EvalError {
    /// The list a resource check reads could not be fetched.
    #[error(transparent)]
    Fetch(#[from] FetchError),
    /// A label selector that does not parse (after substitution).
    #[error("{0}")]
    Selector(#[source] crate::labfile::selector::SelectorError),
    /// A CEL expression that does not compile (after substitution).
    #[error("{0}")]
    CelCompile(#[source] crate::cel::CelError),
    /// A CEL expression that failed on an object for a reason other than a missing field.
    #[error("CEL `{expr}` failed on {object}: {why}")]
    CelFailed {
        expr: String,
        object: String,
        #[source]
        why: crate::cel::CelError,
    },
    /// A `matches:` that does not compile (after substitution).
    #[error("invalid regular expression `{re}`: {why}")]
    Regex { re: String, why: String },
    /// A command that could not run (missing program, timeout).
    #[error("could not run `{run}`: {why}")]
    CommandFailed { run: String, why: String },
    /// A probe that could not be made (probe pod forbidden or never finished…).
    #[error("could not probe {request}: {why}")]
    ProbeFailed { request: String, why: String },
    /// A probe whose answer proves neither way what the check is about.
    #[error("could not prove it: {request} {should}, but got {actual}. {why}")]
    Unproven {
        request: String,
        should: String,
        actual: String,
        why: &'static str,
    },
}
