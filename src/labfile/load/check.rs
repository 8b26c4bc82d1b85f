//! One check: a `use:` resolved against the check library, or a definition with its
//! conditions, each body linted by its check kind (`labfile::kinds`).

use super::lab_file::Loader;
use super::text::valid_id;
use crate::labfile::kinds::body::{self, BodyDecl};
use crate::labfile::kinds::lint::Lint;
use crate::labfile::lab::{self, Body, Check, Diagnosis};
use crate::labfile::model::{CheckDecl, ConditionDecl, S};
use crate::labfile::source::Source;
use crate::labfile::yaml_error::yaml_error;
use crate::readfile::{self, ReadError};
use serde_saphyr::Spanned;
use std::collections::BTreeSet;
use std::path::Path;

impl Loader {
    /// A `use:` entry (written in `src`) resolved against the check library.
    pub(super) fn use_check(
        &mut self,
        src: &Source,
        entry: &Spanned<CheckDecl>,
        use_id: &S,
    ) -> Option<Check> {
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
                let check = self.check(&lib, &decl, true);
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

    /// Convert and lint one check definition found in `src`.
    pub(super) fn check(
        &mut self,
        src: &Source,
        entry: &Spanned<CheckDecl>,
        library: bool,
    ) -> Option<Check> {
        let (file, text) = (src.file.as_path(), &*src.text);
        let c = &entry.value;
        let here = |msg: String| src.at(entry, msg);
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
            let d = src.at(
                id,
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
                let mut d = src
                    .at(p, format!("unknown profile `{}`", p.value))
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
                let diag = src.at(
                    &decl.id,
                    format!("duplicate diagnosis id `{}`", decl.id.value),
                );
                self.diags.push(diag.underline_token());
            }
            if decl.when.is_empty() {
                let diag = src.at(
                    d,
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
                let d = src.at(s, "`skip` has no conditions in `when`");
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

    /// A check's or condition's body, written at `at` (see `labfile::kinds::body`).
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
    pub(super) fn kind_lint<'a>(&'a mut self, file: &'a Path, text: &'a str) -> Lint<'a> {
        Lint {
            file,
            text,
            sample_values: &self.sample_values,
            diags: &mut self.diags,
        }
    }

    pub(super) fn lint_cel(&mut self, file: &Path, text: &str, cel: &S) {
        self.kind_lint(file, text).cel(cel);
    }
}
