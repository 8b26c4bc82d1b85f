//! A step's own file: `steps/NN-name.yaml` beside `steps/NN-name.md` holds that step's checks
//! and hints, so an author editing one step reads only its checks. `lab.yaml` keeps the
//! metadata, variables, profiles and the step order; a step written the old way, with its
//! checks inline in `lab.yaml`, still loads. Each field lives in one place: set in both is an
//! error, and a `steps/*.yaml` that no step owns is one too (it would be silently ignored).

use crate::labfile::diag::{Diagnostic, did_you_mean};
use crate::labfile::model::{CheckDecl, StepDecl};
use crate::labfile::source::Source;
use crate::labfile::yaml_error::yaml_error;
use crate::readfile::{self, ReadError};
use serde::Deserialize;
use serde_saphyr::Spanned;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// The folder whose `*.yaml` files must each belong to a step.
pub const STEPS_DIR: &str = "steps";

/// The contents of a step file: what a step entry in `lab.yaml` may hold besides its id,
/// title, type and instructions.
#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct StepFileDecl {
    #[serde(default)]
    pub checks: Vec<Spanned<CheckDecl>>,
    #[serde(default)]
    pub hints: Vec<String>,
}

/// A step file as read and parsed.
pub struct StepFile {
    pub src: Source,
    pub decl: StepFileDecl,
}

/// What a step has beside its Markdown.
pub enum Found {
    /// No step file: the step is written inline in `lab.yaml`.
    Absent,
    Loaded(StepFile),
    /// The file is there but cannot be used; the problem is already reported.
    Broken,
}

/// The step file of a step whose instructions are `instructions` (relative to the lab
/// folder): the same path with `.yaml` for the extension.
pub fn path_for(dir: &Path, instructions: &str) -> PathBuf {
    dir.join(instructions).with_extension("yaml")
}

/// Read and parse the step file of `step`, if it has one; problems go to `diags`.
pub fn read(dir: &Path, step: &StepDecl, diags: &mut Vec<Diagnostic>) -> Found {
    let path = path_for(dir, &step.instructions.value);
    let text = match readfile::read_text(&path, readfile::LAB_FILE_LIMIT) {
        Ok(text) => text,
        Err(ReadError::NotFound) => return Found::Absent,
        Err(e) => {
            diags.push(Diagnostic::unreadable(&path, "the step file", &e));
            return Found::Broken;
        }
    };
    match serde_saphyr::from_str::<StepFileDecl>(&text) {
        Ok(decl) => Found::Loaded(StepFile {
            src: Source::new(path, text),
            decl,
        }),
        Err(e) => {
            diags.push(yaml_error(&path, &text, &e));
            Found::Broken
        }
    }
}

/// `checks` and `hints` each set both in the step file and in the step's entry in
/// `lab.yaml`: an error at the step file per field, naming the place in `lab.yaml` too.
pub fn both_places(
    file: &StepFile,
    lab: &Source,
    entry: &Spanned<StepDecl>,
    step: &StepDecl,
) -> Vec<Diagnostic> {
    let both = [
        (
            "checks",
            !step.checks.is_empty() && !file.decl.checks.is_empty(),
        ),
        (
            "hints",
            !step.hints.is_empty() && !file.decl.hints.is_empty(),
        ),
    ];
    let (sl, sc) = (
        entry.referenced.line() as u32,
        entry.referenced.column() as u32,
    );
    both.into_iter()
        .filter(|(_, both)| *both)
        .map(|(key, _)| {
            let top = format!("{key}:");
            let (line, col) = file
                .src
                .text
                .lines()
                .position(|l| l.starts_with(&top))
                .map_or((1, 1), |i| (i as u32 + 1, 1));
            let (il, ic) = lab.key_in_block(sl, sc, key).unwrap_or((sl, sc));
            file.src
                .at_pos(
                    line,
                    col,
                    format!("step `{}` has `{key}` in two places", step.id.value),
                )
                .underline_token()
                .help(format!(
                    "`{key}` is also set in lab.yaml, at {}:{il}:{ic}; keep them in one place (this file), and delete them from lab.yaml",
                    lab.file.display()
                ))
        })
        .collect()
}

/// Every `*.yaml` in the lab's `steps/` folder that belongs to no step (`owned` are the step
/// files the steps name): an error at its first line, suggesting the step file it may be.
pub fn strays(dir: &Path, owned: &BTreeSet<PathBuf>) -> Vec<Diagnostic> {
    let Ok(entries) = std::fs::read_dir(dir.join(STEPS_DIR)) else {
        return Vec::new();
    };
    let mut found: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "yaml" || x == "yml"))
        .filter(|p| !owned.contains(p))
        .collect();
    found.sort();
    let names: Vec<String> = owned
        .iter()
        .filter(|p| !p.exists())
        .filter_map(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
        .collect();
    found
        .into_iter()
        .map(|path| {
            let name = path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            let message = format!("step file `{STEPS_DIR}/{name}` belongs to no step");
            let d = match readfile::read_text(&path, readfile::LAB_FILE_LIMIT) {
                Ok(text) => Source::new(path.clone(), text)
                    .at_pos(1, 1, message)
                    .underline_rest(),
                Err(_) => Diagnostic::file(&path, message),
            };
            let d = match did_you_mean(&name, names.iter().map(String::as_str)) {
                Some(s) => d.label(format!("did you mean `{STEPS_DIR}/{s}`?")),
                None => d,
            };
            d.help("a step's checks go in the file named like its instructions, ending in `.yaml` (`steps/01-x.md` -> `steps/01-x.yaml`); rename it, or delete it")
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_step_file_is_named_like_its_instructions() {
        assert_eq!(
            path_for(Path::new("lab"), "steps/01-onboard.md"),
            Path::new("lab/steps/01-onboard.yaml")
        );
    }

    #[test]
    fn a_yaml_in_steps_that_no_step_owns_is_a_stray_with_a_suggestion() {
        let dir = tempfile::tempdir().unwrap();
        let steps = dir.path().join(STEPS_DIR);
        std::fs::create_dir_all(&steps).unwrap();
        std::fs::write(steps.join("01-onbaord.yaml"), "checks: []\n").unwrap();
        std::fs::write(steps.join("02-cleanup.yaml"), "checks: []\n").unwrap();
        std::fs::write(steps.join("notes.txt"), "not a step file\n").unwrap();
        let owned: BTreeSet<PathBuf> = ["steps/01-onboard.md", "steps/02-cleanup.md"]
            .iter()
            .map(|md| path_for(dir.path(), md))
            .collect();
        let found = strays(dir.path(), &owned);
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(found[0].line, 1);
        assert!(found[0].file.ends_with("steps/01-onbaord.yaml"));
        assert_eq!(
            found[0].label.as_deref(),
            Some("did you mean `steps/01-onboard.yaml`?")
        );
    }
}
