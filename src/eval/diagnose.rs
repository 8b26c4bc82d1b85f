//! Diagnoses: when a check fails, which known mistakes explain it. A diagnosis holds when all
//! of its conditions pass; a condition that cannot be evaluated means the diagnosis does not
//! hold (diagnoses advise, they never turn a failure into an error).

use crate::eval::check::evaluate_body;
use crate::eval::facts::Facts;
use crate::eval::result::Found;
use crate::spec::lab::Diagnosis;

pub fn found(diagnoses: &[Diagnosis], facts: &dyn Facts) -> Vec<Found> {
    diagnoses
        .iter()
        .filter(|d| {
            !d.when.is_empty()
                && d.when
                    .iter()
                    .all(|cond| matches!(evaluate_body(cond, None, facts), Ok(Some(o)) if o.passed))
        })
        .map(|d| Found {
            id: d.id.clone(),
            cause: d.cause.trim().to_owned(),
            fix: d.fix.trim().to_owned(),
        })
        .collect()
}
