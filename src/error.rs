//! The errors that stop a command, and the exit code each one maps to. A learner's check that
//! fails is *not* an error (it is a result, exit 1); these mean "could not do what was asked".
//!
//! | code | meaning |
//! |---|---|
//! | 0 | everything asked for passed |
//! | 1 | some check failed (the learner's work is not done yet) |
//! | 2 | could not grade or validate: invalid lab files, cluster unreachable or forbidden |
//! | 3 | usage error: unknown command, flag, lab, profile, step or variable |
//! | 70 | internal error: a bug in labctl, or the system refused what labctl needs to run |
//! | 130, 143 | interrupted by Ctrl-C (SIGINT), or SIGTERM, while probes ran; their pods were deleted |

use crate::labfile::diag::Diagnostic;
use crate::plan::resolve::PlanError;
use std::path::PathBuf;

pub const EXIT_OK: i32 = 0;
pub const EXIT_FAILED: i32 = 1;
pub const EXIT_ERROR: i32 = 2;
pub const EXIT_USAGE: i32 = 3;
/// Not the user's doing (`EX_SOFTWARE` of sysexits.h): a bug in labctl, or the system refusing
/// what labctl needs to run (threads for its async runtime, starting bash).
pub const EXIT_INTERNAL: i32 = 70;
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
    /// Neither the user's mistake nor the cluster's: a bug (a poisoned lock, a report that could
    /// not be built) or the system refusing what labctl needs (starting bash). Exit 70.
    #[error("{0}")]
    Internal(String),
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
    Runtime(#[from] crate::view::runtime::RuntimeError),
    #[error("cannot write {}", .path.display())]
    Write {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// Reporters that could not write their file or output; the run itself went to the end.
    #[error(transparent)]
    Report(#[from] crate::report::set::ReportErrors),
    /// The learner state file cannot be used (unreadable, corrupt — it is then kept as a backup —,
    /// or written by a newer labctl). Exit 2: never reset silently.
    #[error("{message}")]
    State { message: String },
    /// `labctl class join` could not reach the class server or it refused the token. Exit 2.
    #[error("cannot join the class: {0}")]
    Join(String),
    /// The class server's database, certificate or listening socket (`labctl class serve`).
    #[error("{0}")]
    Server(String),
    /// `labctl start` could not grade the lab the started one `requires:` (exit as the cause).
    #[error("cannot check the required lab `{lab}` (`--skip-prerequisite` starts without it)")]
    Prerequisite {
        lab: String,
        #[source]
        source: Box<Error>,
    },
    /// Ctrl-C or SIGTERM while probes ran: their pods were deleted (those that could not be
    /// are listed).
    #[error("{}{}", signal_word(*.signal), interrupted_detail(.left))]
    Interrupted {
        signal: crate::signal::Signal,
        left: Vec<String>,
    },
}

impl From<crate::labfile::load::NamedError> for Error {
    fn from(e: crate::labfile::load::NamedError) -> Self {
        match e {
            crate::labfile::load::NamedError::NotFound(d) => Error::Usage(format!(
                "{}{}",
                d.message,
                d.help.map(|h| format!(" ({h})")).unwrap_or_default()
            )),
            crate::labfile::load::NamedError::Invalid(diags) => Error::InvalidLab(diags),
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
            | Error::Report(_)
            | Error::Bundle(_)
            | Error::Connect(_)
            | Error::Snapshot(_)
            | Error::Cluster(_)
            | Error::Discover(_)
            | Error::State { .. }
            | Error::Join(_)
            | Error::Server(_)
            | Error::Solve { .. } => EXIT_ERROR,
            Error::Plan(p) if !p.is_usage() => EXIT_ERROR,
            Error::Plan(_) | Error::Usage(_) => EXIT_USAGE,
            Error::Internal(_) | Error::Runtime(_) => EXIT_INTERNAL,
            Error::Interrupted { signal, .. } => signal.exit_code(),
            Error::Prerequisite { source, .. } => source.exit_code(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The codes in the first column of the first Markdown table after `heading` in `text`.
    fn documented(text: &str, heading: &str) -> Vec<i32> {
        let table = text.split(heading).nth(1).expect("the heading is there");
        table
            .lines()
            .map(|l| l.trim_start_matches("//!").trim())
            .skip_while(|l| !l.starts_with('|'))
            .take_while(|l| l.starts_with('|'))
            .filter_map(|l| l.split('|').nth(1))
            .flat_map(|cell| cell.split(',').filter_map(|c| c.trim().parse().ok()))
            .collect()
    }

    #[test]
    fn readme_and_this_module_document_every_exit_code() {
        let codes = vec![
            EXIT_OK,
            EXIT_FAILED,
            EXIT_ERROR,
            EXIT_USAGE,
            EXIT_INTERNAL,
            crate::signal::EXIT_INTERRUPTED,
            crate::signal::EXIT_TERMINATED,
        ];
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        let readme = std::fs::read_to_string(root.join("README.md")).unwrap();
        assert_eq!(documented(&readme, "## Exit codes"), codes, "README.md");
        let this = std::fs::read_to_string(root.join("src/error.rs")).unwrap();
        assert_eq!(
            documented(&this, "exit code each one maps to"),
            codes,
            "src/error.rs"
        );
    }

    #[test]
    fn internal_failures_are_not_usage_errors() {
        let internal = Error::Internal("internal error: poisoned lock".into());
        assert_eq!(internal.exit_code(), EXIT_INTERNAL);
        assert_eq!(internal.to_string(), "internal error: poisoned lock");
        assert_ne!(EXIT_INTERNAL, EXIT_USAGE);
        assert_eq!(Error::Usage("x".into()).exit_code(), EXIT_USAGE);
    }
}
