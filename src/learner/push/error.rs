//! What can go wrong when a learner's results go to the class server: the saved join file, the
//! TLS set-up, a request and its answer, the queue. The messages are the ones learners see in
//! `note:` and `status` lines, so they stay short and never repeat the token.

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum PushError {
    /// `place` is the path, with `:line:col` when the problem is at a place in the file.
    #[error("cannot read {place}: {source}")]
    ReadJoin {
        place: String,
        #[source]
        source: crate::readfile::ReadError,
    },
    #[error("cannot read {}: {source}; `labctl class join` again", path.display())]
    ParseJoin {
        path: PathBuf,
        #[source]
        source: serde_json::Error,
    },
    #[error("cannot set up TLS: {0}")]
    Tls(#[source] rustls::Error),
    #[error("this machine has no trusted root certificates; ask for a join link with a pin")]
    NoRoots,
    #[error("cannot make the request: {0}")]
    Request(#[source] http::Error),
    /// The innermost cause of a transport error, already made safe to print
    /// ([`super::client::cause`]).
    #[error("{0}")]
    Transport(String),
    #[error("the server's answer is not labctl's: {0}")]
    NotLabctl(#[source] serde_json::Error),
    #[error("the server does not know this token (401): ask for a new join link")]
    UnknownToken,
    #[error("this token was revoked (403): ask for a new join link")]
    Revoked,
    /// `error` is the server's reason, already made safe to print and short.
    #[error("the server answered {status}: {error}")]
    Answered { status: u16, error: String },
    #[error("no answer within {secs}s")]
    Timeout { secs: f32 },
    #[error("{0}")]
    Runtime(#[from] crate::view::runtime::RuntimeError),
    #[error("{0}")]
    Queue(#[source] std::io::Error),
}
