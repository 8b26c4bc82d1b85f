//! The class report as JSON: the report's facts, the summary, and per learner the matrix row,
//! score and — when graded — the full grade report (schema of `labctl grade -o json`'s steps).

use super::report::ClassReport;
use super::summary::summarize;
use serde_json::{Value, json};

pub fn class_json(report: &ClassReport) -> String {
    let n = report.steps.len();
    let learners: Vec<Value> = report
        .learners
        .iter()
        .map(|l| {
            let mut v = json!({
                "name": l.name,
                "source": l.source,
                "status": match l.report() {
                    Some(_) if l.is_done() => "done",
                    Some(_) => "inProgress",
                    None => match l.outcome {
                        super::report::Outcome::Unreachable { .. } => "unreachable",
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
        })
        .collect();
    let out = json!({
        "classReportVersion": 1,
        "lab": report.lab,
        "title": report.title,
        "profile": report.profile,
        "generatedAt": report.generated_at,
        "durationMs": report.duration.as_millis() as u64,
        "steps": report.steps,
        "summary": summarize(report),
        "learners": learners,
    });
    serde_json::to_string_pretty(&out).unwrap_or_default()
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
    }
}
