//! One step: its Markdown, its own file (checks and hints beside the Markdown), and its checks
//! in order.

use super::lab_file::Loader;
use crate::labfile::diag::did_you_mean;
use crate::labfile::lab::Step;
use crate::labfile::markdown;
use crate::labfile::source::Source;
use crate::labfile::step_file::{self, Found};
use crate::readfile::{self, ReadError};
use serde_saphyr::Spanned;
use std::collections::BTreeSet;

impl Loader {
    pub(super) fn step(
        &mut self,
        decl: &Spanned<crate::labfile::model::StepDecl>,
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

        // The step's own file, when it has one, holds its checks and hints (`labfile::step_file`).
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
                None => self.check(&src, c, false),
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
}
