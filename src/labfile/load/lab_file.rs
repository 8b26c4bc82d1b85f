//! The loader and `lab.yaml` itself: the lab-level fields, steps in order, variables'
//! `discover:`, and where the check library is.

use super::text::{find_key, valid_id};
use crate::labfile::diag::Diagnostic;
use crate::labfile::kinds::resource;
use crate::labfile::lab::{self, Check, Lab};
use crate::labfile::model::{DiscoverDecl, LabFile, ResourceDecl, S, StepType};
use crate::labfile::source::Source;
use crate::labfile::step_file;
use crate::labfile::{expand, manifest, template};
use crate::readfile;
use serde_saphyr::Spanned;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

pub(super) struct Loader {
    pub(super) dir: PathBuf,
    /// `lab.yaml`; shared, not copied: every inline check of a step is linted against it.
    pub(super) src: Source,
    pub(super) diags: Vec<Diagnostic>,
    pub(super) variables: BTreeSet<String>,
    /// Values used to make manifests parseable for validation (defaults, else first profile's).
    pub(super) sample_values: BTreeMap<String, String>,
    pub(super) profiles: Vec<String>,
    pub(super) library: Option<PathBuf>,
    /// Library checks already loaded, by id (a check used by two steps is read once).
    pub(super) library_cache: BTreeMap<String, Option<Check>>,
    /// The lab `requires:` one that could not be loaded: which variables exist is not known,
    /// so undefined ones are not reported.
    pub(super) variables_unknown: bool,
}

impl Loader {
    pub(super) fn new(dir: &Path, file: PathBuf, text: String, decl: &LabFile) -> Self {
        let mut sample_values: BTreeMap<String, String> = BTreeMap::new();
        for (name, v) in &decl.variables {
            sample_values.insert(
                name.clone(),
                v.default
                    .clone()
                    .unwrap_or_else(|| format!("sample-{}", name.to_lowercase())),
            );
        }
        // Defaults may refer to other variables. A cycle or a blow-up is reported by
        // `lint_variables`; the samples then stay unexpanded (and small).
        if let Ok(resolved) = expand::resolve(&sample_values, expand::VALUE_LIMIT) {
            sample_values.extend(resolved);
        }
        Loader {
            dir: dir.to_path_buf(),
            src: Source::new(file, text),
            diags: Vec::new(),
            variables: decl.variables.keys().cloned().collect(),
            sample_values,
            profiles: decl.profiles.keys().cloned().collect(),
            library: None,
            library_cache: BTreeMap::new(),
            variables_unknown: false,
        }
    }

    pub(super) fn at<T>(&self, span: &Spanned<T>, message: impl Into<String>) -> Diagnostic {
        self.src.at(span, message)
    }

    /// A diagnostic at the line where `key:` is written (for map keys, which carry no span).
    pub(super) fn at_key(&self, key: &str, message: impl Into<String>) -> Diagnostic {
        let (line, col) = find_key(&self.src.text, key).unwrap_or((1, 1));
        self.src.at_pos(line, col, message).underline_token()
    }

    pub(super) fn lab(&mut self, decl: LabFile) -> Lab {
        let dir_name = self
            .dir
            .canonicalize()
            .ok()
            .and_then(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()));
        if let Some(dir_name) = dir_name
            && decl.name.value != dir_name
        {
            let d = self
                .at(
                    &decl.name,
                    format!(
                        "lab name `{}` does not match its folder `{dir_name}`",
                        decl.name.value
                    ),
                )
                .underline_token();
            self.diags.push(d.help("the folder name is how learners start the lab (`labctl start NAME`); keep them equal"));
        }
        for name in decl.variables.keys() {
            if !template::valid_name(name) {
                let d = self.at_key(name, format!("`{name}` is not a valid variable name"));
                self.diags.push(d.help(
                    "variable names start with a letter and contain letters, digits and `_`",
                ));
            }
        }
        if decl.profiles.is_empty() {
            self.diags.push(self.src.at_pos(
                1,
                1,
                "a lab needs at least one profile (e.g. `aks`, `kind`)",
            ));
        }
        for (pname, profile) in &decl.profiles {
            for vname in profile.variables.keys() {
                if !self.variables.contains(vname) {
                    let d = self.at_key(
                        vname,
                        format!("profile `{pname}` sets undeclared variable `{vname}`"),
                    );
                    let d = self.suggest_variable(d, vname);
                    self.diags.push(d);
                }
            }
        }
        let patterns = self.lint_variable_values(&decl);
        self.lint_placeholders(&self.src.clone());
        self.lint_variables(&decl);
        self.library = self.resolve_library(decl.library.as_ref());

        let mut manifests = Vec::new();
        for m in &decl.manifests {
            let path = self.dir.join(&m.file.value);
            match readfile::read_text(&path, readfile::LAB_FILE_LIMIT) {
                Ok(content) => {
                    let substituted = template::substitute(&content, &self.sample_values).0;
                    let origin = manifest::Origin {
                        file: &path,
                        file_text: &content,
                        first_line: 1,
                    };
                    manifest::validate(&substituted, &origin, &mut self.diags);
                }
                Err(e) => {
                    let what = format!("manifest stand-in `{}`", m.file.value);
                    let d = self.src.unreadable(&m.file, &path, &what, &e);
                    self.diags.push(d);
                }
            }
            manifests.push(lab::Manifest {
                url: m.url.value.clone(),
                file: path,
            });
        }
        let urls: Vec<String> = decl.manifests.iter().map(|m| m.url.value.clone()).collect();

        let mut steps = Vec::new();
        let mut seen_ids: BTreeMap<String, u32> = BTreeMap::new();
        let n_steps = decl.steps.len();
        for (i, step) in decl.steps.iter().enumerate() {
            let id = &step.value.id;
            if !valid_id(&id.value) {
                let d = self
                    .at(
                        id,
                        format!(
                            "step id `{}` must be lowercase letters, digits and `-`",
                            id.value
                        ),
                    )
                    .underline_token();
                self.diags.push(d);
            }
            if let Some(first) = seen_ids.insert(id.value.clone(), id.referenced.line() as u32) {
                let d = self
                    .at(id, format!("duplicate step id `{}`", id.value))
                    .underline_token();
                self.diags
                    .push(d.help(format!("the first step with this id is on line {first}")));
            }
            if step.value.step_type == StepType::Cleanup && i + 1 != n_steps {
                let d = self
                    .at(
                        id,
                        format!("cleanup step `{}` must be the last step", id.value),
                    )
                    .underline_token();
                self.diags.push(d);
            }
            if let Some(s) = self.step(step, &urls) {
                steps.push(s);
            }
        }
        let owned: BTreeSet<PathBuf> = decl
            .steps
            .iter()
            .map(|s| step_file::path_for(&self.dir, &s.value.instructions.value))
            .collect();
        self.diags.extend(step_file::strays(&self.dir, &owned));
        if !decl
            .steps
            .iter()
            .any(|s| s.value.step_type == StepType::Cleanup)
        {
            let (line, col) = find_key(&self.src.text, "steps").unwrap_or((1, 1));
            let d = self
                .src
                .at_pos(
                    line,
                    col,
                    "a lab needs a final cleanup step (`type: cleanup`)",
                )
                .underline_token();
            self.diags.push(d.help(
                "content CI runs it at the end, and learners use it to leave their cluster clean",
            ));
        }
        if decl
            .steps
            .iter()
            .filter(|s| s.value.step_type == StepType::Cleanup)
            .count()
            > 1
        {
            let (line, col) = find_key(&self.src.text, "steps").unwrap_or((1, 1));
            self.diags.push(
                self.src
                    .at_pos(line, col, "a lab has exactly one cleanup step")
                    .underline_token(),
            );
        }

        let discovered: BTreeSet<String> = decl
            .variables
            .iter()
            .filter(|(_, v)| v.discover.is_some())
            .map(|(n, _)| n.clone())
            .collect();
        let mut variables = Vec::new();
        for (name, v) in &decl.variables {
            let discover = v
                .discover
                .as_ref()
                .map(|d| self.discover(name, d, &discovered));
            variables.push(lab::Variable {
                name: name.clone(),
                default: v.default.clone(),
                description: v.description.clone(),
                discover,
                pattern: patterns.get(name).cloned(),
            });
        }

        Lab {
            name: decl.name.value.clone(),
            title: decl.title.clone(),
            summary: decl.summary.clone(),
            duration: decl.duration.clone(),
            dir: self.dir.clone(),
            requires: None,
            variables,
            profiles: decl
                .profiles
                .iter()
                .map(|(name, p)| lab::Profile {
                    name: name.clone(),
                    title: p.title.clone(),
                    description: p.description.clone(),
                    variables: p
                        .variables
                        .iter()
                        .map(|(k, v)| (k.clone(), v.value.clone()))
                        .collect(),
                })
                .collect(),
            manifests,
            steps,
        }
    }

    /// A variable's `discover:`: its selections are linted like a check's, its expressions must
    /// compile, and it may use only variables with fixed values (a discovery cannot wait for
    /// another one, nor for itself).
    fn discover(
        &mut self,
        name: &str,
        decl: &Spanned<DiscoverDecl>,
        discovered: &BTreeSet<String>,
    ) -> lab::Discover {
        let (file, text) = (self.src.file.clone(), self.src.text.clone());
        let d = &decl.value;
        let read = |this: &mut Self, r: &ResourceDecl, value: &S| {
            if r.kind.value.eq_ignore_ascii_case("Secret") {
                let diag = this.at(
                    &r.kind,
                    "labctl never reads Secrets; discover the value from another kind",
                );
                this.diags.push(diag.underline_token());
            }
            this.lint_cel(&file, &text, value);
            let used = [
                Some(&r.api_version.value),
                Some(&r.kind.value),
                r.namespace.as_ref(),
                r.name.as_ref(),
                r.labels.as_ref().map(|l| &l.value),
                Some(&value.value),
            ];
            for p in used
                .into_iter()
                .flatten()
                .flat_map(|t| template::placeholders(t))
            {
                if discovered.contains(&p.name) {
                    let message = format!(
                        "the discovery of `{name}` uses `{{{{ {} }}}}`, which is discovered too",
                        p.name
                    );
                    // Point at the placeholder itself: the first one of that name in the discovery.
                    let at = template::placeholders(&text)
                        .into_iter()
                        .find(|q| q.name == p.name && q.line >= decl.referenced.line() as u32);
                    let diag = match at {
                        Some(q) => this.src.at_pos(q.line, q.col, message).width(q.len),
                        None => this.at(decl, message),
                    };
                    this.diags.push(diag.help(
                        "a discovery may use only variables with fixed values (defaults, profile values, --var)",
                    ));
                }
            }
            (
                resource::lint::selector(&mut this.kind_lint(&file, &text), r),
                value.value.clone(),
            )
        };
        let (selector, value) = read(self, &d.resource, &d.value);
        let prefer = d
            .prefer
            .as_ref()
            .map(|p| read(self, &p.value.resource, &p.value.value));
        lab::Discover {
            selector,
            value,
            prefer,
        }
    }

    fn resolve_library(&mut self, library: Option<&S>) -> Option<PathBuf> {
        match library {
            Some(lib) => {
                let path = self.dir.join(&lib.value);
                if path.is_dir() {
                    Some(path)
                } else {
                    let d = self
                        .at(
                            lib,
                            format!("check library `{}` is not a folder", lib.value),
                        )
                        .underline_token();
                    self.diags.push(d);
                    None
                }
            }
            None => Some(self.dir.join("../../checks")).filter(|p| p.is_dir()),
        }
    }
}
