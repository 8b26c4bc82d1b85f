//! Loading a lab folder: parse `lab.yaml`, read each step's Markdown, resolve `use:` against the
//! check library, and lint everything. Every problem found is collected (not just the first),
//! each located at `file:line:col`; a `Lab` is returned only when there are none.

use crate::readfile::{self, ReadError};
use crate::spec::diag::{Diagnostic, did_you_mean};
use crate::spec::drift;
use crate::spec::kinds::body::{self, BodyDecl};
use crate::spec::kinds::lint::Lint;
use crate::spec::kinds::resource;
use crate::spec::lab::{self, Body, Check, Diagnosis, Lab, Step};
use crate::spec::markdown::{self, CodeBlock};
use crate::spec::model::{
    CheckDecl, ConditionDecl, DiscoverDecl, LabFile, ResourceDecl, S, StepType,
};
use crate::spec::pattern::{self, Pattern};
use crate::spec::source::Source;
use crate::spec::step_file::{self, Found};
pub use crate::spec::yaml_error::yaml_error;
use crate::spec::{expand, manifest, template};
use serde_saphyr::Spanned;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The file that makes a folder a lab.
pub const LAB_FILE: &str = "lab.yaml";

/// Every lab folder under `paths`: a lab folder itself, a `lab.yaml`, or a folder of labs.
pub fn find_labs(paths: &[PathBuf]) -> Result<Vec<PathBuf>, Box<Diagnostic>> {
    let mut labs = Vec::new();
    for path in paths {
        if path.exists() && !path.is_dir() && path.file_name().is_some_and(|n| n == LAB_FILE) {
            labs.push(path.parent().unwrap_or(Path::new(".")).to_path_buf());
        } else if has_lab_file(path) {
            labs.push(path.clone());
        } else if path.is_dir() {
            let mut found: Vec<PathBuf> = std::fs::read_dir(path)
                .map_err(|e| Box::new(Diagnostic::file(path, format!("cannot read folder: {e}"))))?
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| has_lab_file(p))
                .collect();
            if found.is_empty() {
                return Err(Box::new(Diagnostic::file(
                    path,
                    format!("no lab here: neither `{LAB_FILE}` nor folders containing one"),
                )));
            }
            found.sort();
            labs.extend(found);
        } else {
            return Err(Box::new(Diagnostic::file(path, "no such file or folder")));
        }
    }
    Ok(labs)
}

/// Whether `dir` has a `lab.yaml` of any type: one that is a FIFO or a directory is then
/// reported by [`load`] for what it is, not as "no lab here".
fn has_lab_file(dir: &Path) -> bool {
    dir.join(LAB_FILE).exists()
}

/// Find a lab by name (`istio-aks`) in `labs_dir`, or accept a path to a lab folder.
pub fn locate(name_or_path: &str, labs_dir: &Path) -> Result<PathBuf, Box<Diagnostic>> {
    let as_path = PathBuf::from(name_or_path);
    if has_lab_file(&as_path) {
        return Ok(as_path);
    }
    let candidate = labs_dir.join(name_or_path);
    if has_lab_file(&candidate) {
        return Ok(candidate);
    }
    let names: Vec<String> = find_labs(&[labs_dir.to_path_buf()])
        .unwrap_or_default()
        .iter()
        .filter_map(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
        .collect();
    let mut d = Diagnostic::file(labs_dir, format!("no lab named `{name_or_path}`"));
    d = match did_you_mean(name_or_path, names.iter().map(String::as_str)) {
        Some(s) => d.help(format!("did you mean `{s}`?")),
        None if names.is_empty() => d.help("pass --labs DIR to say where the labs are"),
        None => d.help(format!("labs here: {}", names.join(", "))),
    };
    Err(Box::new(d))
}

/// Why a lab named on the command line cannot be used.
#[derive(Debug)]
pub enum NamedError {
    /// No lab by that name or path (a usage error); the diagnostic names the labs there are.
    NotFound(Box<Diagnostic>),
    /// The lab's files do not load.
    Invalid(Vec<Diagnostic>),
}

/// The lab named `name_or_path` ([`locate`]), loaded and linted ([`load`]).
pub fn load_named(name_or_path: &str, labs_dir: &Path) -> Result<Lab, NamedError> {
    let dir = locate(name_or_path, labs_dir).map_err(NamedError::NotFound)?;
    load(&dir).map_err(NamedError::Invalid)
}

/// Load and lint one lab folder.
pub fn load(dir: &Path) -> Result<Lab, Vec<Diagnostic>> {
    let file = dir.join(LAB_FILE);
    let text = readfile::read_text(&file, readfile::LAB_FILE_LIMIT)
        .map_err(|e| vec![Diagnostic::unreadable(&file, "the lab file", &e)])?;
    let decl: LabFile =
        serde_saphyr::from_str(&text).map_err(|e| vec![yaml_error(&file, &text, &e)])?;
    let mut loader = Loader::new(dir, file, text, &decl);
    let lab = loader.lab(decl);
    if loader.diags.is_empty() {
        Ok(lab)
    } else {
        Err(loader.diags)
    }
}

struct Loader {
    dir: PathBuf,
    /// `lab.yaml`; shared, not copied: every inline check of a step is linted against it.
    src: Source,
    diags: Vec<Diagnostic>,
    variables: BTreeSet<String>,
    /// Values used to make manifests parseable for validation (defaults, else first profile's).
    sample_values: BTreeMap<String, String>,
    profiles: Vec<String>,
    library: Option<PathBuf>,
    /// Library checks already loaded, by id (a check used by two steps is read once).
    library_cache: BTreeMap<String, Option<Check>>,
}

impl Loader {
    fn new(dir: &Path, file: PathBuf, text: String, decl: &LabFile) -> Self {
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
        }
    }

    fn at<T>(&self, span: &Spanned<T>, message: impl Into<String>) -> Diagnostic {
        self.src.at(span, message)
    }

    /// A diagnostic at the line where `key:` is written (for map keys, which carry no span).
    fn at_key(&self, key: &str, message: impl Into<String>) -> Diagnostic {
        let (line, col) = find_key(&self.src.text, key).unwrap_or((1, 1));
        self.src.at_pos(line, col, message).underline_token()
    }

    fn lab(&mut self, decl: LabFile) -> Lab {
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
                        Some(q) => {
                            Diagnostic::at(&file, &text, q.line, q.col, message).width(q.len)
                        }
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

    fn step(
        &mut self,
        decl: &Spanned<crate::spec::model::StepDecl>,
        urls: &[String],
    ) -> Option<Step> {
        let step = &decl.value;
        let md_path = self.dir.join(&step.instructions.value);
        let markdown = match readfile::read_text(&md_path, readfile::LAB_FILE_LIMIT) {
            Ok(md) => md,
            Err(e) if !matches!(e, ReadError::NotFound) => {
                let what = format!("instructions file `{}`", step.instructions.value);
                let d = self.src.unreadable(&step.instructions, &md_path, &what, &e);
                self.diags.push(d);
                String::new()
            }
            Err(_) => {
                let mut d = self
                    .at(
                        &step.instructions,
                        format!("instructions file `{}` not found", step.instructions.value),
                    )
                    .underline_token();
                let siblings = md_path
                    .parent()
                    .and_then(|p| std::fs::read_dir(p).ok())
                    .map(|rd| {
                        rd.filter_map(|e| e.ok())
                            .map(|e| {
                                e.path()
                                    .strip_prefix(&self.dir)
                                    .unwrap_or(&e.path())
                                    .to_string_lossy()
                                    .into_owned()
                            })
                            .collect::<Vec<_>>()
                    });
                if let Some(s) = siblings.and_then(|s| {
                    did_you_mean(&step.instructions.value, s.iter().map(String::as_str))
                }) {
                    d = d.label(format!("did you mean `{s}`?"));
                }
                self.diags.push(d);
                String::new()
            }
        };
        let blocks = markdown::code_blocks(&markdown);
        self.lint_markdown(
            &Source::new(md_path.clone(), markdown.as_str()),
            &blocks,
            urls,
        );
        for profile in self.profiles.clone() {
            if !markdown.is_empty() && !blocks.iter().any(|b| b.solve && b.applies_to(&profile)) {
                let d = self.at(
                    &step.instructions,
                    format!(
                        "step `{}` has no solve commands for profile `{profile}`",
                        step.id.value
                    ),
                );
                let d = d.underline_token().help(format!(
                    "add a code block to {} whose info string is `bash solve` (every profile) or `bash solve profile={profile}`",
                    step.instructions.value
                ));
                self.diags.push(d);
            }
        }

        // The step's own file, when it has one, holds its checks and hints (`spec::step_file`).
        let own = step_file::read(&self.dir, step, &mut self.diags);
        let (src, checks_decl, hints) = match &own {
            Found::Loaded(f) => {
                self.lint_placeholders(&f.src);
                self.diags
                    .extend(step_file::both_places(f, &self.src, decl, step));
                let (src, checks) = match f.decl.checks.is_empty() {
                    true => (&self.src, &step.checks),
                    false => (&f.src, &f.decl.checks),
                };
                let hints = match f.decl.hints.is_empty() {
                    true => &step.hints,
                    false => &f.decl.hints,
                };
                (src.clone(), checks, hints)
            }
            Found::Absent => (self.src.clone(), &step.checks, &step.hints),
            Found::Broken => (self.src.clone(), &Vec::new(), &step.hints),
        };
        if checks_decl.is_empty() && !matches!(own, Found::Broken) {
            let d = self
                .at(&step.id, format!("step `{}` has no checks", step.id.value))
                .underline_token();
            self.diags.push(d.help("every step needs at least one check, or labctl cannot tell the learner whether it is done"));
        }
        let mut checks = Vec::new();
        let mut check_ids: BTreeSet<String> = BTreeSet::new();
        for c in checks_decl {
            let check = match &c.value.use_id {
                Some(use_id) => self.use_check(&src, c, use_id),
                None => self.check(&src.file, &src.text, c, false),
            };
            if let Some(check) = check {
                if !check_ids.insert(check.id.clone()) {
                    let d = src.at(
                        c,
                        format!(
                            "duplicate check id `{}` in step `{}`",
                            check.id, step.id.value
                        ),
                    );
                    self.diags.push(d);
                }
                checks.push(check);
            }
        }
        for profile in self.profiles.clone() {
            if !checks.is_empty() && !checks.iter().any(|c| c.applies_to(&profile)) {
                let d = self
                    .at(
                        &step.id,
                        format!(
                            "step `{}` has no check for profile `{profile}`",
                            step.id.value
                        ),
                    )
                    .underline_token();
                self.diags.push(d);
            }
        }
        Some(Step {
            id: step.id.value.clone(),
            title: step.title.clone(),
            step_type: step.step_type,
            instructions: md_path,
            markdown,
            blocks,
            checks,
            hints: hints.clone(),
        })
    }

    /// A `use:` entry (written in `src`) resolved against the check library.
    fn use_check(&mut self, src: &Source, entry: &Spanned<CheckDecl>, use_id: &S) -> Option<Check> {
        let c = &entry.value;
        if c.id.is_some()
            || c.resource.is_some()
            || c.command.is_some()
            || c.probe.is_some()
            || c.expect.is_some()
            || !c.diagnoses.is_empty()
            || c.skip.is_some()
            || c.title.is_some()
        {
            let d = src.at(use_id, "a `use:` entry takes no other fields; define the check in its library file instead");
            self.diags.push(d);
        }
        if let Some(cached) = self.library_cache.get(&use_id.value) {
            return cached.clone();
        }
        let Some(library) = self.library.clone() else {
            let d = src
                .at(
                    use_id,
                    format!(
                        "`use: {}` needs a check library, but there is none",
                        use_id.value
                    ),
                )
                .underline_token();
            self.diags
                .push(d.help("create `checks/` next to `labs/`, or set `library:` in lab.yaml"));
            return None;
        };
        let path = library.join(format!("{}.yaml", use_id.value));
        let text = match readfile::read_text(&path, readfile::LAB_FILE_LIMIT) {
            Ok(text) => text,
            Err(ReadError::NotFound) => return self.no_library_check(src, use_id, &library),
            Err(e) => {
                let what = format!("library check `{}`", use_id.value);
                let d = src.unreadable(use_id, &path, &what, &e);
                self.diags.push(d);
                self.library_cache.insert(use_id.value.clone(), None);
                return None;
            }
        };
        let check = match serde_saphyr::from_str::<Spanned<CheckDecl>>(&text) {
            Ok(decl) => {
                let lib = Source::new(path.clone(), text.as_str());
                self.lint_placeholders(&lib);
                let check = self.check(&path, &text, &decl, true);
                if let (Some(check), Some(id)) = (&check, &decl.value.id)
                    && check.id != use_id.value
                {
                    let d = lib.at(
                        id,
                        format!(
                            "library check id `{}` does not match its file name `{}.yaml`",
                            check.id, use_id.value
                        ),
                    );
                    self.diags.push(d.underline_token());
                }
                check
            }
            Err(e) => {
                self.diags.push(yaml_error(&path, &text, &e));
                None
            }
        };
        self.library_cache
            .insert(use_id.value.clone(), check.clone());
        check
    }

    /// `use:` names a check the library does not have.
    fn no_library_check(&mut self, src: &Source, use_id: &S, library: &Path) -> Option<Check> {
        let available: Vec<String> = std::fs::read_dir(library)
            .map(|rd| {
                rd.filter_map(|e| e.ok())
                    .filter_map(|e| {
                        e.path()
                            .file_stem()
                            .map(|s| s.to_string_lossy().into_owned())
                    })
                    .collect()
            })
            .unwrap_or_default();
        let mut d = src
            .at(
                use_id,
                format!(
                    "no check `{}` in the library {}",
                    use_id.value,
                    library.display()
                ),
            )
            .underline_token();
        d = d.suggest(&use_id.value, available.iter().map(String::as_str));
        self.diags.push(d);
        self.library_cache.insert(use_id.value.clone(), None);
        None
    }

    /// Convert and lint one check definition found in `file`.
    fn check(
        &mut self,
        file: &Path,
        text: &str,
        entry: &Spanned<CheckDecl>,
        library: bool,
    ) -> Option<Check> {
        let c = &entry.value;
        let here = |msg: String| {
            Diagnostic::at(
                file,
                text,
                entry.referenced.line() as u32,
                entry.referenced.column() as u32,
                msg,
            )
        };
        if library && c.use_id.is_some() {
            self.diags
                .push(here("a library check cannot `use:` another one".into()));
        }
        let Some(id) = &c.id else {
            self.diags.push(
                here("check has no `id`".into())
                    .help("give it an `id:` (lowercase, `-`), or `use:` a library check"),
            );
            return None;
        };
        if !valid_id(&id.value) {
            let d = Diagnostic::at(
                file,
                text,
                id.referenced.line() as u32,
                id.referenced.column() as u32,
                format!(
                    "check id `{}` must be lowercase letters, digits and `-`",
                    id.value
                ),
            );
            self.diags.push(d.underline_token());
        }
        let origin = format!("{}:{}", file.display(), entry.referenced.line());
        let body = self.body(file, text, entry, BodyDecl::from(c))?;
        for p in c.profiles.iter().flatten() {
            if !self.profiles.contains(&p.value) {
                let mut d = Diagnostic::at(
                    file,
                    text,
                    p.referenced.line() as u32,
                    p.referenced.column() as u32,
                    format!("unknown profile `{}`", p.value),
                )
                .underline_token();
                d = d.suggest(&p.value, self.profiles.iter().map(String::as_str));
                self.diags.push(d);
            }
        }
        if let Some(actual) = &c.actual {
            self.lint_cel(file, text, actual);
        }
        let mut diagnoses = Vec::new();
        let mut ids = BTreeSet::new();
        for d in &c.diagnoses {
            let decl = &d.value;
            if !ids.insert(decl.id.value.clone()) {
                let diag = Diagnostic::at(
                    file,
                    text,
                    decl.id.referenced.line() as u32,
                    decl.id.referenced.column() as u32,
                    format!("duplicate diagnosis id `{}`", decl.id.value),
                );
                self.diags.push(diag.underline_token());
            }
            if decl.when.is_empty() {
                let diag = Diagnostic::at(
                    file,
                    text,
                    d.referenced.line() as u32,
                    d.referenced.column() as u32,
                    format!("diagnosis `{}` has no conditions in `when`", decl.id.value),
                );
                self.diags.push(diag);
            }
            let when: Vec<Body> = decl
                .when
                .iter()
                .filter_map(|cond| self.condition(file, text, cond))
                .collect();
            diagnoses.push(Diagnosis {
                id: decl.id.value.clone(),
                when,
                cause: decl.cause.clone(),
                fix: decl.fix.clone(),
            });
        }
        let skip = c.skip.as_ref().map(|s| {
            if s.value.when.is_empty() {
                let d = Diagnostic::at(
                    file,
                    text,
                    s.referenced.line() as u32,
                    s.referenced.column() as u32,
                    "`skip` has no conditions in `when`",
                );
                self.diags.push(d);
            }
            lab::Skip {
                when: s
                    .value
                    .when
                    .iter()
                    .filter_map(|cond| self.condition(file, text, cond))
                    .collect(),
                reason: s.value.reason.clone(),
            }
        });
        Some(Check {
            id: id.value.clone(),
            skip,
            title: c.title.clone().unwrap_or_else(|| id.value.clone()),
            profiles: c
                .profiles
                .as_ref()
                .map(|ps| ps.iter().map(|p| p.value.clone()).collect()),
            body,
            actual: c.actual.as_ref().map(|a| a.value.clone()),
            fix: c.fix.clone(),
            diagnoses,
            origin,
        })
    }

    fn condition(
        &mut self,
        file: &Path,
        text: &str,
        cond: &Spanned<ConditionDecl>,
    ) -> Option<Body> {
        let c = &cond.value;
        self.body(file, text, cond, BodyDecl::from(c))
    }

    /// A check's or condition's body, written at `at` (see `spec::kinds::body`).
    fn body<T>(
        &mut self,
        file: &Path,
        text: &str,
        at: &Spanned<T>,
        decl: BodyDecl,
    ) -> Option<Body> {
        let (line, col) = (at.referenced.line() as u32, at.referenced.column() as u32);
        body::lint(&mut self.kind_lint(file, text), line, col, &decl)
    }

    /// The lint context the check kinds work with, for `file`.
    fn kind_lint<'a>(&'a mut self, file: &'a Path, text: &'a str) -> Lint<'a> {
        Lint {
            file,
            text,
            sample_values: &self.sample_values,
            diags: &mut self.diags,
        }
    }

    fn lint_cel(&mut self, file: &Path, text: &str, cel: &S) {
        self.kind_lint(file, text).cel(cel);
    }

    /// Undefined and unclosed `{{ }}` placeholders anywhere in a file, and a file that grows
    /// past [`expand::TEXT_LIMIT`] once they are substituted (reported where it crosses it).
    fn lint_placeholders(&mut self, src: &Source) {
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
            } else if !self.variables.contains(&p.name) {
                let d = src
                    .at_pos(p.line, p.col, format!("undefined variable `{}`", p.name))
                    .width(p.len);
                let d = self.suggest_variable(d, &p.name);
                self.diags.push(d);
            }
        }
    }

    /// Compile every `pattern:`, and hold defaults and profile values to the value rules
    /// (`spec::pattern`): a lab must not ship a value that `start` would refuse.
    fn lint_variable_values(&mut self, decl: &LabFile) -> BTreeMap<String, Pattern> {
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
    fn lint_variables(&mut self, decl: &LabFile) {
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

    fn suggest_variable(&self, d: Diagnostic, name: &str) -> Diagnostic {
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

    /// Profile markers (`<!-- profile: aks -->` … `<!-- /profile -->`): well formed, naming
    /// the lab's profiles, and no code block in a section that none of its profiles shows.
    fn lint_profile_sections(&mut self, src: &Source, blocks: &[CodeBlock]) {
        let md = &*src.text;
        let (sections, problems) = markdown::profile_sections(md);
        for p in problems {
            let d = src.at_pos(p.line, p.col, p.message);
            self.diags.push(d.width(4).help(p.help));
        }
        for section in &sections {
            let line = md.lines().nth(section.line as usize - 1).unwrap_or("");
            let from = line
                .char_indices()
                .nth(section.col as usize - 1)
                .map_or(line.len(), |(i, _)| i);
            for name in &section.profiles {
                if self.profiles.contains(name) {
                    continue;
                }
                let col = line[from..]
                    .find(name.as_str())
                    .map_or(section.col, |i| line[..from + i].chars().count() as u32 + 1);
                let d = src
                    .at_pos(section.line, col, format!("unknown profile `{name}`"))
                    .width(name.chars().count())
                    .suggest(name, self.profiles.iter().map(String::as_str));
                self.diags
                    .push(d.help(format!("profiles: {}", self.profiles.join(", "))));
            }
        }
        for block in blocks {
            if let (Some(section), Some(own)) = (&block.section, &block.profiles)
                && own.is_empty()
            {
                let d = src.at_pos(
                                        block.fence_line,
                    block.profile_col.unwrap_or(1),
                    format!(
                        "this block's profiles are not among its section's ({}): no profile shows it",
                        section.join(", ")
                    ),
                )
                .underline_token();
                self.diags.push(d.help(
                    "a block inside a profile section applies only to the profiles both name; drop its `profile=` or move it out of the section",
                ));
            }
        }
    }

    fn lint_markdown(&mut self, src: &Source, blocks: &[CodeBlock], urls: &[String]) {
        self.lint_placeholders(src);
        self.lint_profile_sections(src, blocks);
        for block in blocks {
            for (word, col) in &block.unknown_words {
                let mut d = src
                    .at_pos(
                        block.fence_line,
                        *col,
                        format!("unknown code block annotation `{word}`"),
                    )
                    .width(word.len());
                d = match did_you_mean(word, ["solve", "cleanup", "profile"]) {
                    Some(s) => d.label(format!("did you mean `{s}`?")),
                    None => d,
                };
                self.diags.push(d.help(
                    "annotations after the language: `solve`, `cleanup`, `profile=NAME[,NAME]`",
                ));
            }
            for p in block.profiles.iter().flatten() {
                if !self.profiles.contains(p) {
                    let col = block.profile_col.unwrap_or(1);
                    let mut d = src
                        .at_pos(block.fence_line, col, format!("unknown profile `{p}`"))
                        .underline_token();
                    d = d.suggest(p, self.profiles.iter().map(String::as_str));
                    self.diags.push(d);
                }
            }
            let first_code_line = block.fence_line + 1;
            for w in drift::unannotated_writes(block) {
                let d = src.at_pos(
                                        first_code_line + w.line,
                    w.col + 1,
                    "this command changes the cluster, but neither `labctl solve` nor `labctl ci` runs it",
                )
                .width(w.command.split_whitespace().take(2).map(str::len).sum::<usize>() + 1);
                self.diags.push(d.help(
                    "annotate the block `bash solve` (or `bash cleanup`) so that learners, `labctl solve` and CI run the same commands; keep only reading commands (get, describe, logs, exec) in unannotated blocks",
                ));
            }
            let code = template::substitute(&block.code, &self.sample_values).0;
            if block.lang == "yaml" || block.lang == "yml" {
                if manifest::looks_like_manifest(&code) {
                    let origin = manifest::Origin {
                        file: &src.file,
                        file_text: &src.text,
                        first_line: first_code_line,
                    };
                    manifest::validate(&code, &origin, &mut self.diags);
                }
                continue;
            }
            for heredoc in heredocs(&code) {
                if manifest::looks_like_manifest(&heredoc.body) {
                    let origin = manifest::Origin {
                        file: &src.file,
                        file_text: &src.text,
                        first_line: first_code_line + heredoc.first_line,
                    };
                    manifest::validate(&heredoc.body, &origin, &mut self.diags);
                }
            }
            if block.solve || block.cleanup {
                for (i, line) in block.code.lines().enumerate() {
                    for url in remote_manifests(line) {
                        if !urls.iter().any(|u| u == url) {
                            let col = line.find(url).map(|c| c as u32 + 1).unwrap_or(1);
                            let d = src.at_pos(
                                                                first_code_line + i as u32,
                                col,
                                "remote manifest is not declared under `manifests:` in lab.yaml",
                            )
                            .width(url.len());
                            self.diags.push(d.help("declare it with a local stand-in `file:` so labctl can validate it offline"));
                        }
                    }
                }
            }
        }
    }
}

/// A heredoc inside a shell block: its body and the 0-based line (within the block) it starts on.
struct Heredoc {
    body: String,
    first_line: u32,
}

fn heredocs(code: &str) -> Vec<Heredoc> {
    let lines: Vec<&str> = code.lines().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        let Some(pos) = lines[i].find("<<") else {
            i += 1;
            continue;
        };
        let spec = lines[i][pos + 2..].trim_start_matches('-').trim_start();
        let delim: String = spec
            .trim_matches(|c| c == '\'' || c == '"')
            .chars()
            .take_while(|c| c.is_alphanumeric() || *c == '_')
            .collect();
        if delim.is_empty() {
            i += 1;
            continue;
        }
        let start = i + 1;
        let mut end = start;
        while end < lines.len() && lines[end].trim() != delim {
            end += 1;
        }
        out.push(Heredoc {
            body: lines[start..end.min(lines.len())].join("\n"),
            first_line: start as u32,
        });
        i = end + 1;
    }
    out
}

/// URLs given to `kubectl apply|create -f` on one line.
fn remote_manifests(line: &str) -> Vec<&str> {
    if !line.contains("kubectl") {
        return Vec::new();
    }
    let words: Vec<&str> = line.split_whitespace().collect();
    words
        .windows(2)
        .filter(|w| w[0] == "-f" || w[0] == "--filename")
        .map(|w| w[1].trim_matches(|c| c == '"' || c == '\''))
        .filter(|u| u.starts_with("http://") || u.starts_with("https://"))
        .collect()
}

/// Line and column of variable `name`'s `default:` value (else of its key) under the top-level
/// `variables:` of a lab file written in block style.
fn find_variable(text: &str, name: &str) -> Option<(u32, u32)> {
    let lines: Vec<&str> = text.lines().collect();
    let start = lines.iter().position(|l| l.starts_with("variables:"))?;
    let mut key: Option<(usize, usize)> = None;
    for (i, line) in lines.iter().enumerate().skip(start + 1) {
        let trimmed = line.trim_start();
        if trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        let indent = line.len() - trimmed.len();
        match key {
            _ if indent == 0 => break,
            None => {
                if trimmed
                    .strip_prefix(name)
                    .is_some_and(|r| r.starts_with(':'))
                {
                    key = Some((i, indent));
                }
            }
            Some((_, key_indent)) if indent <= key_indent => break,
            Some(_) => {
                if let Some(rest) = trimmed.strip_prefix("default:") {
                    let col = indent + "default:".len() + rest.len() - rest.trim_start().len();
                    return Some((i as u32 + 1, col as u32 + 1));
                }
            }
        }
    }
    key.map(|(i, indent)| (i as u32 + 1, indent as u32 + 1))
}

/// Line and column of the first `key:` in a YAML text.
/// Where the value of `default:` under variable `name` starts (line, column), 1-based.
fn find_default(text: &str, name: &str) -> Option<(u32, u32)> {
    let (key_line, key_col) = find_key(text, name)?;
    text.lines()
        .enumerate()
        .skip(key_line as usize)
        .take_while(|(_, l)| l.len() - l.trim_start().len() >= key_col as usize)
        .find_map(|(i, l)| {
            let t = l.trim_start();
            let rest = t.strip_prefix("default:")?;
            let col = l.len() - rest.trim_start().len() + 1;
            Some((i as u32 + 1, col as u32))
        })
}

fn find_key(text: &str, key: &str) -> Option<(u32, u32)> {
    text.lines().enumerate().find_map(|(i, line)| {
        let trimmed = line.trim_start();
        let rest = trimmed.strip_prefix(key)?;
        rest.starts_with(':')
            .then(|| (i as u32 + 1, (line.len() - trimmed.len()) as u32 + 1))
    })
}

fn valid_id(id: &str) -> bool {
    !id.is_empty()
        && id
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        && !id.starts_with('-')
}

/// `30s`, `2m`, `1m30s`, `1h`.
pub fn parse_duration(s: &str) -> Option<Duration> {
    let s = s.trim();
    if s.is_empty() {
        return None;
    }
    let mut total = 0u64;
    let mut num = String::new();
    for c in s.chars() {
        if c.is_ascii_digit() {
            num.push(c);
        } else {
            let n: u64 = num.parse().ok()?;
            num.clear();
            total += match c {
                's' => n,
                'm' => n * 60,
                'h' => n * 3600,
                _ => return None,
            };
        }
    }
    if !num.is_empty() {
        return None;
    }
    Some(Duration::from_secs(total))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_heredocs_and_their_lines() {
        let code = "kubectl apply -f - <<EOF\napiVersion: v1\nkind: Namespace\nEOF\necho done\ncat > x.yaml <<'END'\na: 1\nEND\n";
        let docs = heredocs(code);
        assert_eq!(docs.len(), 2);
        assert_eq!(docs[0].body, "apiVersion: v1\nkind: Namespace");
        assert_eq!(docs[0].first_line, 1);
        assert_eq!(docs[1].first_line, 6);
    }

    #[test]
    fn finds_remote_manifests() {
        assert_eq!(
            remote_manifests("kubectl apply -n pets -f https://x/y.yaml"),
            vec!["https://x/y.yaml"]
        );
        assert!(remote_manifests("kubectl apply -f local.yaml").is_empty());
    }

    #[test]
    fn parses_durations() {
        assert_eq!(parse_duration("1m30s"), Some(Duration::from_secs(90)));
        assert_eq!(parse_duration("30"), None);
        assert_eq!(parse_duration("5x"), None);
    }
}
