//! The events a grade emits, and the report they add up to. Streaming reporters (terminal,
//! spinners) act on each event; file reporters (JUnit, JSON) render the final report.

use crate::eval::result::{CheckResult, Status};
use crate::plan::discover::Discovered;
use crate::plan::resolve::Plan;
use serde::Serialize;
use std::time::Duration;

/// Facts about a grading run that every report carries.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RunInfo {
    pub lab: String,
    pub title: String,
    pub profile: String,
    pub revision: Option<String>,
    /// Kubeconfig context graded (live), or `None` for a snapshot.
    pub context: Option<String>,
    /// Snapshot file graded, or `None` for a live cluster.
    pub snapshot: Option<String>,
    pub learner: Option<String>,
    /// RFC 3339 UTC time the run started.
    pub started_at: String,
    /// Problems to point out that are not check results: probe pods that could not be deleted.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
    /// Variables read from the cluster, with where each value came from.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub discovered: Vec<Discovered>,
}

impl RunInfo {
    /// The facts of a run of `plan` started now; where it runs (`context`, `snapshot`) and who
    /// for (`learner`) are set by the caller.
    pub fn new(plan: &Plan) -> RunInfo {
        RunInfo {
            lab: plan.lab.clone(),
            title: plan.title.clone(),
            profile: plan.profile.clone(),
            revision: None,
            context: None,
            snapshot: None,
            learner: None,
            started_at: crate::view::snapshot::now_rfc3339(),
            warnings: Vec::new(),
            discovered: Vec::new(),
        }
        .resolved(plan)
    }

    /// The facts of a plan's run: its revision and what it discovered.
    pub fn resolved(mut self, plan: &Plan) -> RunInfo {
        self.revision = plan.values.get("revision").cloned();
        self.discovered = plan.discovered.clone();
        self
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct StepReport {
    pub id: String,
    pub title: String,
    pub status: Status,
    #[serde(serialize_with = "as_millis", rename = "durationMs")]
    pub duration: Duration,
    pub checks: Vec<CheckResult>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct GradeReport {
    #[serde(flatten)]
    pub info: RunInfo,
    pub status: Status,
    #[serde(serialize_with = "as_millis", rename = "durationMs")]
    pub duration: Duration,
    pub steps: Vec<StepReport>,
}

fn as_millis<S: serde::Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_u64(d.as_millis() as u64)
}

impl GradeReport {
    /// Counts of checks per status: (passed, failed, skipped, error).
    pub fn counts(&self) -> (usize, usize, usize, usize) {
        let all = self.steps.iter().flat_map(|s| &s.checks);
        all.fold((0, 0, 0, 0), |(p, f, s, e), c| match c.status {
            Status::Passed => (p + 1, f, s, e),
            Status::Failed => (p, f + 1, s, e),
            Status::Skipped => (p, f, s + 1, e),
            Status::Error => (p, f, s, e + 1),
        })
    }
}

#[derive(Debug, Clone, Copy)]
pub enum Event<'a> {
    RunStarted(&'a RunInfo),
    StepStarted {
        index: usize,
        total: usize,
        id: &'a str,
        title: &'a str,
    },
    CheckFinished {
        step: &'a str,
        result: &'a CheckResult,
    },
    StepFinished(&'a StepReport),
    RunFinished(&'a GradeReport),
}

/// A kind of run and the events it emits: `labctl grade` ([`Grading`]), `labctl ci`, a class
/// report. One [`Reporter`] trait and one [`ReporterSet`](super::set::ReporterSet) serve them
/// all; `finished` picks out the event that carries the whole report, which file reporters
/// ([`FileReporter`](super::set::FileReporter)) write.
pub trait Protocol: 'static {
    type Event<'a>;
    type Report: 'static;
    /// The report the run's last event carries, or `None` for any other event.
    fn finished<'a>(event: &Self::Event<'a>) -> Option<&'a Self::Report>;
}

/// The events of a grade: [`Event`], ending with the [`GradeReport`].
#[derive(Debug, Clone, Copy)]
pub enum Grading {}

impl Protocol for Grading {
    type Event<'a> = Event<'a>;
    type Report = GradeReport;
    fn finished<'a>(event: &Self::Event<'a>) -> Option<&'a GradeReport> {
        match *event {
            Event::RunFinished(report) => Some(report),
            _ => None,
        }
    }
}

/// Anything that consumes the events of a protocol (by default a grade's). Errors are errors of
/// the reporter's own output, naming it (see [`ReporterError`](super::set::ReporterError)).
pub trait Reporter<P: Protocol = Grading> {
    fn event(&mut self, event: &P::Event<'_>) -> Result<(), super::set::ReporterError>;
}
