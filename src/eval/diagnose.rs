//! Diagnoses: when a check fails, which known mistakes explain it. A diagnosis holds when all
//! of its conditions pass; a condition that cannot be evaluated means the diagnosis does not
//! hold (diagnoses advise, they never turn a failure into an error). A check's `skip:` uses the
//! same conditions: a state in which the check does not apply (e.g. "plaintext is accepted"
//! once a later step has turned STRICT on).

use crate::eval::check::evaluate_body;
use crate::eval::command::Verdict;
use crate::eval::facts::Facts;
use crate::eval::result::Found;
use crate::labfile::lab::{Body, Check, Diagnosis};

/// Whether there are conditions and every one passes (one that cannot be evaluated does not).
pub fn all_hold(conditions: &[Body], facts: &dyn Facts) -> bool {
    !conditions.is_empty()
        && conditions.iter().all(
            |cond| matches!(evaluate_body(cond, None, facts), Ok(Verdict::Judged(o)) if o.passed),
        )
}

/// Why a check is skipped by its own `skip:` (its conditions all hold), if it is.
pub fn skip_reason(check: &Check, facts: &dyn Facts) -> Option<String> {
    let skip = check.skip.as_ref()?;
    all_hold(&skip.when, facts).then(|| skip.reason.trim().to_owned())
}

pub fn found(diagnoses: &[Diagnosis], facts: &dyn Facts) -> Vec<Found> {
    diagnoses
        .iter()
        .filter(|d| all_hold(&d.when, facts))
        .map(|d| Found {
            id: d.id.clone(),
            cause: d.cause.trim().to_owned(),
            fix: d.fix.trim().to_owned(),
        })
        .collect()
}
