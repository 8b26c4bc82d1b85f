//! JUnit XML (the Ant/Jenkins format every CI reads), written with quick-junit.
//!
//! | labctl | JUnit |
//! |---|---|
//! | run | `<testsuites name="<lab>">` |
//! | step | `<testsuite name="<step id>">` with the run's properties |
//! | check | `<testcase name="<check id>" classname="<lab>.<step id>">` |
//! | failed | `<failure message="<title>" type="<diagnosis ids>">` expected, actual, causes, fixes |
//! | error (could not evaluate) | `<error message="<title>">` the reason, and what was expected |
//! | skipped | `<skipped message="<reason>"/>` |
//!
//! The run's facts (lab, profile, revision, context or snapshot, learner) are properties of
//! every `<testsuite>`: the format has no properties on `<testsuites>` (see
//! `tests/junit/README.md`), and a CI page that shows one suite still shows what was graded.
//! Every suite's `timestamp` is the run's start: all steps are graded against the cluster as
//! it was then. Text is [`plain_text`]: no escape codes, no characters XML forbids; quick-xml
//! escapes the rest (a `]]>` in a value is written as `]]&gt;`, never as CDATA).

use super::event::{GradeReport, RunInfo, StepReport};
use super::set::FileReporter;
use crate::eval::result::{CheckResult, Status};
use crate::render::text::plain_text;
use quick_junit::{
    NonSuccessKind, Property, Report, TestCase, TestCaseStatus, TestSuite, XmlString,
};
use std::fmt::Write as _;
use std::path::PathBuf;

/// The report as JUnit XML.
pub fn junit_xml(report: &GradeReport) -> String {
    let mut junit = Report::new(text(&report.info.lab));
    junit.set_time(report.duration);
    let timestamp = rfc3339(&report.info.started_at);
    for (i, step) in report.steps.iter().enumerate() {
        let mut suite = suite(&report.info, timestamp.as_deref(), step);
        // Run-wide warnings (probe pods left behind) go once, on the first suite.
        if i == 0 && !report.info.warnings.is_empty() {
            suite.set_system_err(text(&report.info.warnings.join("\n")));
        }
        junit.add_test_suite(suite);
    }
    junit
        .to_string()
        .expect("quick-junit writes to memory; its only errors are I/O errors")
}

fn suite(info: &RunInfo, timestamp: Option<&str>, step: &StepReport) -> TestSuite {
    let mut suite = TestSuite::new(text(&step.id));
    suite.set_time(step.duration);
    if let Some(ts) = timestamp {
        // quick-junit wants a chrono DateTime for `set_timestamp`; the value is already in the
        // form the attribute takes, so set the attribute itself.
        suite.extra.insert("timestamp".into(), ts.into());
    }
    suite.add_properties(properties(info, step));
    let classname = format!("{}.{}", info.lab, step.id);
    for check in &step.checks {
        let mut case = TestCase::new(text(&check.id), status(check));
        case.set_classname(text(&classname));
        case.set_time(check.duration);
        suite.add_test_case(case);
    }
    suite
}

fn properties(info: &RunInfo, step: &StepReport) -> Vec<Property> {
    let known = [
        ("lab", Some(&info.lab)),
        ("lab.title", Some(&info.title)),
        ("profile", Some(&info.profile)),
        ("revision", info.revision.as_ref()),
        ("context", info.context.as_ref()),
        ("snapshot", info.snapshot.as_ref()),
        ("learner", info.learner.as_ref()),
        ("startedAt", Some(&info.started_at)),
        ("step.title", Some(&step.title)),
    ];
    let mut props: Vec<Property> = known
        .into_iter()
        .filter_map(|(name, value)| value.map(|v| Property::new(name, attr(v))))
        .collect();
    // "discovered.revision" = "revision asm-1-25 (discovered: Deployment istiod-asm-1-25 in …)"
    props.extend(
        info.discovered
            .iter()
            .map(|d| Property::new(format!("discovered.{}", d.variable), attr(&d.to_string()))),
    );
    props
}

pub(crate) fn status(c: &CheckResult) -> TestCaseStatus {
    match c.status {
        Status::Passed => TestCaseStatus::success(),
        Status::Failed => {
            let mut s = TestCaseStatus::non_success(NonSuccessKind::Failure);
            s.set_message(attr(&c.title));
            if !c.diagnoses.is_empty() {
                let ids: Vec<&str> = c.diagnoses.iter().map(|d| d.id.as_str()).collect();
                s.set_type(attr(&ids.join(", ")));
            }
            s.set_description(text(&failure_text(c)));
            s
        }
        Status::Error => {
            let mut s = TestCaseStatus::non_success(NonSuccessKind::Error);
            s.set_message(attr(&c.title));
            let mut body = format!(
                "could not evaluate: {}\n",
                c.message.as_deref().unwrap_or("no message")
            );
            if !c.expected.is_empty() {
                let _ = writeln!(body, "expected: {}", c.expected);
            }
            s.set_description(text(&body));
            s
        }
        Status::Skipped => {
            let mut s = TestCaseStatus::skipped();
            if let Some(reason) = &c.message {
                s.set_message(attr(reason));
            }
            s
        }
    }
}

/// What a failed check expected and found, the causes that hold with their fixes, or the
/// check's own fix. Multi-line values and fixes keep their lines.
fn failure_text(c: &CheckResult) -> String {
    let mut out = String::new();
    field(&mut out, "expected", &c.expected);
    field(&mut out, "actual", &c.actual);
    for found in &c.diagnoses {
        out.push('\n');
        field(&mut out, &format!("cause ({})", found.id), &found.cause);
        block(&mut out, "fix", &found.fix);
    }
    if c.diagnoses.is_empty()
        && let Some(fix) = &c.fix
    {
        out.push('\n');
        block(&mut out, "fix", fix);
    }
    out
}

fn field(out: &mut String, label: &str, value: &str) {
    let value = value.trim_end();
    if value.is_empty() {
        return;
    }
    let pad = " ".repeat(label.len() + 2);
    for (i, line) in value.lines().enumerate() {
        if i == 0 {
            let _ = writeln!(out, "{label}: {line}");
        } else {
            let _ = writeln!(out, "{pad}{line}");
        }
    }
}

/// A label on its own line, then the text as it is (commands stay copyable).
fn block(out: &mut String, label: &str, value: &str) {
    let value = value.trim_matches('\n').trim_end();
    if !value.is_empty() {
        let _ = writeln!(out, "{label}:\n{value}");
    }
}

/// Text content: plain (see [`plain_text`]).
pub(crate) fn text(s: &str) -> XmlString {
    XmlString::new(plain_text(s))
}

/// An attribute value: plain and on one line (XML readers turn newlines in attributes into
/// spaces anyway).
pub(crate) fn attr(s: &str) -> XmlString {
    let plain = plain_text(s);
    XmlString::new(plain.split_whitespace().collect::<Vec<_>>().join(" "))
}

/// `s` if it is an RFC 3339 date-time, which is also a valid `xs:dateTime`; `None` otherwise,
/// so a malformed value is left out rather than making the file invalid.
pub(crate) fn rfc3339(s: &str) -> Option<String> {
    let re = regex::Regex::new(
        r"^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$",
    )
    .expect("valid regex");
    re.is_match(s).then(|| s.to_ascii_uppercase())
}

/// Writes the JUnit file when the run finishes.
pub fn junit_file(path: impl Into<PathBuf>) -> FileReporter {
    FileReporter::new(path, |report, w| w.write_all(junit_xml(report).as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::collect::fixture;
    use crate::report::event::{Event, Reporter};
    use std::path::Path;
    use std::process::Command;

    const XSD: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/junit/jenkins-junit.xsd");

    /// Validate `xml` against the JUnit schema with xmllint (`Err`: its complaint). A missing
    /// xmllint fails the test: validation that did not run proves nothing.
    fn xmllint(xml: &str) -> Result<(), String> {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("report.xml");
        std::fs::write(&file, xml).unwrap();
        let run = Command::new("xmllint")
            .args(["--noout", "--schema", XSD])
            .arg(&file)
            .output();
        match run {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => panic!(
                "xmllint is needed to validate JUnit against {XSD} and is not installed \
                 (Debian package libxml2-utils): run the tests with `bash scripts/test.sh`, \
                 which installs it"
            ),
            Err(e) => panic!("cannot run xmllint: {e}"),
            Ok(out) if out.status.success() => Ok(()),
            Ok(out) => Err(String::from_utf8_lossy(&out.stderr).into_owned()),
        }
    }

    fn assert_valid(xml: &str) {
        if let Err(e) = xmllint(xml) {
            panic!("JUnit XML does not validate against {XSD}:\n{e}\n{xml}");
        }
    }

    #[test]
    fn junit_golden() {
        insta::assert_snapshot!(junit_xml(&fixture::report()));
    }

    #[test]
    fn junit_validates_against_the_schema() {
        assert!(Path::new(XSD).exists(), "{XSD} is missing");
        assert_valid(&junit_xml(&fixture::report()));
    }

    #[test]
    fn schema_rejects_what_it_should() {
        // Guard against a schema so loose that validation proves nothing.
        let bad = [
            // a test case without a name
            r#"<testsuites><testsuite name="s" tests="1" failures="0" errors="0"><testcase classname="c"/></testsuite></testsuites>"#,
            // two outcomes
            r#"<testsuites><testsuite name="s" tests="1" failures="1" errors="1"><testcase name="t"><failure/><error/></testcase></testsuite></testsuites>"#,
            // a count that is not a number
            r#"<testsuites><testsuite name="s" tests="x" failures="0" errors="0"/></testsuites>"#,
            // a timestamp that is not a date-time
            r#"<testsuites><testsuite name="s" tests="0" failures="0" errors="0" timestamp="yesterday"/></testsuites>"#,
            // properties after the test cases
            r#"<testsuites><testsuite name="s" tests="1" failures="0" errors="0"><testcase name="t"/><properties/></testsuite></testsuites>"#,
            // an attribute the format does not have
            r#"<testsuites><testsuite name="s" tests="0" failures="0" errors="0" colour="red"/></testsuites>"#,
        ];
        let good =
            r#"<testsuites><testsuite name="s" tests="0" failures="0" errors="0"/></testsuites>"#;
        xmllint(good).expect("the minimal document is valid");
        for xml in bad {
            assert!(xmllint(xml).is_err(), "schema accepted {xml}");
        }
    }

    #[test]
    fn cdata_terminator_and_escape_codes_make_valid_xml() {
        let mut report = fixture::report();
        let check = &mut report.steps[1].checks[0];
        check.actual = "data: <![CDATA[ ]]> & \x1b[31mred\x1b[0m\x07\ttab".into();
        check.diagnoses[0].cause = "a \"quoted\" ]]> cause\x1b[0m".into();
        check.title = "title with \x1b[1mbold\x1b[0m and ]]>".into();
        report.steps[3].checks[2].message = Some("skipped\nbecause <reasons>".into());
        let xml = junit_xml(&report);
        assert!(!xml.contains('\x1b') && !xml.contains('\x07'), "{xml}");
        assert!(!xml.contains("]]>"), "{xml}");
        assert_valid(&xml);

        // Read back, the text is what was meant, minus the escape codes.
        let back = Report::deserialize_from_str(&xml).expect("well-formed XML");
        let case = &back.test_suites[1].test_cases[0];
        let TestCaseStatus::NonSuccess {
            message,
            description,
            ..
        } = &case.status
        else {
            panic!("{case:?}");
        };
        assert_eq!(message.as_deref(), Some("title with bold and ]]>"));
        let description = description.as_deref().unwrap();
        assert!(
            description.contains("actual: data: <![CDATA[ ]]> & red       tab"),
            "{description}"
        );
        assert!(
            description.contains("a \"quoted\" ]]> cause"),
            "{description}"
        );
        let skipped = &back.test_suites[3].test_cases[2].status;
        let TestCaseStatus::Skipped { message, .. } = skipped else {
            panic!()
        };
        assert_eq!(message.as_deref(), Some("skipped because <reasons>"));
    }

    #[test]
    fn counts_and_kinds_match_the_report() {
        let report = fixture::report();
        let back = Report::deserialize_from_str(&junit_xml(&report)).unwrap();
        let (passed, failed, skipped, errors) = report.counts();
        assert_eq!(back.tests, passed + failed + skipped + errors);
        assert_eq!(
            (back.failures, back.skipped, back.errors),
            (failed, skipped, errors)
        );
        assert_eq!(back.test_suites.len(), report.steps.len());
        assert_eq!(
            back.test_suites[1].test_cases[0].classname.as_deref(),
            Some("istio-aks.onboard-mesh")
        );
    }

    #[test]
    fn timestamp_is_left_out_when_not_rfc3339() {
        let mut report = fixture::report();
        assert_eq!(
            rfc3339("2025-05-14t09:30:00.5+02:00").as_deref(),
            Some("2025-05-14T09:30:00.5+02:00")
        );
        report.info.started_at = "14 May 2025".into();
        let xml = junit_xml(&report);
        assert!(!xml.contains("timestamp="), "{xml}");
        assert_valid(&xml);
    }

    #[test]
    fn reporter_writes_the_file_when_the_run_finishes() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("reports/junit.xml");
        let report = fixture::report();
        let mut r = junit_file(&path);
        r.event(&Event::RunStarted(&report.info)).unwrap();
        assert!(!path.exists());
        r.event(&Event::RunFinished(&report)).unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), junit_xml(&report));
    }

    #[test]
    fn warnings_go_to_system_err_once() {
        let mut report = fixture::report();
        report.info.warnings = vec!["probe pod default/labctl-probe-x could not be deleted".into()];
        let xml = junit_xml(&report);
        assert_eq!(xml.matches("<system-err>").count(), 1, "{xml}");
        assert!(xml.contains("probe pod default/labctl-probe-x could not be deleted"));
        xmllint(&xml).unwrap();
    }
}
