//! The class report as JUnit XML for CI and LMS importers: one `<testsuite>` per learner, one
//! `<testcase>` per step. A passed step is a success; the learner's current step a `<failure>`
//! naming the failing checks with expected/actual and the diagnosis; steps after it that fail
//! are `<skipped message="not reached">`; a learner who could not be graded has an `<error>` in
//! every step with the reason. Properties: learner, source, profile, score.

use super::report::{Cell, ClassReport, LearnerResult};
use crate::render::text::plain_text;
use quick_junit::{
    NonSuccessKind, Property, Report, TestCase, TestCaseStatus, TestSuite, XmlString,
};
use std::fmt::Write as _;

pub fn class_junit(report: &ClassReport) -> String {
    let mut junit = Report::new(text(&format!("{} class report", report.lab)));
    junit.set_time(report.duration);
    for l in &report.learners {
        junit.add_test_suite(suite(report, l));
    }
    junit
        .to_string()
        .expect("quick-junit writes to memory; its only errors are I/O errors")
}

fn suite(report: &ClassReport, l: &LearnerResult) -> TestSuite {
    let mut suite = TestSuite::new(text(&l.name));
    let n = report.steps.len();
    suite.add_properties([
        Property::new("learner", attr(&l.name)),
        Property::new("source", attr(&l.source)),
        Property::new("lab", attr(&report.lab)),
        Property::new("profile", attr(&report.profile)),
        Property::new("score", format!("{}/{n}", l.score())),
        Property::new("generatedAt", attr(&report.generated_at)),
    ]);
    let classname = format!("{}.{}", report.lab, l.name);
    for (step, cell) in report.steps.iter().zip(l.cells(n)) {
        let status = match cell {
            _ if l.report().is_none() => ungraded(l),
            Cell::Passed => TestCaseStatus::success(),
            Cell::NotReached => {
                let mut s = TestCaseStatus::skipped();
                s.set_message("not reached");
                s
            }
            Cell::Failed | Cell::Error => {
                let kind = if cell == Cell::Failed {
                    NonSuccessKind::Failure
                } else {
                    NonSuccessKind::Error
                };
                let mut s = TestCaseStatus::non_success(kind);
                let blocking = l.blocking();
                let ids: Vec<&str> = blocking.iter().map(|c| c.id.as_str()).collect();
                s.set_message(attr(&format!("{} failing: {}", step.id, ids.join(", "))));
                let mut body = String::new();
                for c in blocking {
                    let _ = writeln!(body, "{}: {}", c.id, c.title);
                    for (k, v) in [("expected", &c.expected), ("actual", &c.actual)] {
                        if !v.is_empty() {
                            let _ = writeln!(body, "  {k}: {v}");
                        }
                    }
                    if let Some(m) = &c.message {
                        let _ = writeln!(body, "  {m}");
                    }
                    for d in &c.diagnoses {
                        let _ = writeln!(body, "  cause ({}): {}\n  fix: {}", d.id, d.cause, d.fix);
                    }
                }
                s.set_description(text(&body));
                s
            }
            Cell::Unreachable => ungraded(l),
        };
        let mut case = TestCase::new(text(&step.id), status);
        case.set_classname(text(&classname));
        suite.add_test_case(case);
    }
    suite
}

/// Every step of a learner who could not be graded: an error with the reason.
fn ungraded(l: &LearnerResult) -> TestCaseStatus {
    let mut s = TestCaseStatus::non_success(NonSuccessKind::Error);
    s.set_message(attr(l.problem().unwrap_or("could not be graded")));
    s
}

fn text(s: &str) -> XmlString {
    XmlString::new(plain_text(s))
}

fn attr(s: &str) -> XmlString {
    XmlString::new(
        plain_text(s)
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" "),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::class::report::tests::sample;

    #[test]
    fn golden_junit() {
        insta::assert_snapshot!(class_junit(&sample()));
    }
}
