//! One check, start to finish: skip it when it needs a variable with no value, evaluate its
//! body, and on failure name the diagnoses that hold.

use crate::eval::facts::Facts;
use crate::eval::resource::Outcome;
use crate::eval::result::{CheckResult, Status};
use crate::eval::{command, diagnose, probe, resource};
use crate::plan::resolve::PlannedCheck;
use crate::spec::lab::{Body, Target};
use std::time::Instant;

/// Evaluate a body: `Ok(None)` when it was skipped (see the reason in `Err`-free path below).
pub fn evaluate_body(
    body: &Body,
    actual: Option<&str>,
    facts: &dyn Facts,
) -> Result<Option<Outcome>, String> {
    let verdict = match &body.target {
        Target::Resource(sel) => {
            return resource::evaluate(sel, &body.expect, actual, facts).map(Some);
        }
        Target::Command(cmd) => command::evaluate(cmd, &body.expect, facts)?,
        Target::Probe(p) => probe::evaluate(p, &body.expect, facts)?,
    };
    Ok(match verdict {
        command::Verdict::Judged(o) => Some(o),
        command::Verdict::Skipped(_) => None,
    })
}

pub fn evaluate(pc: &PlannedCheck, facts: &dyn Facts) -> CheckResult {
    let start = Instant::now();
    let check = &pc.check;
    let mut result = CheckResult::new(&check.id, &check.title, Status::Passed);
    result.fix = check.fix.as_ref().map(|f| f.trim().to_owned());
    if !pc.missing.is_empty() {
        let flags: Vec<String> = pc.missing.iter().map(|m| format!("--var {m}=…")).collect();
        result.status = Status::Skipped;
        result.message = Some(format!(
            "needs a value for {} (pass {})",
            pc.missing.join(", "),
            flags.join(" ")
        ));
        return result;
    }
    let verdict = match &check.body.target {
        Target::Command(cmd) => command::evaluate(cmd, &check.body.expect, facts),
        Target::Probe(p) => probe::evaluate(p, &check.body.expect, facts),
        Target::Resource(sel) => {
            resource::evaluate(sel, &check.body.expect, check.actual.as_deref(), facts)
                .map(command::Verdict::Judged)
        }
    };
    let outcome = match verdict {
        Ok(command::Verdict::Judged(o)) => Ok(o),
        Ok(command::Verdict::Skipped(reason)) => {
            result.status = Status::Skipped;
            result.message = Some(reason);
            result.duration = start.elapsed();
            return result;
        }
        Err(e) => Err(e),
    };
    match outcome {
        Ok(o) => {
            result.expected = o.expected;
            result.actual = o.actual;
            if !o.passed {
                result.status = Status::Failed;
                result.diagnoses = diagnose::found(&check.diagnoses, facts);
            }
        }
        Err(e) => {
            result.status = Status::Error;
            result.message = Some(e);
        }
    }
    result.duration = start.elapsed();
    result
}
