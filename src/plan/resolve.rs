//! Resolving a lab for a profile: variable values (default → profile → `--var`), then every
//! step's text, commands and checks with placeholders substituted. Variables that end up with
//! no value are tracked, so a command that needs one is refused and a check that needs one is
//! skipped with a reason, instead of running with `{{ resourceGroup }}` in it.

use crate::labfile::diag::did_you_mean;
use crate::labfile::expand::{self, ExpandError};
use crate::labfile::lab::{Check, Lab, StepType};
use crate::labfile::markdown::CodeBlock;
use crate::labfile::template;
use crate::plan::shell;
use crate::plan::substitute::{MapStrings, map_commands};
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
        /// As messages may show it (`labfile::pattern::shown`).
        value: String,
        origin: String,
        problem: crate::labfile::pattern::ValueProblem,
    },
    /// A cycle, or a value that grows too long (see `labfile::expand`). A usage error when a
    /// `--var` (or roster value) is part of it, else the lab's own mistake.
    #[error("{error}")]
    Variables { error: ExpandError, usage: bool },
    /// Substituting the values would make the plan's texts too large (see `labfile::expand`).
    #[error("lab `{lab}` grows past {limit} bytes once its variables are substituted, at {place}")]
    TooLarge {
        lab: String,
        place: String,
        limit: usize,
    },
    #[error("lab `{lab}` has no step `{step}`{}", hint(.suggestion, .available))]
    UnknownStep {
        lab: String,
        step: String,
        suggestion: Option<String>,
        available: Vec<String>,
    },
}

impl PlanError {
    /// Whether the command line (or roster) is at fault rather than the lab: exit 3, not 2.
    pub fn is_usage(&self) -> bool {
        match self {
            PlanError::Variables { usage, .. } => *usage,
            PlanError::TooLarge { .. } => false,
            _ => true,
        }
    }
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
    /// The lab this one builds on and the last of its steps it needs (`requires:`).
    pub requires: Option<(String, String)>,
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
                .ok_or_else(|| PlanError::MalformedVar(crate::labfile::pattern::shown(p)))
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
                    name: crate::labfile::pattern::shown(name),
                    available: declared.clone(),
                });
            }
            raw.insert(name.clone(), value.clone());
        }
        let values = expand::resolve(&raw, expand::VALUE_LIMIT).map_err(|error| {
            let usage = error
                .chain()
                .iter()
                .any(|v| overrides.iter().any(|(name, _)| name == v));
            PlanError::Variables { error, usage }
        })?;
        crate::plan::values::check_values(lab, &profile_name, &values, overrides)?;
        let mut budget = expand::Budget::default();
        step_texts_fit(lab, &profile_name, &values, &mut budget)?;
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
                            let place = || format!("check `{}` ({})", c.id, c.origin);
                            if !budget.admit(s, &values, place) {
                                return String::new(); // the plan is refused below
                            }
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
        if let Some((place, limit)) = budget.over {
            return Err(PlanError::TooLarge {
                lab: lab.name.clone(),
                place,
                limit,
            });
        }
        Ok(Plan {
            lab: lab.name.clone(),
            title: lab.title.clone(),
            profile: profile_name,
            values,
            unset,
            steps,
            discovered: Vec::new(),
            requires: lab
                .requires
                .as_ref()
                .map(|r| (r.lab.name.clone(), r.through.clone())),
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

/// Refuse a plan whose step texts would break the expansion budget (see [`expand::Budget`])
/// before building any: a short Markdown file with many placeholders of long values could
/// otherwise take gigabytes. Check strings are counted as they are substituted.
fn step_texts_fit(
    lab: &Lab,
    profile: &str,
    values: &BTreeMap<String, String>,
    budget: &mut expand::Budget,
) -> Result<(), PlanError> {
    for step in &lab.steps {
        let at = |what: &str| format!("step `{}`, {what}", step.id);
        let md = step.instructions.display().to_string();
        let mut fits = budget.admit(&step.title, values, || at("its title"))
            && budget.admit(&step.markdown, values, || md.clone());
        for b in step.blocks.iter().filter(|b| b.applies_to(profile)) {
            fits = fits && budget.admit(&b.code, values, || format!("{md}:{}", b.fence_line));
        }
        for h in &step.hints {
            fits = fits && budget.admit(h, values, || at("its hints"));
        }
        if !fits {
            break;
        }
    }
    match budget.over.clone() {
        Some((place, limit)) => Err(PlanError::TooLarge {
            lab: lab.name.clone(),
            place,
            limit,
        }),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unset_values_display_as_placeholders() {
        assert_eq!(
            show_value("az -g {{ resourceGroup }}", &BTreeMap::new()),
            "az -g <resourceGroup>"
        );
    }
}
