//! The grade as JSON, for dashboards, the class report and scripts. The format is documented
//! in `docs/json-schema.md` and versioned by `schemaVersion`.
//!
//! The document is built from structs of its own rather than by serialising [`GradeReport`]:
//! the file format is a contract with other programs and must not change because an internal
//! type gained a field or had one renamed. Every field is always present (absent values are
//! `null`), in a fixed order. Text is [`plain_text`]: no terminal escape codes.

use super::event::{GradeReport, StepReport};
use super::set::FileReporter;
use crate::eval::result::{CheckResult, Found, Status};
use crate::render::text::plain_text;
use serde::Serialize;
use std::path::PathBuf;

/// Bump when a field is removed, renamed or changes meaning; adding a field does not.
pub const SCHEMA_VERSION: u32 = 1;

/// The report as pretty-printed JSON, ending in a newline.
pub fn json_report(report: &GradeReport) -> String {
    let mut out = serde_json::to_string_pretty(&Document::from(report))
        .expect("the document has only strings, numbers and string-keyed objects");
    out.push('\n');
    out
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Document {
    schema_version: u32,
    generator: String,
    lab: String,
    title: String,
    profile: String,
    revision: Option<String>,
    /// Variables read from the cluster and where each came from (absent when none).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    discovered: Vec<Discovered>,
    context: Option<String>,
    snapshot: Option<String>,
    learner: Option<String>,
    started_at: String,
    status: Status,
    duration_ms: u64,
    summary: Summary,
    /// Problems that are not check results: probe pods labctl could not delete.
    warnings: Vec<String>,
    steps: Vec<Step>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Summary {
    steps: usize,
    steps_passed: usize,
    checks: usize,
    passed: usize,
    failed: usize,
    skipped: usize,
    errors: usize,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Step {
    id: String,
    title: String,
    status: Status,
    duration_ms: u64,
    checks: Vec<Check>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Check {
    id: String,
    title: String,
    status: Status,
    duration_ms: u64,
    expected: String,
    actual: String,
    message: Option<String>,
    diagnoses: Vec<Diagnosis>,
    fix: Option<String>,
}

#[derive(Serialize)]
struct Diagnosis {
    id: String,
    cause: String,
    fix: String,
}

/// A discovered variable: `found` false means nothing was found and the lab's value was used;
/// `source` is the object read, or where nothing was found; `text` is the line the terminal shows.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Discovered {
    variable: String,
    value: Option<String>,
    found: bool,
    source: String,
    text: String,
}

impl From<&crate::plan::discover::Discovered> for Discovered {
    fn from(d: &crate::plan::discover::Discovered) -> Self {
        use crate::plan::discover::Origin;
        let (found, source) = match &d.origin {
            Origin::Cluster { object, .. } => (true, object),
            Origin::NotFound { looked_in } => (false, looked_in),
        };
        Discovered {
            variable: plain(&d.variable),
            value: d.value.as_deref().map(plain),
            found,
            source: plain(source),
            text: plain(&d.to_string()),
        }
    }
}

fn plain(s: &str) -> String {
    plain_text(s).into_owned()
}

fn ms(d: std::time::Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

impl From<&GradeReport> for Document {
    fn from(r: &GradeReport) -> Self {
        let (passed, failed, skipped, errors) = r.counts();
        let info = &r.info;
        Document {
            schema_version: SCHEMA_VERSION,
            generator: format!("labctl {}", env!("CARGO_PKG_VERSION")),
            lab: plain(&info.lab),
            title: plain(&info.title),
            profile: plain(&info.profile),
            revision: info.revision.as_deref().map(plain),
            discovered: info.discovered.iter().map(Discovered::from).collect(),
            context: info.context.as_deref().map(plain),
            snapshot: info.snapshot.as_deref().map(plain),
            learner: info.learner.as_deref().map(plain),
            started_at: plain(&info.started_at),
            status: r.status,
            duration_ms: ms(r.duration),
            warnings: info.warnings.iter().map(|w| plain(w)).collect(),
            summary: Summary {
                steps: r.steps.len(),
                steps_passed: r
                    .steps
                    .iter()
                    .filter(|s| s.status == Status::Passed)
                    .count(),
                checks: passed + failed + skipped + errors,
                passed,
                failed,
                skipped,
                errors,
            },
            steps: r.steps.iter().map(Step::from).collect(),
        }
    }
}

impl From<&StepReport> for Step {
    fn from(s: &StepReport) -> Self {
        Step {
            id: plain(&s.id),
            title: plain(&s.title),
            status: s.status,
            duration_ms: ms(s.duration),
            checks: s.checks.iter().map(Check::from).collect(),
        }
    }
}

impl From<&CheckResult> for Check {
    fn from(c: &CheckResult) -> Self {
        Check {
            id: plain(&c.id),
            title: plain(&c.title),
            status: c.status,
            duration_ms: ms(c.duration),
            expected: plain(&c.expected),
            actual: plain(&c.actual),
            message: c.message.as_deref().map(plain),
            diagnoses: c.diagnoses.iter().map(Diagnosis::from).collect(),
            fix: c.fix.as_deref().map(plain),
        }
    }
}

impl From<&Found> for Diagnosis {
    fn from(f: &Found) -> Self {
        Diagnosis {
            id: plain(&f.id),
            cause: plain(&f.cause),
            fix: plain(&f.fix),
        }
    }
}

/// Writes the JSON file when the run finishes.
pub fn json_file(path: impl Into<PathBuf>) -> FileReporter {
    FileReporter::new(path, |report, w| {
        w.write_all(json_report(report).as_bytes())
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::collect::fixture;
    use crate::report::event::{Event, Reporter};
    use std::collections::BTreeSet;

    /// The golden file must not change with every release.
    fn without_version(json: &str) -> String {
        json.replace(
            &format!("\"labctl {}\"", env!("CARGO_PKG_VERSION")),
            "\"labctl <version>\"",
        )
    }

    #[test]
    fn json_golden() {
        insta::assert_snapshot!(without_version(&json_report(&fixture::report())));
    }

    #[test]
    fn field_order_is_fixed_and_every_field_present() {
        let json = json_report(&fixture::report());
        let top: Vec<&str> = json
            .lines()
            .filter(|l| l.starts_with("  \"")) // top-level keys only
            .map(|l| l.trim().split('"').nth(1).unwrap())
            .collect();
        assert_eq!(
            top,
            [
                "schemaVersion",
                "generator",
                "lab",
                "title",
                "profile",
                "revision",
                "context",
                "snapshot",
                "learner",
                "startedAt",
                "status",
                "durationMs",
                "summary",
                "warnings",
                "steps"
            ]
        );
        let v: serde_json::Value = serde_json::from_str(&json).unwrap();
        assert_eq!(v["schemaVersion"], 1);
        assert_eq!(v["snapshot"], serde_json::Value::Null);
        let check = &v["steps"][0]["checks"][0];
        for key in [
            "id",
            "title",
            "status",
            "durationMs",
            "expected",
            "actual",
            "message",
            "diagnoses",
            "fix",
        ] {
            assert!(check.get(key).is_some(), "check lacks {key}");
        }
        assert_eq!(v["summary"]["checks"], 12);
    }

    /// Every field path, e.g. `steps[].checks[].diagnoses[].id`.
    fn field_paths(v: &serde_json::Value, path: &str, out: &mut BTreeSet<String>) {
        match v {
            serde_json::Value::Object(map) => {
                for (k, v) in map {
                    let p = if path.is_empty() {
                        k.clone()
                    } else {
                        format!("{path}.{k}")
                    };
                    field_paths(v, &p, out);
                    out.insert(p);
                }
            }
            serde_json::Value::Array(items) => {
                for item in items {
                    field_paths(item, &format!("{path}[]"), out);
                }
            }
            _ => {}
        }
    }

    /// Key names in the order they first appear in pretty-printed JSON text.
    fn key_order(json: &str) -> Vec<&str> {
        let mut seen = Vec::new();
        for line in json.lines() {
            if let Some((key, _)) = line
                .trim()
                .strip_prefix('"')
                .and_then(|l| l.split_once("\":"))
                && !seen.contains(&key)
            {
                seen.push(key);
            }
        }
        seen
    }

    /// The example in docs/json-schema.md has exactly the fields the reporter writes, in the
    /// order it writes them.
    #[test]
    fn documented_example_matches_the_output() {
        let doc = include_str!("../../docs/json-schema.md");
        let start = doc.find("```json\n").expect("an example") + "```json\n".len();
        let example = &doc[start..start + doc[start..].find("\n```").unwrap()];
        let output = json_report(&fixture::report());
        let paths = |json: &str| {
            let mut out = BTreeSet::new();
            field_paths(&serde_json::from_str(json).unwrap(), "", &mut out);
            out
        };
        assert_eq!(
            paths(example),
            paths(&output),
            "the documented example has other fields"
        );
        assert_eq!(
            key_order(example),
            key_order(&output),
            "the documented example has another field order"
        );
    }

    #[test]
    fn text_is_plain() {
        let mut report = fixture::report();
        report.steps[1].checks[0].actual = "\x1b[31mred\x1b[0m\x07".into();
        let json = json_report(&report);
        assert!(
            !json.contains("\\u001b") && !json.contains("\\u0007"),
            "{json}"
        );
        assert!(json.contains("\"actual\": \"red\""));
    }

    #[test]
    fn reporter_writes_the_file_when_the_run_finishes() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("grade.json");
        let report = fixture::report();
        let mut r = json_file(&path);
        r.event(&Event::RunStarted(&report.info)).unwrap();
        assert!(!path.exists());
        r.event(&Event::RunFinished(&report)).unwrap();
        assert_eq!(
            std::fs::read_to_string(&path).unwrap(),
            json_report(&report)
        );
    }
}
