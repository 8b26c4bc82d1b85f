//! What the server knows of the lab: the plan submissions are checked against (unknown step,
//! check or diagnosis ids are refused), and the class report made from the learners' latest
//! results, the same [`ClassReport`] that `class report` pulls, so the dashboard and the
//! exports are its renderers.
//!
//! A pushed learner's grade is, per step, their latest result. A step they have sent nothing
//! for is finished (skipped) when they sent a later one — labctl moves a learner on only when a
//! step passes, or they joined the class after it — and unfinished (failed, no checks)
//! otherwise. Learners who have sent nothing yet are rows saying so.

use super::store::Stored;
use crate::class::report::{ClassReport, LearnerResult, Outcome, StepHead};
use crate::class::wire::{self, CheckStatus, StepStatus, Submission};
use crate::eval::result::{CheckResult, Found, Status};
use crate::labfile::lab::StepType;
use crate::plan::resolve::Plan;
use crate::report::event::{GradeReport, RunInfo, StepReport};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

/// The source of a learner whose labctl sends its results.
pub const PUSHED: &str = "pushed: sends results";
/// How the source of a learner the server grades by pulling starts (the rest says from where).
pub const PULLED: &str = "pulled: ";

/// Why a submission is refused (422), in words for the learner.
pub type Invalid = String;

/// Is `s` about this lab, with known ids and bounded texts?
pub fn validate(plan: &Plan, s: &Submission) -> Result<(), Invalid> {
    if !wire::valid_id(&s.id) {
        return Err("`id` must be 16 to 64 characters of A-Z, a-z, 0-9, `-` and `_`".into());
    }
    if s.lab != plan.lab {
        return Err(format!("this class runs lab `{}`", plan.lab));
    }
    if s.at.len() > 64 {
        return Err("`at` is too long for a time".into());
    }
    let step = plan
        .steps
        .iter()
        .find(|p| p.id == s.step)
        .ok_or_else(|| format!("lab `{}` has no step with this id", plan.lab))?;
    if s.checks.len() > step.checks.len() {
        return Err("more checks than the step has".into());
    }
    for c in &s.checks {
        let planned = step
            .checks
            .iter()
            .find(|p| p.check.id == c.id)
            .ok_or_else(|| format!("step `{}` has no check with this id", step.id))?;
        if let Some(d) = &c.diagnosis
            && !planned.check.diagnoses.iter().any(|x| &x.id == d)
        {
            return Err(format!("check `{}` has no diagnosis with this id", c.id));
        }
        if c.message
            .as_ref()
            .is_some_and(|m| m.len() > wire::MAX_MESSAGE_BYTES)
        {
            return Err(format!(
                "a check message is at most {} bytes",
                wire::MAX_MESSAGE_BYTES
            ));
        }
    }
    Ok(())
}

/// The class report of `learners` (the roster's order) from their latest results.
pub fn class_report(
    plan: &Plan,
    learners: &[String],
    latest: &[Stored],
    now: String,
) -> ClassReport {
    let steps: Vec<&crate::plan::resolve::PlannedStep> = plan
        .steps
        .iter()
        .filter(|s| s.step_type != StepType::Cleanup)
        .collect();
    let mut by_learner: BTreeMap<&str, BTreeMap<&str, &Submission>> = BTreeMap::new();
    for s in latest {
        by_learner
            .entry(&s.learner)
            .or_default()
            .insert(&s.submission.step, &s.submission);
    }
    let rows = learners
        .iter()
        .map(|name| {
            let outcome = match by_learner.get(name.as_str()) {
                None => Outcome::Unreachable {
                    message: "no result received yet".into(),
                },
                Some(sent) => Outcome::Graded {
                    report: Arc::new(grade(plan, &steps, name, sent)),
                },
            };
            LearnerResult {
                name: name.clone(),
                source: PUSHED.into(),
                outcome,
            }
        })
        .collect();
    let mut report = ClassReport {
        lab: plan.lab.clone(),
        title: plan.title.clone(),
        profile: plan.profile.clone(),
        generated_at: now,
        duration: Duration::ZERO,
        steps: steps
            .iter()
            .map(|s| StepHead {
                id: s.id.clone(),
                title: s.title.clone(),
            })
            .collect(),
        learners: rows,
    };
    report.sort();
    report
}

fn grade(
    plan: &Plan,
    steps: &[&crate::plan::resolve::PlannedStep],
    name: &str,
    sent: &BTreeMap<&str, &Submission>,
) -> GradeReport {
    let furthest = steps
        .iter()
        .rposition(|s| sent.contains_key(s.id.as_str()))
        .unwrap_or(0);
    let reports: Vec<StepReport> = steps
        .iter()
        .enumerate()
        .map(|(i, step)| match sent.get(step.id.as_str()) {
            None => StepReport {
                id: step.id.clone(),
                title: step.title.clone(),
                status: if i < furthest {
                    Status::Skipped
                } else {
                    Status::Failed
                },
                duration: Duration::ZERO,
                checks: Vec::new(),
            },
            Some(s) => StepReport {
                id: step.id.clone(),
                title: step.title.clone(),
                status: match s.status {
                    StepStatus::Passed => Status::Passed,
                    StepStatus::Failed => Status::Failed,
                    StepStatus::Error => Status::Error,
                },
                duration: Duration::from_millis(s.duration_ms),
                checks: s
                    .checks
                    .iter()
                    .map(|c| {
                        let planned = step.checks.iter().find(|p| p.check.id == c.id);
                        let title = planned.map_or(c.id.as_str(), |p| p.check.title.as_str());
                        let status = match c.status {
                            CheckStatus::Passed => Status::Passed,
                            CheckStatus::Failed => Status::Failed,
                            CheckStatus::Skipped => Status::Skipped,
                            CheckStatus::Error => Status::Error,
                        };
                        let mut r = CheckResult::new(&c.id, title, status);
                        r.actual = c.message.clone().unwrap_or_default();
                        r.duration = Duration::from_millis(c.duration_ms.unwrap_or(0));
                        if let Some(p) = planned {
                            r.fix = p.check.fix.clone();
                            r.diagnoses = p
                                .check
                                .diagnoses
                                .iter()
                                .filter(|d| c.diagnosis.as_deref() == Some(d.id.as_str()))
                                .map(|d| Found {
                                    id: d.id.clone(),
                                    cause: d.cause.clone(),
                                    fix: d.fix.clone(),
                                })
                                .collect();
                        }
                        r
                    })
                    .collect(),
            },
        })
        .collect();
    let status = if reports.iter().any(|s| s.status == Status::Error) {
        Status::Error
    } else if reports.iter().any(|s| s.status == Status::Failed) {
        Status::Failed
    } else {
        Status::Passed
    };
    let started_at = sent
        .values()
        .map(|s| s.at.as_str())
        .max()
        .unwrap_or_default();
    GradeReport {
        info: RunInfo {
            learner: Some(name.to_owned()),
            started_at: started_at.to_owned(),
            ..RunInfo::new(plan)
        },
        status,
        duration: reports.iter().map(|s| s.duration).sum(),
        steps: reports,
    }
}
