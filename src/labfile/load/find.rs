//! Finding labs: which folders are labs, a lab by name, and the entry point that loads one.

use super::lab_file::Loader;
use crate::labfile::diag::{Diagnostic, did_you_mean};
use crate::labfile::lab::Lab;
use crate::labfile::model::LabFile;
use crate::labfile::yaml_error::yaml_error;
use crate::readfile;
use std::path::{Path, PathBuf};

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

/// Load and lint one lab folder (and, when it `requires:` another, that one first).
pub fn load(dir: &Path) -> Result<Lab, Vec<Diagnostic>> {
    load_in_chain(dir, &mut Vec::new())
}

/// [`load`], with the labs whose `requires:` led here (to report a cycle instead of recursing).
pub(super) fn load_in_chain(dir: &Path, chain: &mut Vec<PathBuf>) -> Result<Lab, Vec<Diagnostic>> {
    let file = dir.join(LAB_FILE);
    let text = readfile::read_text(&file, readfile::LAB_FILE_LIMIT)
        .map_err(|e| vec![Diagnostic::unreadable(&file, "the lab file", &e)])?;
    let decl: LabFile =
        serde_saphyr::from_str(&text).map_err(|e| vec![yaml_error(&file, &text, &e)])?;
    let mut loader = Loader::new(dir, file, text, &decl);
    let requires = decl
        .requires
        .as_ref()
        .and_then(|r| loader.requires(r, &decl, chain));
    loader.inherit(requires.as_ref().map(|r| &*r.lab));
    let mut lab = loader.lab(decl);
    if let Some(r) = requires {
        lab.variables.extend(r.lab.variables.iter().cloned());
        for profile in &mut lab.profiles {
            if let Some(theirs) = r.lab.profiles.iter().find(|p| p.name == profile.name) {
                profile.variables.extend(theirs.variables.iter().cloned());
            }
        }
        lab.requires = Some(r);
    }
    if loader.diags.is_empty() {
        Ok(lab)
    } else {
        Err(loader.diags)
    }
}
