//! Why a CEL expression did not compile or evaluate. The texts are the `cel` crate's own (or
//! labctl's for a parser panic and a result of the wrong type), as labs and reports show them;
//! the variants let callers tell a missing field from a broken expression without reading them.

/// The texts are kept rather than the `cel` crate's errors: those are not `Eq`, and grading
/// errors are compared in tests.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CelError {
    /// The `cel` parser panicked on the expression.
    #[error("the CEL parser could not read this expression")]
    Unreadable,
    /// The expression does not compile: the parser's message.
    #[error("{0}")]
    Compile(String),
    /// The expression read a field the object does not have (`No such key: …`).
    #[error("{0}")]
    NoSuchKey(String),
    /// Any other failure while evaluating: the interpreter's message.
    #[error("{0}")]
    Eval(String),
    /// The expression gave a value of another type than the one asked for; `wanted` is the
    /// end of the sentence ("true/false", "a string").
    #[error("`{expr}` returned {got} instead of {wanted}")]
    WrongType {
        expr: String,
        got: &'static str,
        wanted: &'static str,
    },
}

impl From<kube::core::cel::cel::ExecutionError> for CelError {
    fn from(e: kube::core::cel::cel::ExecutionError) -> Self {
        match e {
            kube::core::cel::cel::ExecutionError::NoSuchKey(_) => {
                CelError::NoSuchKey(e.to_string())
            }
            _ => CelError::Eval(e.to_string()),
        }
    }
}
