//! The errors that stop a command, and the exit code each one maps to. A learner's check that
//! fails is *not* an error (it is a result, exit 1); these mean "could not do what was asked".
//!
//! | code | meaning |
//! |---|---|
//! | 0 | everything asked for passed |
//! | 1 | some check failed (the learner's work is not done yet) |
//! | 2 | could not grade or validate: invalid lab files, cluster unreachable or forbidden |
//! | 3 | usage error: unknown command, flag, lab, profile, step or variable |
//! | 130, 143 | interrupted by Ctrl-C (SIGINT), or SIGTERM, while probes ran; their pods were deleted |

use crate::plan::resolve::PlanError;
use crate::spec::diag::Diagnostic;
use std::path::PathBuf;

pub const EXIT_OK: i32 = 0;
pub const EXIT_FAILED: i32 = 1;
pub const EXIT_ERROR: i32 = 2;
pub const EXIT_USAGE: i32 = 3;
/// Interrupted by Ctrl-C (128 + SIGINT, as shells report it); SIGTERM gives 143.
pub const EXIT_INTERRUPTED: i32 = crate::signal::EXIT_INTERRUPTED;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{} in lab files", count(.0.len()))]
    InvalidLab(Vec<Diagnostic>),
    #[error("{} in roster", count(.0.len()))]
    InvalidRoster(Vec<Diagnostic>),
    #[error(transparent)]
    Plan(#[from] PlanError),
    /// A variable the lab reads from the cluster could not be decided (two revisions, say).
    #[error("could not grade: {0}")]
    Discover(#[from] crate::eval::discover::DiscoverError),
    #[error("{0}")]
    Usage(String),
    #[error("cannot connect to the cluster")]
    Connect(#[from] crate::view::connect::ConnectError),
    #[error(transparent)]
    Snapshot(#[from] crate::view::snapshot::SnapshotError),
    #[error("could not grade: {0}")]
    Cluster(crate::view::objects::FetchError),
    #[error("solve command {command} of step `{step}` failed with exit code {code}")]
    Solve {
        step: String,
        command: usize,
        code: i32,
    },
    #[error(transparent)]
    Bundle(#[from] crate::bundle::UnpackError),
    #[error(transparent)]
    Runtime(#[from] crate::view::RuntimeError),
    #[error("cannot write {}", .path.display())]
    Write {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// The learner state file cannot be used (unreadable, corrupt — it is then kept as a backup —,
    /// or written by a newer labctl). Exit 2: never reset silently.
    #[error("{message}")]
    State { message: String },
    /// Ctrl-C or SIGTERM while probes ran: their pods were deleted (those that could not be
    /// are listed).
    #[error("{}{}", signal_word(*.signal), interrupted_detail(.left))]
    Interrupted {
        signal: crate::signal::Signal,
        left: Vec<String>,
    },
}

impl From<crate::spec::load::NamedError> for Error {
    fn from(e: crate::spec::load::NamedError) -> Self {
        match e {
            crate::spec::load::NamedError::NotFound(d) => Error::Usage(format!(
                "{}{}",
                d.message,
                d.help.map(|h| format!(" ({h})")).unwrap_or_default()
            )),
            crate::spec::load::NamedError::Invalid(diags) => Error::InvalidLab(diags),
        }
    }
}

fn signal_word(signal: crate::signal::Signal) -> &'static str {
    match signal {
        crate::signal::Signal::Interrupt => "interrupted",
        crate::signal::Signal::Terminate => "terminated",
    }
}

fn interrupted_detail(left: &[String]) -> String {
    if left.is_empty() {
        String::new()
    } else {
        format!("; {}", left.join("; "))
    }
}

fn count(n: usize) -> String {
    if n == 1 {
        "1 problem".into()
    } else {
        format!("{n} problems")
    }
}

impl Error {
    pub fn exit_code(&self) -> i32 {
        match self {
            Error::InvalidLab(_)
            | Error::InvalidRoster(_)
            | Error::Write { .. }
            | Error::Bundle(_)
            | Error::Connect(_)
            | Error::Snapshot(_)
            | Error::Cluster(_)
            | Error::Discover(_)
            | Error::State { .. }
            | Error::Solve { .. } => EXIT_ERROR,
            Error::Plan(p) if !p.is_usage() => EXIT_ERROR,
            Error::Plan(_) | Error::Usage(_) | Error::Runtime(_) => EXIT_USAGE,
            Error::Interrupted { signal, .. } => signal.exit_code(),
        }
    }
}
