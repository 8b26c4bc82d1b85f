//! The grading loop: for each step (or the one asked for), evaluate its checks, emit events,
//! and return the report. It never prints; reporters do. A reporter that fails does not stop
//! the grade (see [`ReporterSet`]): its error waits for [`ReporterSet::finish`].

use crate::eval::check;
use crate::eval::facts::Facts;
use crate::eval::result::{Status, step_status};
use crate::plan::resolve::Plan;
use crate::report::event::{Event, GradeReport, RunInfo, StepReport};
use crate::report::set::ReporterSet;
use std::time::Instant;

pub fn grade(
    plan: &Plan,
    only_step: Option<&str>,
    facts: &dyn Facts,
    info: RunInfo,
    reporters: &mut ReporterSet<'_>,
) -> GradeReport {
    let start = Instant::now();
    reporters.write_event(&Event::RunStarted(&info));
    let steps: Vec<_> = plan
        .steps
        .iter()
        .enumerate()
        .filter(|(_, s)| only_step.is_none_or(|id| s.id == id))
        .collect();
    let total = plan.steps.len();
    let mut reports = Vec::new();
    for (index, step) in steps {
        reporters.write_event(&Event::StepStarted {
            index,
            total,
            id: &step.id,
            title: &step.title,
        });
        let step_start = Instant::now();
        let mut results = Vec::new();
        for pc in &step.checks {
            let result = check::evaluate(pc, facts);
            reporters.write_event(&Event::CheckFinished {
                step: &step.id,
                result: &result,
            });
            results.push(result);
        }
        let report = StepReport {
            id: step.id.clone(),
            title: step.title.clone(),
            status: step_status(&results),
            duration: step_start.elapsed(),
            checks: results,
        };
        reporters.write_event(&Event::StepFinished(&report));
        reports.push(report);
    }
    let status = overall(&reports);
    let report = GradeReport {
        info,
        status,
        duration: start.elapsed(),
        steps: reports,
    };
    reporters.write_event(&Event::RunFinished(&report));
    report
}

fn overall(steps: &[StepReport]) -> Status {
    let all: Vec<_> = steps
        .iter()
        .flat_map(|s| s.checks.iter().cloned())
        .collect();
    step_status(&all)
}

/// The exit code a report earns: 2 if anything could not be evaluated, 1 if a check failed.
pub fn exit_code(report: &GradeReport) -> i32 {
    match report.status {
        Status::Error => crate::error::EXIT_ERROR,
        Status::Failed => crate::error::EXIT_FAILED,
        Status::Passed | Status::Skipped => crate::error::EXIT_OK,
    }
}
