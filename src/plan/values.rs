//! The value rules of `labfile::pattern` applied to a plan's resolved values, naming where each
//! refused value came from (`--var`, the profile, the default), so the learner knows what to fix.

use crate::labfile::lab::Lab;
use crate::labfile::pattern;
use crate::plan::resolve::PlanError;
use std::collections::BTreeMap;

/// The first refused value, checking the `--var` values first (the likeliest culprits).
pub fn check_values(
    lab: &Lab,
    profile: &str,
    values: &BTreeMap<String, String>,
    overrides: &[(String, String)],
) -> Result<(), PlanError> {
    let from_override = |name: &str| overrides.iter().any(|(k, _)| k == name);
    let from_profile = |name: &str| {
        lab.profiles
            .iter()
            .any(|p| p.name == profile && p.variables.iter().any(|(k, _)| k == name))
    };
    let mut order: Vec<_> = lab.variables.iter().collect();
    order.sort_by_key(|v| !from_override(&v.name));
    for var in order {
        let Some(value) = values.get(&var.name) else {
            continue;
        };
        if let Err(problem) = pattern::check(value, var.pattern.as_ref()) {
            let origin = if from_override(&var.name) {
                "--var".to_owned()
            } else if from_profile(&var.name) {
                format!("profile `{profile}`")
            } else {
                "default".to_owned()
            };
            return Err(PlanError::BadValue {
                name: var.name.clone(),
                value: pattern::shown(value),
                origin,
                problem,
            });
        }
    }
    Ok(())
}
