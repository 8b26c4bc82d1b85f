//! Resolving a lab for a profile: variable values (default → profile → `--var`), then every
//! step's text, commands and checks with placeholders substituted. Variables that end up with
//! no value are tracked, so a command that needs one is refused and a check that needs one is
//! skipped with a reason, instead of running with `{{ resourceGroup }}` in it.

use crate::plan::shell;
use crate::plan::substitute::{MapStrings, map_commands};
use crate::spec::diag::did_you_mean;
use crate::spec::lab::{Check, Lab, StepType};
use crate::spec::markdown::CodeBlock;
use crate::spec::template;
use std::collections::{BTreeMap, BTreeSet};

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum PlanError {
    #[error("lab `{lab}` has no profile `{profile}`{}", hint(.suggestion, .available))]
    UnknownProfile {
        lab: String,
        profile: String,
        suggestion: Option<String>,
        available: Vec<String>,
    },
    #[error("lab `{lab}` has no variable `{name}`{}", hint(.suggestion, .available))]
    UnknownVariable {
        lab: String,
        name: String,
        suggestion: Option<String>,
        available: Vec<String>,
    },
    #[error("`--var {0}` is not of the form name=value")]
    MalformedVar(String),
    #[error("variable `{name}` ({origin}): `{value}` {problem}")]
    BadValue {
        name: String,
        /// As messages may show it (`spec::pattern::shown`).
        value: String,
        origin: String,
        problem: crate::spec::pattern::ValueProblem,
    },
    #[error("variables refer to each other in a cycle: {0}")]
    Cycle(String),
    #[error("lab `{lab}` has no step `{step}`{}", hint(.suggestion, .available))]
    UnknownStep {
        lab: String,
        step: String,
        suggestion: Option<String>,
        available: Vec<String>,
    },
}

fn hint(s: &Option<String>, available: &[String]) -> String {
    match s {
        Some(s) => format!(" (did you mean `{s}`?)"),
        None => format!(" (available: {})", available.join(", ")),
    }
}

/// A lab resolved for one profile.
#[derive(Debug, Clone)]
pub struct Plan {
    pub lab: String,
    pub title: String,
    pub profile: String,
    pub values: BTreeMap<String, String>,
    /// Declared variables with no value (no default, not set by the profile or `--var`).
    pub unset: BTreeSet<String>,
    pub steps: Vec<PlannedStep>,
    /// The variables read from the cluster, with where each value came from (see
    /// [`crate::plan::discover`]); empty when nothing was discovered.
    pub discovered: Vec<crate::plan::discover::Discovered>,
}

#[derive(Debug, Clone)]
pub struct PlannedStep {
    pub id: String,
    pub title: String,
    pub step_type: StepType,
    /// Markdown with placeholders substituted (unset ones stay as `<name>`).
    pub markdown: String,
    /// Code blocks that apply to this profile, substituted.
    pub blocks: Vec<CodeBlock>,
    pub checks: Vec<PlannedCheck>,
    pub hints: Vec<String>,
}

impl PlannedStep {
    pub fn solve_blocks(&self) -> impl Iterator<Item = &CodeBlock> {
        self.blocks.iter().filter(|b| b.solve)
    }
}

/// A check with its strings substituted, and the variables it needed but could not get.
#[derive(Debug, Clone, PartialEq)]
pub struct PlannedCheck {
    pub check: Check,
    pub missing: Vec<String>,
}

/// Parse `name=value` pairs from the command line.
pub fn parse_vars(pairs: &[String]) -> Result<Vec<(String, String)>, PlanError> {
    pairs
        .iter()
        .map(|p| {
            p.split_once('=')
                .map(|(k, v)| (k.trim().to_owned(), v.to_owned()))
                .ok_or_else(|| PlanError::MalformedVar(crate::spec::pattern::shown(p)))
        })
        .collect()
}

/// The profile to use when none is given: the first one the lab declares.
pub fn default_profile(lab: &Lab) -> &str {
    lab.profiles
        .first()
        .map(|p| p.name.as_str())
        .unwrap_or("default")
}

impl Plan {
    pub fn new(
        lab: &Lab,
        profile: Option<&str>,
        overrides: &[(String, String)],
    ) -> Result<Plan, PlanError> {
        let profile_name = profile.unwrap_or_else(|| default_profile(lab)).to_owned();
        let available: Vec<String> = lab.profiles.iter().map(|p| p.name.clone()).collect();
        let Some(profile) = lab.profiles.iter().find(|p| p.name == profile_name) else {
            return Err(PlanError::UnknownProfile {
                lab: lab.name.clone(),
                suggestion: did_you_mean(&profile_name, available.iter().map(String::as_str)),
                profile: profile_name,
                available,
            });
        };
        let declared: Vec<String> = lab.variables.iter().map(|v| v.name.clone()).collect();
        let mut raw: BTreeMap<String, String> = lab
            .variables
            .iter()
            .filter_map(|v| v.default.clone().map(|d| (v.name.clone(), d)))
            .collect();
        raw.extend(profile.variables.iter().cloned());
        for (name, value) in overrides {
            if !declared.contains(name) {
                return Err(PlanError::UnknownVariable {
                    lab: lab.name.clone(),
                    suggestion: did_you_mean(name, declared.iter().map(String::as_str)),
                    name: crate::spec::pattern::shown(name),
                    available: declared.clone(),
                });
            }
            raw.insert(name.clone(), value.clone());
        }
        let values = resolve_values(raw)?;
        crate::plan::values::check_values(lab, &profile_name, &values, overrides)?;
        let unset: BTreeSet<String> = declared
            .iter()
            .filter(|d| !values.contains_key(*d))
            .cloned()
            .collect();

        let steps = lab
            .steps
            .iter()
            .map(|step| {
                let shown = |text: &str| show_value(text, &values);
                // Shell code gets each value as a shell-safe piece of its word (`plan::shell`).
                let shell = |b: &CodeBlock| match shell::is_shell(&b.lang) {
                    true => shell::substitute_shell(&b.code, &values).0,
                    false => b.code.clone(),
                };
                let blocks = step
                    .blocks
                    .iter()
                    .filter(|b| b.applies_to(&profile_name))
                    .map(|b| CodeBlock {
                        code: shown(&shell(b)),
                        ..b.clone()
                    })
                    .collect();
                let checks = step
                    .checks_for(&profile_name)
                    .map(|c| {
                        let mut check = c.clone();
                        let mut missing = BTreeSet::new();
                        map_commands(&mut check, &mut |s| {
                            let (out, m) = shell::substitute_shell(s, &values);
                            missing.extend(m);
                            out
                        });
                        check.map_strings(&mut |s| {
                            let (out, m) = template::substitute(s, &values);
                            missing.extend(m);
                            out
                        });
                        PlannedCheck {
                            check,
                            missing: missing.into_iter().collect(),
                        }
                    })
                    .collect();
                PlannedStep {
                    id: step.id.clone(),
                    title: shown(&step.title),
                    step_type: step.step_type,
                    markdown: shown(&shell::substitute_markdown(&step.markdown, &values)),
                    blocks,
                    checks,
                    hints: step.hints.iter().map(|h| shown(h)).collect(),
                }
            })
            .collect();
        Ok(Plan {
            lab: lab.name.clone(),
            title: lab.title.clone(),
            profile: profile_name,
            values,
            unset,
            steps,
            discovered: Vec::new(),
        })
    }

    /// The step with this id, or an error that lists the ids.
    pub fn step(&self, id: &str) -> Result<&PlannedStep, PlanError> {
        self.steps.iter().find(|s| s.id == id).ok_or_else(|| {
            let available: Vec<String> = self.steps.iter().map(|s| s.id.clone()).collect();
            PlanError::UnknownStep {
                lab: self.lab.clone(),
                step: id.to_owned(),
                suggestion: did_you_mean(id, available.iter().map(String::as_str)),
                available,
            }
        })
    }

    /// Variables a text needs that have no value.
    pub fn missing_in(&self, text: &str) -> Vec<String> {
        template::substitute(text, &self.values).1
    }
}

/// Substitute for display: unset variables become `<name>`, an obvious placeholder.
fn show_value(text: &str, values: &BTreeMap<String, String>) -> String {
    let (out, missing) = template::substitute(text, values);
    let mut out = out;
    for m in missing {
        for form in [format!("{{{{ {m} }}}}"), format!("{{{{{m}}}}}")] {
            out = out.replace(&form, &format!("<{m}>"));
        }
    }
    out
}

/// Values may refer to other variables (`istio-shared-configmap-{{ revision }}`).
fn resolve_values(
    mut raw: BTreeMap<String, String>,
) -> Result<BTreeMap<String, String>, PlanError> {
    for _ in 0..=raw.len() {
        let snapshot = raw.clone();
        let mut changed = false;
        for v in raw.values_mut() {
            let (out, _) = template::substitute(v, &snapshot);
            if out != *v {
                *v = out;
                changed = true;
            }
        }
        if !changed {
            // A value still naming a *set* variable is part of a cycle.
            let cyclic: Vec<String> = raw
                .iter()
                .filter(|(_, v)| {
                    template::placeholders(v)
                        .iter()
                        .any(|p| raw.contains_key(&p.name))
                })
                .map(|(k, _)| k.clone())
                .collect();
            if !cyclic.is_empty() {
                return Err(PlanError::Cycle(cyclic.join(", ")));
            }
            // Values still naming a variable refer to an unset one; drop them so they count as unset.
            return Ok(raw
                .into_iter()
                .filter(|(_, v)| template::placeholders(v).is_empty())
                .collect());
        }
    }
    let cyclic: Vec<String> = raw
        .iter()
        .filter(|(_, v)| !template::placeholders(v).is_empty())
        .map(|(k, _)| k.clone())
        .collect();
    Err(PlanError::Cycle(cyclic.join(", ")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raw(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn nested_values_resolve() {
        let v = resolve_values(raw(&[
            ("revision", "asm-1-24"),
            ("cm", "istio-shared-configmap-{{ revision }}"),
        ]))
        .unwrap();
        assert_eq!(v["cm"], "istio-shared-configmap-asm-1-24");
    }

    #[test]
    fn values_on_unset_variables_are_unset() {
        let v = resolve_values(raw(&[("scope", "{{ resourceGroup }}/x")])).unwrap();
        assert!(!v.contains_key("scope"));
    }

    #[test]
    fn cycles_are_errors() {
        assert!(matches!(
            resolve_values(raw(&[("a", "{{ b }}"), ("b", "{{ a }}")])),
            Err(PlanError::Cycle(_))
        ));
    }

    #[test]
    fn unset_values_display_as_placeholders() {
        assert_eq!(
            show_value("az -g {{ resourceGroup }}", &BTreeMap::new()),
            "az -g <resourceGroup>"
        );
    }
}
