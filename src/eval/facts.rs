//! What evaluation may know about the world: listed objects per query and the outcome of
//! commands and probes. Live grading runs commands; snapshot grading says they are unavailable. Keeping
//! this behind a trait keeps `eval` pure and unit-testable with inline YAML.

use crate::eval::distribution::DistributionFact;
use crate::eval::probe::ProbeOutcome;
use crate::labfile::kinds::distribution::model::DistributionBody;
use crate::labfile::lab::{Command, Probe};
use crate::view::objects::{FetchError, ObjectSet};
use crate::view::query::Query;
use serde_json::Value;
use std::collections::BTreeMap;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CommandFact {
    Ran {
        exit_code: i32,
        stdout: String,
        stderr: String,
    },
    /// Not run on purpose (offline grading); the reason is shown as a skip.
    Unavailable(String),
    /// Could not run: missing program, timeout. The check cannot be evaluated.
    Failed(String),
}

/// What a probe found: a request made (its reply), skipped on purpose, or could not be made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProbeFact {
    Ran(ProbeOutcome),
    /// Not run on purpose (a snapshot, `--no-probes`); the reason is shown as a skip.
    Unavailable(String),
    /// Could not probe (probe pod forbidden or never finished, no pod to exec into…): the
    /// check cannot be evaluated.
    Failed(String),
}

pub trait Facts {
    fn list(&self, query: &Query) -> Result<&[Value], FetchError>;
    fn run(&self, command: &Command) -> CommandFact;
    fn probe(&self, probe: &Probe) -> ProbeFact;
    /// The answers of a distribution probe. A default, so that only a source that sends the
    /// requests implements it; every other grader skips the check.
    fn distribution(&self, _: &DistributionBody) -> DistributionFact {
        DistributionFact::Unavailable(crate::eval::distribution::NOT_RUN.into())
    }
}

/// Why probes are skipped when grading a snapshot.
pub const PROBES_OFFLINE: &str = "probes are not run when grading a snapshot";
/// Why probes are skipped with `--no-probes`.
pub const PROBES_DISABLED: &str = "probes are not run with --no-probes";

/// Facts from an object set, with command outcomes given up front (tests, snapshots).
pub struct StaticFacts {
    pub objects: ObjectSet,
    /// Outcomes by command line; a command not listed is `Unavailable(reason)`.
    pub commands: BTreeMap<String, CommandFact>,
    pub unavailable_reason: String,
    /// Probe outcomes; a probe not listed is `Unavailable(PROBES_OFFLINE)`.
    pub probes: BTreeMap<Probe, ProbeFact>,
}

impl StaticFacts {
    pub fn offline(objects: ObjectSet, reason: &str) -> Self {
        StaticFacts {
            objects,
            commands: BTreeMap::new(),
            unavailable_reason: reason.to_owned(),
            probes: BTreeMap::new(),
        }
    }
}

impl Facts for StaticFacts {
    fn list(&self, query: &Query) -> Result<&[Value], FetchError> {
        self.objects.get(query)
    }
    fn run(&self, command: &Command) -> CommandFact {
        self.commands
            .get(&command.run)
            .cloned()
            .unwrap_or_else(|| CommandFact::Unavailable(self.unavailable_reason.clone()))
    }
    fn probe(&self, probe: &Probe) -> ProbeFact {
        self.probes
            .get(probe)
            .cloned()
            .unwrap_or_else(|| ProbeFact::Unavailable(PROBES_OFFLINE.into()))
    }
    /// A snapshot sends nothing: skipped for the same reason as its probes.
    fn distribution(&self, _: &DistributionBody) -> DistributionFact {
        DistributionFact::Unavailable(PROBES_OFFLINE.into())
    }
}
