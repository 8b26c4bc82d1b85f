//! `requires:` — a lab that starts from another lab's finished state. The prerequisite is found
//! beside the lab (same folder of labs), loaded and linted on its own first, and lends this lab
//! its variables: the same cluster, the same names, so a learner gives each value once.

use super::find::{LAB_FILE, load_in_chain};
use super::lab_file::Loader;
use crate::labfile::diag::did_you_mean;
use crate::labfile::lab::{Lab, Requires, StepType};
use crate::labfile::model::{LabFile, RequiresDecl};
use serde_saphyr::Spanned;
use std::path::{Path, PathBuf};

/// How many labs deep `requires:` may go (a lab on a lab on a lab…); deeper is surely a mistake.
const MAX_DEPTH: usize = 8;

const CYCLE: &str = "labs require each other";

impl Loader {
    /// Resolve and lint `requires:`; `None` (with diagnostics) when the required lab cannot be
    /// loaded: its variables are then unknown, and undefined variables are not reported (every
    /// inherited one would be).
    pub(super) fn requires(
        &mut self,
        decl: &Spanned<RequiresDecl>,
        lab: &LabFile,
        chain: &mut Vec<PathBuf>,
    ) -> Option<Requires> {
        let r = &decl.value;
        // The folder of labs, as the user wrote the path (error messages show it).
        let folder = match self.dir.parent() {
            Some(p) if !p.as_os_str().is_empty() && self.dir.file_name().is_some() => {
                p.to_path_buf()
            }
            Some(_) if self.dir.file_name().is_some() => PathBuf::new(),
            _ => self.dir.join(".."),
        };
        let dir = folder.join(&r.lab.value);
        let this = self.dir.canonicalize().unwrap_or_else(|_| self.dir.clone());
        if r.lab.value.contains(['/', '\\']) || r.lab.value == ".." || r.lab.value == "." {
            let d = self.at(&r.lab, format!("`{}` is not a lab name", r.lab.value));
            self.diags.push(
                d.underline_token()
                    .help("name a lab in the same folder as this one, e.g. `lab: istio-aks`"),
            );
            self.variables_unknown = true;
            return None;
        }
        if !dir.join(LAB_FILE).is_file() {
            let listed = if folder.as_os_str().is_empty() {
                Path::new(".")
            } else {
                &folder
            };
            let names: Vec<String> = std::fs::read_dir(listed)
                .into_iter()
                .flatten()
                .filter_map(|e| e.ok())
                .filter(|e| e.path().join(LAB_FILE).is_file())
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| this.file_name().is_none_or(|t| t.to_string_lossy() != *n))
                .collect();
            let d = self
                .at(
                    &r.lab,
                    format!("no lab named `{}` beside this one", r.lab.value),
                )
                .underline_token();
            let d = match did_you_mean(&r.lab.value, names.iter().map(String::as_str)) {
                Some(s) => d.label(format!("did you mean `{s}`?")),
                None if names.is_empty() => {
                    d.help("a required lab is a folder next to this lab's folder")
                }
                None => d.help(format!("labs beside this one: {}", names.join(", "))),
            };
            self.diags.push(d);
            self.variables_unknown = true;
            return None;
        }
        let canonical = dir.canonicalize().unwrap_or_else(|_| dir.clone());
        chain.push(this);
        if chain.contains(&canonical) || chain.len() > MAX_DEPTH {
            let mut names: Vec<String> = chain
                .iter()
                .filter_map(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
                .collect();
            names.push(r.lab.value.clone());
            let d = self.at(&r.lab, CYCLE).underline_token();
            self.diags.push(d.help(format!(
                "{} (at most {MAX_DEPTH} labs deep, and never in a circle)",
                names.join(" → ")
            )));
            chain.pop();
            self.variables_unknown = true;
            return None;
        }
        let loaded = load_in_chain(&dir, chain);
        chain.pop();
        let prerequisite = match loaded {
            Ok(lab) => lab,
            Err(diags) => {
                // A circle is best shown where it closes (in the other lab's file).
                if let Some(cycle) = diags.iter().find(|d| d.message == CYCLE) {
                    self.diags.push(cycle.clone());
                    self.variables_unknown = true;
                    return None;
                }
                let d = self.at(
                    &r.lab,
                    format!(
                        "required lab `{}` does not validate ({} problem{})",
                        r.lab.value,
                        diags.len(),
                        if diags.len() == 1 { "" } else { "s" }
                    ),
                );
                self.diags.push(d.underline_token().help(format!(
                    "run `labctl validate {}` and fix it first",
                    r.lab.value
                )));
                self.variables_unknown = true;
                return None;
            }
        };
        let mut ok = true;
        match prerequisite.steps.iter().find(|s| s.id == r.through.value) {
            Some(step) if step.step_type == StepType::Cleanup => {
                let d = self.at(
                    &r.through,
                    format!(
                        "`{}` is the cleanup step of `{}`",
                        r.through.value, r.lab.value
                    ),
                );
                self.diags.push(d.underline_token().help(
                    "name the last step whose result this lab builds on; nothing is left after a cleanup",
                ));
                ok = false;
            }
            Some(_) => {}
            None => {
                let ids = prerequisite
                    .steps
                    .iter()
                    .filter(|s| s.step_type == StepType::Task)
                    .map(|s| s.id.as_str());
                let d = self
                    .at(
                        &r.through,
                        format!("lab `{}` has no step `{}`", r.lab.value, r.through.value),
                    )
                    .underline_token();
                let steps: Vec<&str> = ids.clone().collect();
                let d = match did_you_mean(&r.through.value, ids) {
                    Some(s) => d.label(format!("did you mean `{s}`?")),
                    None => d.help(format!("its steps: {}", steps.join(", "))),
                };
                self.diags.push(d);
                ok = false;
            }
        }
        for profile in lab.profiles.keys() {
            if !prerequisite.profiles.iter().any(|p| &p.name == profile) {
                let theirs: Vec<&str> = prerequisite
                    .profiles
                    .iter()
                    .map(|p| p.name.as_str())
                    .collect();
                let d = self.at_key(
                    profile,
                    format!(
                        "profile `{profile}` does not exist in the required lab `{}`",
                        r.lab.value
                    ),
                );
                self.diags.push(d.help(format!(
                    "a lab runs on the cluster its prerequisite built; `{}` has: {}",
                    r.lab.value,
                    theirs.join(", ")
                )));
                ok = false;
            }
        }
        for name in lab.variables.keys() {
            if prerequisite.variables.iter().any(|v| &v.name == name) {
                let d = self.at_key(
                    name,
                    format!(
                        "variable `{name}` is declared by the required lab `{}`",
                        r.lab.value
                    ),
                );
                self.diags.push(d.help(
                    "required labs lend their variables (same cluster, same values): remove it here",
                ));
                ok = false;
            }
        }
        for (pname, profile) in &lab.profiles {
            for (name, span) in &profile.variables {
                if prerequisite.variables.iter().any(|v| &v.name == name) {
                    let d = self
                        .at(
                            span,
                            format!(
                                "profile `{pname}` sets `{name}`, a variable of the required lab `{}`",
                                r.lab.value
                            ),
                        )
                        .underline_token();
                    self.diags.push(d.help(format!(
                        "its value comes from `{}` (or --var); set it there",
                        r.lab.value
                    )));
                    ok = false;
                }
            }
        }
        // Inherit even when something above is wrong (the load fails anyway): its variables
        // are still known, so the lab's own uses of them are not reported as well.
        let _ = ok;
        Some(Requires {
            lab: Box::new(prerequisite),
            through: r.through.value.clone(),
        })
    }

    /// Make the prerequisite's variables known to the lints (names, sample values), before the
    /// lab's own files are read.
    pub(super) fn inherit(&mut self, from: Option<&Lab>) {
        let Some(lab) = from else { return };
        let mut samples = std::collections::BTreeMap::new();
        for v in &lab.variables {
            self.variables.insert(v.name.clone());
            let value = v
                .default
                .clone()
                .unwrap_or_else(|| format!("sample-{}", v.name.to_lowercase()));
            samples.insert(v.name.clone(), value);
        }
        samples.extend(std::mem::take(&mut self.sample_values));
        if let Ok(resolved) =
            crate::labfile::expand::resolve(&samples, crate::labfile::expand::VALUE_LIMIT)
        {
            samples.extend(resolved);
        }
        self.sample_values = samples;
    }
}
