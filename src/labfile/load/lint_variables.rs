//! Variable lints: `{{ }}` placeholders, values against their `pattern:`, cycles and blow-ups.

use super::lab_file::Loader;
use super::text::{find_default, find_variable};
use crate::labfile::diag::{Diagnostic, did_you_mean};
use crate::labfile::model::LabFile;
use crate::labfile::pattern::{self, Pattern};
use crate::labfile::source::Source;
use crate::labfile::{expand, template};
use std::collections::{BTreeMap, BTreeSet};

impl Loader {
    /// Undefined and unclosed `{{ }}` placeholders anywhere in a file, and a file that grows
    /// past [`expand::TEXT_LIMIT`] once they are substituted (reported where it crosses it).
    pub(super) fn lint_placeholders(&mut self, src: &Source) {
        let mut len = src.text.len();
        let mut reported = false;
        for p in template::placeholders(&src.text) {
            if let Some(v) = self.sample_values.get(&p.name) {
                len = len.saturating_sub(p.len).saturating_add(v.len());
            }
            if len > expand::TEXT_LIMIT && !reported {
                reported = true;
                let d = src
                    .at_pos(
                        p.line,
                        p.col,
                        format!(
                            "this file grows past {} bytes once its variables are substituted",
                            expand::TEXT_LIMIT
                        ),
                    )
                    .width(p.len);
                self.diags.push(d.help(
                    "each `{{ name }}` pastes that variable's whole value; use fewer or shorter ones",
                ));
            }
            if p.name.is_empty() {
                let d = src
                    .at_pos(p.line, p.col, "`{{` is not closed by `}}` on the same line")
                    .width(2);
                self.diags.push(d);
            } else if !self.variables.contains(&p.name) && !self.variables_unknown {
                let d = src
                    .at_pos(p.line, p.col, format!("undefined variable `{}`", p.name))
                    .width(p.len);
                let d = self.suggest_variable(d, &p.name);
                self.diags.push(d);
            }
        }
    }

    /// Compile every `pattern:`, and hold defaults and profile values to the value rules
    /// (`labfile::pattern`): a lab must not ship a value that `start` would refuse.
    pub(super) fn lint_variable_values(&mut self, decl: &LabFile) -> BTreeMap<String, Pattern> {
        let mut patterns = BTreeMap::new();
        for (name, v) in &decl.variables {
            let Some(source) = &v.pattern else { continue };
            match Pattern::new(&source.value) {
                Ok(p) => {
                    patterns.insert(name.clone(), p);
                }
                Err(e) => {
                    let text = e.to_string();
                    let last = text.lines().last().unwrap_or("").trim();
                    let first = last.strip_prefix("error: ").unwrap_or(last).to_owned();
                    let d = self.at(
                        source,
                        format!("`pattern` of `{name}` is not a valid regular expression: {first}"),
                    );
                    self.diags.push(d.underline_token().help(
                        "Rust regex syntax; the whole value must match, e.g. `^asm-[0-9]+-[0-9]+$`",
                    ));
                }
            }
        }
        let mut problems = Vec::new();
        for (name, v) in &decl.variables {
            if v.default.is_some()
                && let Some(value) = self.sample_values.get(name)
                && template::placeholders(value).is_empty()
                && let Err(problem) = pattern::check(value, patterns.get(name))
            {
                let shown = pattern::shown(value);
                let message = format!("the default `{shown}` of `{name}` {problem}");
                problems.push(match find_default(&self.src.text, name) {
                    Some((line, col)) => self.src.at_pos(line, col, message).underline_token(),
                    None => self.at_key(name, message),
                });
            }
        }
        for (pname, profile) in &decl.profiles {
            for (name, span) in &profile.variables {
                let value = template::substitute(&span.value, &self.sample_values).0;
                if template::placeholders(&value).is_empty()
                    && let Err(problem) = pattern::check(&value, patterns.get(name))
                {
                    let shown = pattern::shown(&value);
                    problems.push(self.at(
                        span,
                        format!("profile `{pname}` sets `{name}` to `{shown}`, which {problem}"),
                    ));
                }
            }
        }
        self.diags.extend(problems);
        patterns
    }

    /// Cycles and blow-ups among variable values, for the defaults and for each profile's
    /// values on top of them (where the plan will resolve them), each reported once.
    pub(super) fn lint_variables(&mut self, decl: &LabFile) {
        let defaults: BTreeMap<String, String> = decl
            .variables
            .iter()
            .filter_map(|(k, v)| v.default.clone().map(|d| (k.clone(), d)))
            .collect();
        let mut seen = BTreeSet::new();
        let mut sets: Vec<(Option<&String>, BTreeMap<String, String>)> =
            vec![(None, defaults.clone())];
        for (pname, profile) in &decl.profiles {
            let mut raw = defaults.clone();
            raw.extend(
                profile
                    .variables
                    .iter()
                    .map(|(k, v)| (k.clone(), v.value.clone())),
            );
            sets.push((Some(pname), raw));
        }
        for (pname, raw) in sets {
            let Err(e) = expand::resolve(&raw, expand::VALUE_LIMIT) else {
                continue;
            };
            if !seen.insert(e.to_string()) {
                continue;
            }
            let var = e.variable();
            let profile_value = pname
                .and_then(|p| decl.profiles.get(p))
                .and_then(|p| p.variables.get(var));
            let d = match (pname, profile_value) {
                (Some(p), Some(span)) => self.at(span, format!("{e} (profile `{p}`)")),
                _ => {
                    let (line, col) = find_variable(&self.src.text, var).unwrap_or((1, 1));
                    self.src.at_pos(line, col, e.to_string())
                }
            };
            let help = match e {
                expand::ExpandError::Cycle { .. } => {
                    "a value may use other variables, but not itself, directly or through others"
                        .to_owned()
                }
                expand::ExpandError::TooLong { limit, .. } => format!(
                    "each `{{{{ name }}}}` pastes that variable's whole value; a value may grow to {limit} characters"
                ),
            };
            self.diags.push(d.underline_rest().help(help));
        }
    }

    pub(super) fn suggest_variable(&self, d: Diagnostic, name: &str) -> Diagnostic {
        match did_you_mean(name, self.variables.iter().map(String::as_str)) {
            Some(s) => d.label(format!("did you mean `{s}`?")),
            None => d.help(format!(
                "declare it under `variables:` in lab.yaml (declared: {})",
                self.variables
                    .iter()
                    .cloned()
                    .collect::<Vec<_>>()
                    .join(", ")
            )),
        }
    }
}
