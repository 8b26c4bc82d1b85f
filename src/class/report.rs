//! The class report as data: one row per learner with their grade (or why there is none), and
//! what each step's cell means for an instructor. Reporters only render this.
//!
//! Where a learner *is* is their first unfinished step (a step is finished when it passed, or
//! when all its checks were skipped). That step's cell is `failed` (or `error`); earlier steps
//! are `passed`; a later step is `passed` if it passes anyway (work done out of order) and
//! `not reached` otherwise — its failures are not news, the learner has not got there.

use crate::eval::result::{CheckResult, Status};
use crate::report::event::GradeReport;
use serde::Serialize;
use std::sync::Arc;
use std::time::Duration;

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ClassReport {
    pub lab: String,
    pub title: String,
    pub profile: String,
    /// RFC 3339 UTC time the report was made.
    pub generated_at: String,
    #[serde(serialize_with = "as_millis", rename = "durationMs")]
    pub duration: Duration,
    pub steps: Vec<StepHead>,
    /// Sorted by [`ClassReport::sort`]: furthest first, unreachable and errors last.
    pub learners: Vec<LearnerResult>,
}

/// A class report as a run with one event, the finished report: its files are written by
/// [`FileReporter<ClassRun>`](crate::report::set::FileReporter)s in a
/// [`ReporterSet`](crate::report::set::ReporterSet), like `labctl grade`'s.
#[derive(Debug, Clone, Copy)]
pub enum ClassRun {}

impl crate::report::event::Protocol for ClassRun {
    type Event<'a> = &'a ClassReport;
    type Report = ClassReport;
    fn finished<'a>(event: &Self::Event<'a>) -> Option<&'a ClassReport> {
        Some(*event)
    }
}

fn as_millis<S: serde::Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_u64(d.as_millis() as u64)
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StepHead {
    pub id: String,
    pub title: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LearnerResult {
    pub name: String,
    /// Where they were graded, for people: `cluster workshop`, `snapshot carol.json`, ...
    pub source: String,
    #[serde(flatten)]
    pub outcome: Outcome,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "status", rename_all = "camelCase")]
pub enum Outcome {
    Graded {
        /// Shared by the learners whose grade cannot differ (see [`shared`](super::shared)).
        report: Arc<GradeReport>,
    },
    /// Nothing could be read: the cluster did not answer or rejected the credentials.
    Unreachable { message: String },
    /// Could not be graded for another reason (bad kubeconfig, snapshot of another lab, ...).
    Error { message: String },
}

/// One cell of the learner × step matrix.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum Cell {
    Passed,
    Failed,
    NotReached,
    /// Could not be evaluated (a forbidden list, a broken check).
    Error,
    Unreachable,
}

impl Cell {
    pub fn label(self) -> &'static str {
        match self {
            Cell::Passed => "passed",
            Cell::Failed => "failed",
            Cell::NotReached => "not reached",
            Cell::Error => "error",
            Cell::Unreachable => "unreachable",
        }
    }
}

fn finished(status: Status) -> bool {
    matches!(status, Status::Passed | Status::Skipped)
}

impl LearnerResult {
    pub fn report(&self) -> Option<&GradeReport> {
        match &self.outcome {
            Outcome::Graded { report } => Some(report.as_ref()),
            _ => None,
        }
    }

    /// Index of the first unfinished step; `None` when graded and every step is finished, or
    /// when not graded at all.
    pub fn current(&self) -> Option<usize> {
        self.report()?
            .steps
            .iter()
            .position(|s| !finished(s.status))
    }

    /// Steps finished before the first unfinished one (all of them when done).
    pub fn progress(&self) -> usize {
        match self.report() {
            Some(r) => self.current().unwrap_or(r.steps.len()),
            None => 0,
        }
    }

    /// Every step that passes, wherever it is (the score in CSV and JUnit).
    pub fn score(&self) -> usize {
        self.report()
            .map_or(0, |r| r.steps.iter().filter(|s| finished(s.status)).count())
    }

    pub fn is_done(&self) -> bool {
        self.report().is_some() && self.current().is_none()
    }

    /// The matrix row; `n` cells (the class's step count).
    pub fn cells(&self, n: usize) -> Vec<Cell> {
        let Some(r) = self.report() else {
            let cell = match self.outcome {
                Outcome::Unreachable { .. } => Cell::Unreachable,
                _ => Cell::Error,
            };
            return vec![cell; n];
        };
        let current = self.current();
        (0..n)
            .map(|i| match r.steps.get(i) {
                None => Cell::NotReached,
                Some(s) if finished(s.status) => Cell::Passed,
                Some(s) if Some(i) == current => match s.status {
                    Status::Error => Cell::Error,
                    _ => Cell::Failed,
                },
                Some(_) => Cell::NotReached,
            })
            .collect()
    }

    /// The checks that keep the learner on their current step (failed, or could not evaluate).
    pub fn blocking(&self) -> Vec<&CheckResult> {
        match (self.report(), self.current()) {
            (Some(r), Some(i)) => r.steps[i]
                .checks
                .iter()
                .filter(|c| matches!(c.status, Status::Failed | Status::Error))
                .collect(),
            _ => Vec::new(),
        }
    }

    /// Why there is no grade, if there is none.
    pub fn problem(&self) -> Option<&str> {
        match &self.outcome {
            Outcome::Graded { .. } => None,
            Outcome::Unreachable { message } | Outcome::Error { message } => Some(message),
        }
    }
}

impl ClassReport {
    /// Furthest first (then most steps passed, then name); learners without a grade last.
    pub fn sort(&mut self) {
        self.learners.sort_by(|a, b| {
            let key = |l: &LearnerResult| {
                (
                    l.report().is_none(),
                    std::cmp::Reverse(l.progress()),
                    std::cmp::Reverse(l.score()),
                )
            };
            key(a).cmp(&key(b)).then_with(|| a.name.cmp(&b.name))
        });
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::report::event::{RunInfo, StepReport};

    pub fn graded(name: &str, statuses: &[Status]) -> LearnerResult {
        let steps = statuses
            .iter()
            .enumerate()
            .map(|(i, s)| StepReport {
                id: format!("s{}", i + 1),
                title: format!("Step {}", i + 1),
                status: *s,
                duration: Duration::ZERO,
                checks: vec![CheckResult::new(&format!("c{}", i + 1), "a check", *s)],
            })
            .collect();
        LearnerResult {
            name: name.into(),
            source: "cluster test".into(),
            outcome: Outcome::Graded {
                report: Arc::new(GradeReport {
                    info: RunInfo {
                        lab: "lab".into(),
                        title: "Lab".into(),
                        profile: "kind".into(),
                        revision: None,
                        context: None,
                        snapshot: None,
                        learner: Some(name.into()),
                        started_at: "2026-01-01T00:00:00Z".into(),
                        warnings: Vec::new(),
                        discovered: Vec::new(),
                    },
                    status: Status::Failed,
                    duration: Duration::ZERO,
                    steps,
                }),
            },
        }
    }

    use Status::{Error as E, Failed as F, Passed as P, Skipped as S};

    /// A class with every kind of row, for the reporters' golden tests.
    pub fn sample() -> ClassReport {
        let mut stuck = graded("bob", &[P, F, F]);
        let mut stuck2 = graded("carol <c&o>", &[P, F, P]);
        for l in [&mut stuck, &mut stuck2] {
            if let Outcome::Graded { report } = &mut l.outcome {
                let c = &mut Arc::make_mut(report).steps[1].checks[0];
                c.id = "namespace-rev-label".into();
                c.title = "Namespace pets has istio.io/rev=asm-1-23".into();
                c.expected = "label istio.io/rev=asm-1-23".into();
                c.actual = "istio-injection=enabled".into();
                c.diagnoses.push(crate::eval::result::Found {
                    id: "injection-label-ignored".into(),
                    cause: "The add-on ignores istio-injection=enabled".into(),
                    fix: "kubectl label namespace pets istio.io/rev=asm-1-23".into(),
                });
            }
        }
        let mut r = class(vec![
            graded("alice", &[P, P, P]),
            stuck,
            stuck2,
            graded("dan", &[E, F, F]),
            LearnerResult {
                name: "erin".into(),
                source: "kubeconfig erin.yaml (kind-erin)".into(),
                outcome: Outcome::Unreachable {
                    message: "cluster unreachable: connection refused at https://127.0.0.1:1"
                        .into(),
                },
            },
            LearnerResult {
                name: "frank".into(),
                source: "snapshot frank.json".into(),
                outcome: Outcome::Error {
                    message: "the snapshot is of lab `other`, not `istio-aks`".into(),
                },
            },
        ]);
        r.sort();
        r
    }

    /// A three-step class of these learners.
    pub fn class(learners: Vec<LearnerResult>) -> ClassReport {
        ClassReport {
            lab: "istio-aks".into(),
            title: "Istio service mesh add-on on AKS".into(),
            profile: "kind".into(),
            generated_at: "2026-11-23T12:00:00Z".into(),
            duration: Duration::from_millis(420),
            steps: (1..=3)
                .map(|i| StepHead {
                    id: format!("s{i}"),
                    title: format!("Step {i}"),
                })
                .collect(),
            learners,
        }
    }

    #[test]
    fn cells_say_where_the_learner_is() {
        let l = graded("a", &[P, S, F, P, F]);
        assert_eq!(l.current(), Some(2));
        assert_eq!(l.progress(), 2);
        assert_eq!(l.score(), 3);
        use Cell::*;
        assert_eq!(l.cells(5), [Passed, Passed, Failed, Passed, NotReached]);
        assert_eq!(graded("b", &[E, F]).cells(2), [Error, NotReached]);
        let done = graded("c", &[P, P]);
        assert!(done.is_done());
        assert_eq!(done.progress(), 2);
        let down = LearnerResult {
            name: "d".into(),
            source: String::new(),
            outcome: Outcome::Unreachable {
                message: "connection refused".into(),
            },
        };
        assert_eq!(down.cells(2), [Unreachable, Unreachable]);
        assert_eq!(
            (down.progress(), down.score(), down.is_done()),
            (0, 0, false)
        );
    }

    #[test]
    fn sorts_furthest_first_ungraded_last() {
        let down = LearnerResult {
            name: "aaa".into(),
            source: String::new(),
            outcome: Outcome::Error {
                message: "x".into(),
            },
        };
        let mut r = ClassReport {
            lab: "lab".into(),
            title: "Lab".into(),
            profile: "kind".into(),
            generated_at: String::new(),
            duration: Duration::ZERO,
            steps: vec![],
            learners: vec![
                down,
                graded("zed", &[P, F, F]),
                graded("bob", &[P, F, P]),
                graded("amy", &[P, P, P]),
                graded("al", &[F, F, F]),
            ],
        };
        r.sort();
        let names: Vec<&str> = r.learners.iter().map(|l| l.name.as_str()).collect();
        assert_eq!(names, ["amy", "bob", "zed", "al", "aaa"]);
    }
}
