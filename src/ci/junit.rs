//! `labctl ci --junit`: the replay as JUnit XML, for a CI page that shows which step broke.
//!
//! | labctl ci | JUnit |
//! |---|---|
//! | run | `<testsuites name="<lab>">` |
//! | step (the cleanup too) | `<testsuite name="<step id>">`, properties lab, profile, context, step.title |
//! | step of the required lab (`requires:`) | `<testsuite name="setup <lab>/<step id>">` (its cleanup: `cleanup <lab>/cleanup`), property `prerequisite`, classname `<lab>.<step>` of that lab |
//! | solve block | `<testcase name="block N (<file>:<line>)" classname="<lab>.<step>">`, its output in `<system-out>`; `<failure>` when it failed or timed out |
//! | check | `<testcase name="<check id>">` exactly as `labctl grade --junit` writes it |
//! | step not run | one `<testcase name="not run">` with `<skipped message="<why>">` |
//! | debug output | `<system-err>` of the failing step's suite |
//! | leftovers | `<testcase name="leftovers">` in the last cleanup suite, failing with the list |

use crate::ci::report::{CiReport, CiRun, CiStep, CommandRun, StepOutcome};
use crate::report::junit::{attr, rfc3339, status, text};
use crate::report::set::FileReporter;
use quick_junit::{NonSuccessKind, Property, Report, TestCase, TestCaseStatus, TestSuite};
use std::path::PathBuf;

pub fn ci_junit_xml(report: &CiReport) -> String {
    let mut junit = Report::new(text(&report.lab));
    junit.set_time(report.duration);
    let timestamp = rfc3339(&report.started_at);
    for (i, step) in report.steps.iter().enumerate() {
        let last = i + 1 == report.steps.len();
        let mut s = suite(report, step, last);
        if let Some(ts) = &timestamp {
            s.extra.insert("timestamp".into(), ts.as_str().into());
        }
        junit.add_test_suite(s);
    }
    junit
        .to_string()
        .expect("quick-junit writes to memory; its only errors are I/O errors")
}

fn suite(report: &CiReport, step: &CiStep, last: bool) -> TestSuite {
    let name = match &step.prerequisite {
        Some(lab) if step.cleanup => format!("cleanup {lab}/{}", step.id),
        Some(lab) => format!("setup {lab}/{}", step.id),
        None => step.id.clone(),
    };
    let mut suite = TestSuite::new(text(&name));
    suite.set_time(step.duration);
    let props = [
        ("lab", Some(&report.lab)),
        ("profile", Some(&report.profile)),
        ("context", report.context.as_ref()),
        ("prerequisite", step.prerequisite.as_ref()),
        ("step.title", Some(&step.title)),
    ];
    suite.add_properties(
        props
            .into_iter()
            .filter_map(|(k, v)| v.map(|v| Property::new(k, attr(v)))),
    );
    let lab = step.prerequisite.as_ref().unwrap_or(&report.lab);
    let classname = text(&format!("{lab}.{}", step.id));
    if let StepOutcome::NotRun(why) = &step.outcome {
        let mut skipped = TestCaseStatus::skipped();
        skipped.set_message(attr(why));
        let mut case = TestCase::new("not run", skipped);
        case.set_classname(classname);
        suite.add_test_case(case);
        return suite;
    }
    for run in &step.commands {
        let mut case = TestCase::new(
            text(&format!("block {} ({})", run.index, run.origin)),
            command_status(run),
        );
        case.set_classname(classname.clone());
        case.set_time(run.duration);
        case.set_system_out(text(&format!("$ {}\n{}", run.code.trim_end(), run.output)));
        suite.add_test_case(case);
    }
    for check in step.grade.iter().flat_map(|g| &g.checks) {
        let mut case = TestCase::new(text(&check.id), status(check));
        case.set_classname(classname.clone());
        case.set_time(check.duration);
        suite.add_test_case(case);
    }
    if let StepOutcome::CouldNotGrade(why) = &step.outcome {
        let mut s = TestCaseStatus::non_success(NonSuccessKind::Error);
        s.set_message(attr(&format!("could not grade: {why}")));
        let mut case = TestCase::new("grade", s);
        case.set_classname(classname.clone());
        suite.add_test_case(case);
    }
    if step.cleanup
        && last
        && let Some(left) = &report.leftovers
    {
        let status = if left.is_empty() {
            TestCaseStatus::success()
        } else {
            let mut s = TestCaseStatus::non_success(NonSuccessKind::Failure);
            s.set_message(attr(&format!(
                "{} object(s) created by the run are still there after the cleanup",
                left.len()
            )));
            let list: Vec<String> = left.iter().map(ToString::to_string).collect();
            s.set_description(text(&list.join("\n")));
            s
        };
        let mut case = TestCase::new("leftovers", status);
        case.set_classname(classname);
        suite.add_test_case(case);
    }
    if let Some(debug) = &step.debug {
        suite.set_system_err(text(debug));
    }
    suite
}

fn command_status(run: &CommandRun) -> TestCaseStatus {
    if run.outcome.ok() {
        return TestCaseStatus::success();
    }
    let mut s = TestCaseStatus::non_success(NonSuccessKind::Failure);
    s.set_message(attr(&format!("block {} {}", run.index, run.outcome)));
    // The tail of the output is where the error is; the whole of it is in system-out.
    let lines: Vec<&str> = run.output.lines().collect();
    let tail = lines[lines.len().saturating_sub(20)..].join("\n");
    s.set_description(text(&tail));
    s
}

/// Writes the JUnit file when the run finishes.
pub fn ci_junit_file(path: impl Into<PathBuf>) -> FileReporter<CiRun> {
    FileReporter::new(path, |report, w| {
        w.write_all(ci_junit_xml(report).as_bytes())
    })
}
