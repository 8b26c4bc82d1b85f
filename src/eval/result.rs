//! Results are data: a check that fails is a value with what was expected, what was found and
//! the known causes that hold — not an error. `Error` status means "could not evaluate".

use serde::Serialize;
use std::time::Duration;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Passed,
    Failed,
    /// Not evaluated on purpose: a probe in offline mode, a command check on a snapshot, a
    /// check that needs a variable with no value.
    Skipped,
    /// Could not evaluate: the cluster refused or failed, or the check itself is broken.
    Error,
}

/// A diagnosis whose conditions hold: the known cause of a failure and its fix.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Found {
    pub id: String,
    pub cause: String,
    pub fix: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CheckResult {
    pub id: String,
    pub title: String,
    pub status: Status,
    /// What the check wanted, in words ("Deployment istiod-asm-1-23 in aks-istio-system: isReady(object)").
    pub expected: String,
    /// What it found; one line per offending object when there are several.
    pub actual: String,
    /// Known causes that hold (evaluated only when the check failed).
    pub diagnoses: Vec<Found>,
    /// The check's generic fix, shown when no diagnosis matched.
    pub fix: Option<String>,
    /// Why the check was skipped or could not be evaluated.
    pub message: Option<String>,
    #[serde(serialize_with = "as_millis", rename = "durationMs")]
    pub duration: Duration,
}

fn as_millis<S: serde::Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_u64(d.as_millis() as u64)
}

impl CheckResult {
    pub fn new(id: &str, title: &str, status: Status) -> Self {
        CheckResult {
            id: id.to_owned(),
            title: title.to_owned(),
            status,
            expected: String::new(),
            actual: String::new(),
            diagnoses: Vec::new(),
            fix: None,
            message: None,
            duration: Duration::ZERO,
        }
    }
}

/// The outcome of a step: passed when every evaluated check passed; error beats failed.
pub fn step_status(results: &[CheckResult]) -> Status {
    if results.iter().any(|r| r.status == Status::Error) {
        Status::Error
    } else if results.iter().any(|r| r.status == Status::Failed) {
        Status::Failed
    } else if !results.is_empty() && results.iter().all(|r| r.status == Status::Skipped) {
        Status::Skipped
    } else {
        Status::Passed
    }
}
