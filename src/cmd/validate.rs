//! `labctl validate`: lint labs and print every problem, located.

use crate::error::{EXIT_OK, Error};
use crate::spec::diag::Style;
use crate::spec::load;
use std::path::PathBuf;

pub fn run(paths: Vec<PathBuf>, labs_dir: PathBuf, style: Style) -> Result<i32, Error> {
    let paths = if paths.is_empty() {
        vec![labs_dir]
    } else {
        paths
    };
    let dirs = load::find_labs(&paths).map_err(|d| Error::InvalidLab(vec![*d]))?;
    let mut problems = Vec::new();
    for dir in dirs {
        match load::load(&dir) {
            Ok(lab) => {
                let checks: usize = lab.steps.iter().map(|s| s.checks.len()).sum();
                let diagnoses: usize = lab
                    .steps
                    .iter()
                    .flat_map(|s| &s.checks)
                    .map(|c| c.diagnoses.len())
                    .sum();
                println!(
                    "{} {}: {} steps, {} profiles ({}), {checks} checks, {diagnoses} diagnoses",
                    style.ok("ok"),
                    lab.name,
                    lab.steps.len(),
                    lab.profiles.len(),
                    lab.profiles
                        .iter()
                        .map(|p| p.name.as_str())
                        .collect::<Vec<_>>()
                        .join(", "),
                );
            }
            Err(diags) => problems.extend(diags),
        }
    }
    if problems.is_empty() {
        Ok(EXIT_OK)
    } else {
        Err(Error::InvalidLab(problems))
    }
}
