//! The class report as JSON: the report's facts, the summary, and per learner the matrix row,
//! score and — when graded — the full grade report (schema of `labctl grade -o json`'s steps).

use super::report::{ClassReport, LearnerResult, Outcome};
use super::summary::summarize;
use serde::ser::{Serialize, SerializeSeq, Serializer};
use serde_json::{Value, json};
use std::io::Write;

pub fn class_json(report: &ClassReport) -> String {
    let mut out = Vec::new();
    let _ = write_class_json(report, &mut out);
    String::from_utf8(out).unwrap_or_default()
}

/// The class report as JSON, written as it is made: one learner's entry at a time, so the
/// export of 10,000 learners never holds more than one of them as a JSON tree.
pub fn write_class_json(report: &ClassReport, out: &mut dyn Write) -> std::io::Result<()> {
    let head = json!({
        "classReportVersion": 1,
        "lab": report.lab,
        "title": report.title,
        "profile": report.profile,
        "generatedAt": report.generated_at,
        "durationMs": report.duration.as_millis() as u64,
        "steps": report.steps,
        "summary": summarize(report),
    });
    let Value::Object(head) = head else {
        return Ok(());
    };
    let doc = Document {
        head,
        learners: Learners(report),
    };
    let mut out = std::io::BufWriter::new(out);
    serde_json::to_writer_pretty(&mut out, &doc)?;
    out.flush()
}

#[derive(serde::Serialize)]
struct Document<'a> {
    #[serde(flatten)]
    head: serde_json::Map<String, Value>,
    learners: Learners<'a>,
}

struct Learners<'a>(&'a ClassReport);

impl Serialize for Learners<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut seq = s.serialize_seq(Some(self.0.learners.len()))?;
        for l in &self.0.learners {
            seq.serialize_element(&learner(self.0, l))?;
        }
        seq.end()
    }
}

fn learner(report: &ClassReport, l: &LearnerResult) -> Value {
    let n = report.steps.len();
    let mut v = json!({
        "name": l.name,
        "source": l.source,
        "status": match l.report() {
            Some(_) if l.is_done() => "done",
            Some(_) => "inProgress",
            None => match l.outcome {
                Outcome::Unreachable { .. } => "unreachable",
                _ => "error",
            },
        },
        "progress": l.progress(),
        "score": l.score(),
        "currentStep": l.current().and_then(|i| report.steps.get(i)).map(|s| &s.id),
        "cells": l.cells(n),
        "message": l.problem(),
    });
    if let Some(r) = l.report() {
        v["revision"] = json!(r.info.revision);
        // Where the learner's discovered values came from (their cluster's istiod).
        if !r.info.discovered.is_empty() {
            v["discovered"] = json!(r.info.discovered);
        }
        v["steps"] = json!(r.steps);
    }
    v
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::class::report::tests::sample;

    #[test]
    fn rows_summary_and_full_reports() {
        let v: Value = serde_json::from_str(&class_json(&sample())).unwrap();
        assert_eq!(v["learners"].as_array().unwrap().len(), 6);
        let bob = v["learners"]
            .as_array()
            .unwrap()
            .iter()
            .find(|l| l["name"] == "bob")
            .unwrap();
        assert_eq!(bob["cells"], json!(["passed", "failed", "notReached"]));
        assert_eq!(
            (bob["status"].as_str(), bob["currentStep"].as_str()),
            (Some("inProgress"), Some("s2"))
        );
        assert_eq!(
            bob["steps"][1]["checks"][0]["diagnoses"][0]["id"],
            "injection-label-ignored"
        );
        let erin = v["learners"]
            .as_array()
            .unwrap()
            .iter()
            .find(|l| l["name"] == "erin")
            .unwrap();
        assert_eq!(erin["status"], "unreachable");
        assert!(erin.get("steps").is_none());
        assert_eq!(
            v["summary"]["steps"][1]["topFailure"]["check"],
            "namespace-rev-label"
        );
        let keys: Vec<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
        assert_eq!(
            keys,
            [
                "classReportVersion",
                "durationMs",
                "generatedAt",
                "lab",
                "learners",
                "profile",
                "steps",
                "summary",
                "title"
            ]
        );
    }
}
