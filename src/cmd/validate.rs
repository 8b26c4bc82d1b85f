//! `labctl validate`: lint labs and print every problem, located.

use crate::error::{EXIT_OK, Error};
use crate::labfile::diag::Diagnostic;
use crate::labfile::diag::Style;
use crate::labfile::lab::Lab;
use crate::labfile::load;
use crate::plan::resolve::Plan;
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
                if let Some(d) = plan_problem(&lab) {
                    problems.push(d);
                    continue;
                }
                let checks: usize = lab.steps.iter().map(|s| s.checks.len()).sum();
                let diagnoses: usize = lab
                    .steps
                    .iter()
                    .flat_map(|s| &s.checks)
                    .map(|c| c.diagnoses.len())
                    .sum();
                let requires = lab
                    .requires
                    .as_ref()
                    .map(|r| format!(", requires {} through {}", r.lab.name, r.through))
                    .unwrap_or_default();
                println!(
                    "{} {}: {} steps, {} profiles ({}), {checks} checks, {diagnoses} diagnoses{requires}",
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

/// What the loader cannot see: resolving the lab for each profile, as `show` and `grade` will
/// (e.g. a library check pasted into many steps that grows past the plan's size limit).
fn plan_problem(lab: &Lab) -> Option<Diagnostic> {
    lab.profiles.iter().find_map(|p| {
        let e = Plan::new(lab, Some(&p.name), &[]).err()?;
        let file = lab.dir.join(load::LAB_FILE);
        Some(Diagnostic::file(
            &file,
            format!("profile `{}`: {e}", p.name),
        ))
    })
}
