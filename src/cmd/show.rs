//! `labctl show LAB [STEP]`: a lab's instructions for one profile, in the terminal.

use crate::bundle::LabSource;
use crate::cli::PlanArgs;
use crate::cmd::learn::merge_vars;
use crate::error::{EXIT_OK, Error};
use crate::labfile::lab::Lab;
use crate::labfile::lab::StepType;
use crate::learner::state::{Store, Which, step_index};
use crate::plan::resolve::{Plan, PlannedStep, parse_vars};
use crate::render::terminal::{self, Look, wrap};
use crate::render::text::plain_text;
use console::Style;

pub fn run(
    lab: &str,
    step: Option<&str>,
    args: &PlanArgs,
    source: &LabSource,
    look: Look,
) -> Result<i32, Error> {
    let (plan, step) = match crate::labfile::load::load_named(lab, &source.dir).map_err(Error::from)
    {
        Ok(loaded) => match learner_plan(&loaded, args)? {
            Some(plan) => (plan, step),
            None => (
                Plan::new(&loaded, args.profile.as_deref(), &parse_vars(&args.vars)?)?,
                step,
            ),
        },
        // `labctl show ingress`, as fix texts say it: a step of the lab the learner started.
        Err(not_a_lab) if step.is_none() => match started_step(lab, args)? {
            Some(plan) => (plan, Some(lab)),
            None => return Err(not_a_lab),
        },
        Err(e) => return Err(e),
    };
    let total = plan.steps.len();
    let chosen: Vec<(usize, &PlannedStep)> = match step {
        Some(s) => {
            let by_number = s
                .parse::<usize>()
                .ok()
                .filter(|n| (1..=total).contains(n))
                .map(|n| n - 1);
            let index = match by_number {
                Some(i) => i,
                None => {
                    let found = plan.step(s)?;
                    plan.steps
                        .iter()
                        .position(|p| p.id == found.id)
                        .unwrap_or(0)
                }
            };
            vec![(index, &plan.steps[index])]
        }
        None => plan.steps.iter().enumerate().collect(),
    };
    let paint = |style: Style, s: &str| look.paint(style, s);
    let mut out = String::new();
    if step.is_none() {
        out.push_str(&paint(
            Style::new().bold(),
            &format!("{} — {}", plan.lab, plain_text(&plan.title)),
        ));
        out.push_str(&format!("\nprofile: {} · {} steps\n", plan.profile, total));
        if let Some((lab, through)) = &plan.requires {
            out.push_str(&format!(
                "requires: {lab}, done through step `{through}` (labctl start checks it)\n"
            ));
        }
        out.push('\n');
    }
    for (i, _) in chosen {
        out.push_str(&render_step(&plan, i, look));
    }
    if let Some(note) = missing_vars_note(&plan, &out, look) {
        out.push_str(&note);
    }
    print!("{out}");
    // On stderr, so the instructions on stdout stay as they were (and pipe cleanly); not after
    // a reader closed the pipe (`labctl show … | head`), which ends quietly.
    if !crate::output::closed() {
        eprintln!("({source})");
    }
    Ok(EXIT_OK)
}

/// The lab as the learner who started it sees it (their profile and variables, `--var` on
/// top), unless `--profile` asks for another one. `None` when this lab was not started.
fn learner_plan(lab: &Lab, args: &PlanArgs) -> Result<Option<Plan>, Error> {
    if args.profile.is_some() {
        return Ok(None);
    }
    let which = Which {
        lab: Some(lab.name.clone()),
        context: None,
    };
    let progress = match Store::open().load(&which) {
        Ok((_, p)) => p,
        Err(Error::Usage(_)) => return Ok(None),
        Err(e) => return Err(e),
    };
    let vars = merge_vars(&progress.vars, parse_vars(&args.vars)?);
    Ok(Some(Plan::new(lab, Some(&progress.profile), &vars)?))
}

/// The learner's started lab, when `which` names one of its steps (id or number).
fn started_step(which: &str, args: &PlanArgs) -> Result<Option<Plan>, Error> {
    let progress = match Store::open().load(&Which::default()) {
        Ok((_, p)) => p,
        Err(Error::Usage(_)) => return Ok(None),
        Err(e) => return Err(e),
    };
    let lab = crate::labfile::load::load(&progress.lab_dir).map_err(Error::InvalidLab)?;
    let Some(plan) = learner_plan(&lab, args)? else {
        return Ok(None);
    };
    Ok(step_index(&plan, which).is_ok().then_some(plan))
}

/// One step as `labctl show` prints it: the header bar, the instructions, what `labctl check`
/// looks at, and a blank line. `index` is 0-based.
pub fn render_step(plan: &Plan, index: usize, look: Look) -> String {
    let total = plan.steps.len();
    let s = &plan.steps[index];
    let mut out = String::new();
    let kind = if s.step_type == StepType::Cleanup {
        " (cleanup)"
    } else {
        ""
    };
    let header = format!(
        "Step {}/{total} · {}{kind} · {}",
        index + 1,
        s.id,
        plain_text(&s.title)
    );
    // The bar and the profile tag wrap like prose: nothing runs past the terminal's edge.
    let tag = format!("[profile {}]", plan.profile);
    let lines = wrap(&header, look.width.saturating_sub(2).max(20));
    let last = lines.len() - 1;
    for (i, line) in lines.iter().enumerate() {
        out.push_str(&look.paint(Style::new().bold().reverse(), &format!(" {line} ")));
        let used = console::measure_text_width(line) + 2;
        match i == last {
            true if used + 3 + tag.len() <= look.width => out.push_str(&format!("   {tag}")),
            true => out.push_str(&format!("\n{tag}")),
            false => {}
        }
        out.push('\n');
    }
    out.push('\n');
    out.push_str(&terminal::markdown(&s.markdown, &plan.profile, look));
    if !s.checks.is_empty() {
        out.push_str(&look.paint(Style::new().bold(), "\nWhat `labctl check` looks at:\n"));
        for c in &s.checks {
            for (i, line) in wrap(
                &plain_text(&c.check.title),
                look.width.saturating_sub(4).max(20),
            )
            .iter()
            .enumerate()
            {
                out.push_str(&format!("  {} {line}\n", if i == 0 { "☐" } else { " " }));
            }
        }
    }
    out.push('\n');
    out
}

/// The note under rendered steps that still show `<variable>` placeholders: which `--var`s fill
/// them in. None when `rendered` needs none.
pub fn missing_vars_note(plan: &Plan, rendered: &str, look: Look) -> Option<String> {
    let needed = placeholders_shown(plan, rendered);
    if needed.is_empty() {
        return None;
    }
    let note = format!(
        "note: <{}> has no value yet; pass {} to fill it in",
        needed
            .iter()
            .map(|s| s.as_str())
            .collect::<Vec<_>>()
            .join(">, <"),
        crate::plan::hint::var_flags(needed.iter().map(String::as_str))
    );
    let lines: Vec<String> = wrap(&note, look.width)
        .iter()
        .map(|l| look.paint(Style::new().yellow(), l) + "\n")
        .collect();
    Some(lines.concat())
}

/// The unset variables whose `<name>` placeholder shows in `rendered`.
pub fn placeholders_shown(plan: &Plan, rendered: &str) -> Vec<String> {
    plan.unset
        .iter()
        .filter(|v| rendered.contains(&format!("<{v}>")))
        .cloned()
        .collect()
}
