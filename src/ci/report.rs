//! What a `labctl ci` run produces: per step the commands that ran (with their output), the
//! grade of the step's checks, and, on a failure, the debug output; then the cleanup and the
//! objects it left behind. The engine emits [`CiEvent`]s while it runs; reporters (terminal,
//! JUnit) consume them through the same reporter set as `labctl grade`'s ([`CiRun`]).

use crate::report::event::StepReport;
use serde::Serialize;
use std::time::Duration;

/// One solve (or cleanup) code block, run with bash.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CommandRun {
    /// 1-based position among the step's blocks.
    pub index: usize,
    /// Where the block is written: `steps/01-enable-addon.md:29`.
    pub origin: String,
    /// The commands as run (variables substituted).
    pub code: String,
    /// stdout and stderr, interleaved as written.
    pub output: String,
    pub outcome: CommandOutcome,
    #[serde(serialize_with = "as_millis", rename = "durationMs")]
    pub duration: Duration,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "result", rename_all = "camelCase")]
pub enum CommandOutcome {
    Succeeded,
    Failed {
        exit_code: i32,
    },
    TimedOut {
        after_secs: u64,
    },
    /// bash could not be started at all.
    NotStarted {
        message: String,
    },
}

impl CommandOutcome {
    pub fn ok(&self) -> bool {
        matches!(self, CommandOutcome::Succeeded)
    }
}

impl std::fmt::Display for CommandOutcome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CommandOutcome::Succeeded => write!(f, "succeeded"),
            CommandOutcome::Failed { exit_code } => write!(f, "failed with exit code {exit_code}"),
            CommandOutcome::TimedOut { after_secs } => {
                write!(f, "timed out after {after_secs}s and was killed")
            }
            CommandOutcome::NotStarted { message } => write!(f, "could not start: {message}"),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum StepOutcome {
    /// Commands succeeded and every check passed within the timeout.
    Passed,
    /// A command failed or timed out; the checks were not waited for.
    CommandFailed,
    /// The commands ran, but the checks did not pass within the timeout.
    ChecksFailed,
    /// The cluster could not be read (unreachable, forbidden).
    CouldNotGrade(String),
    /// Not run: before `--from`, or after a step that failed.
    NotRun(String),
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CiStep {
    pub id: String,
    pub title: String,
    pub cleanup: bool,
    /// The required lab this step belongs to (its setup steps and its cleanup, see
    /// `requires:`); absent for the lab's own steps.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub prerequisite: Option<String>,
    pub commands: Vec<CommandRun>,
    /// The last grade of the step's checks (none when they were not graded).
    pub grade: Option<StepReport>,
    pub outcome: StepOutcome,
    /// Events and failing objects, collected when the step failed.
    pub debug: Option<String>,
    #[serde(serialize_with = "as_millis", rename = "durationMs")]
    pub duration: Duration,
}

/// An object that did not exist before the run and still exists after the cleanup.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Leftover {
    pub api_version: String,
    pub kind: String,
    pub namespace: Option<String>,
    pub name: String,
}

impl std::fmt::Display for Leftover {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.namespace {
            Some(ns) => write!(f, "{} {ns}/{}", self.kind, self.name),
            None => write!(f, "{} {}", self.kind, self.name),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CiReport {
    pub lab: String,
    pub profile: String,
    pub context: Option<String>,
    pub started_at: String,
    /// Every step of the lab in order, the cleanup step last.
    pub steps: Vec<CiStep>,
    /// `None` when the cleanup did not run (`--keep`) or the cluster could not be listed.
    pub leftovers: Option<Vec<Leftover>>,
    #[serde(serialize_with = "as_millis", rename = "durationMs")]
    pub duration: Duration,
}

impl CiReport {
    /// Every step that ran passed, and the cleanup (if it ran) left nothing behind.
    pub fn passed(&self) -> bool {
        self.steps
            .iter()
            .all(|s| matches!(s.outcome, StepOutcome::Passed | StepOutcome::NotRun(_)))
            && self.steps.iter().any(|s| s.outcome == StepOutcome::Passed)
            && self.leftovers.as_ref().is_none_or(Vec::is_empty)
    }

    /// 0 passed, 2 when the cluster could not be read, 1 for any other failure.
    pub fn exit_code(&self) -> i32 {
        if self
            .steps
            .iter()
            .any(|s| matches!(s.outcome, StepOutcome::CouldNotGrade(_)))
        {
            crate::error::EXIT_ERROR
        } else if self.passed() {
            crate::error::EXIT_OK
        } else {
            crate::error::EXIT_FAILED
        }
    }
}

/// What the engine reports while it runs.
#[derive(Debug, Clone, Copy)]
pub enum CiEvent<'a> {
    Started {
        lab: &'a str,
        profile: &'a str,
        context: Option<&'a str>,
    },
    StepStarted {
        index: usize,
        total: usize,
        id: &'a str,
        title: &'a str,
        cleanup: bool,
        /// The required lab the step belongs to, as in [`CiStep::prerequisite`].
        prerequisite: Option<&'a str>,
    },
    CommandStarted {
        index: usize,
        total: usize,
        origin: &'a str,
        code: &'a str,
    },
    /// One line of a running command's output.
    Output(&'a str),
    /// A variable read from the cluster before a step, and where it came from.
    Discovered(&'a crate::plan::discover::Discovered),
    CommandFinished(&'a CommandRun),
    /// The commands are done; the step's checks are being waited for.
    Waiting {
        timeout: Duration,
    },
    StepFinished(&'a CiStep),
    Finished(&'a CiReport),
}

/// The events of a `labctl ci` run, ending with the [`CiReport`]: its reporters are
/// [`Reporter<CiRun>`](crate::report::event::Reporter)s in a
/// [`ReporterSet`](crate::report::set::ReporterSet), like `labctl grade`'s.
#[derive(Debug, Clone, Copy)]
pub enum CiRun {}

impl crate::report::event::Protocol for CiRun {
    type Event<'a> = CiEvent<'a>;
    type Report = CiReport;
    fn finished<'a>(event: &Self::Event<'a>) -> Option<&'a CiReport> {
        match *event {
            CiEvent::Finished(report) => Some(report),
            _ => None,
        }
    }
}

fn as_millis<S: serde::Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_u64(d.as_millis() as u64)
}
