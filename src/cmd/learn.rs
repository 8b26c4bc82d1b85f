//! `labctl start`, `hint`, `status`, `reset`: learner mode around the state file.
use crate::cli::{LearnerArgs, PlanArgs};
use crate::cmd::show::{missing_vars_note, render_step};
use crate::error::{EXIT_OK, Error};
use crate::eval::result::Status;
use crate::learner::state::{Progress, Store, now, step_index};
use crate::plan::discover::Resolver;
use crate::plan::resolve::{Plan, parse_vars};
use crate::render::terminal::Look;
use console::Style;
use k8s_openapi::jiff::Timestamp;
use std::path::Path;

pub fn start(
    lab: &str,
    plan: &PlanArgs,
    context: Option<String>,
    force: bool,
    labs: &Path,
    look: Look,
) -> Result<i32, Error> {
    let loaded = crate::cmd::grade::load_lab(lab, labs)?;
    let vars = parse_vars(&plan.vars)?;
    let resolver = Resolver::new(&loaded, plan.profile.as_deref(), &vars)?;
    let (resolved, discovery_note) = discover_at_start(&resolver, context.as_deref());
    if resolved.steps.is_empty() {
        return Err(Error::Usage(format!("lab `{}` has no steps", resolved.lab)));
    }
    let store = Store::open();
    let path = store.path_for(&resolved.lab, context.as_deref());
    let existed = path.exists();
    if existed && !force {
        let on = match &context {
            Some(c) => format!("on context `{c}`"),
            None => "on kubectl's current context".to_owned(),
        };
        return Err(Error::Usage(format!(
            "lab `{}` is already started {on} ({}); continue with `labctl check`, see where you \
             are with `labctl status`, or start over: the same `labctl start` with `--force`",
            resolved.lab,
            path.display()
        )));
    }
    let lab_dir = std::fs::canonicalize(&loaded.dir).unwrap_or_else(|_| loaded.dir.clone());
    let progress = Progress::new(&resolved, lab_dir, context, vars);
    store.save(&path, &progress)?;

    let mut out = String::new();
    out.push_str(&look.paint(
        Style::new().bold(),
        &format!(
            "{} {} — {}",
            if existed { "Started over:" } else { "Started" },
            resolved.lab,
            resolved.title
        ),
    ));
    out.push_str(&format!(
        "\nprofile {} · context: {} · {} steps · progress kept in {}\n\n",
        resolved.profile,
        progress.context_label(),
        resolved.steps.len(),
        path.display()
    ));
    for d in &resolved.discovered {
        out.push_str(&format!("{d}\n"));
    }
    if let Some(note) = discovery_note {
        out.push_str(&note);
    }
    if !resolved.discovered.is_empty() {
        out.push('\n');
    }
    let step = render_step(&resolved, 0, look);
    out.push_str(&step);
    if let Some(note) = missing_vars_note(&resolved, &step, look) {
        out.push_str(&note);
    }
    out.push_str(&look.paint(Style::new().bold(), "When done, run `labctl check`."));
    out.push_str(" Stuck? `labctl hint`. Where am I? `labctl status`.\n");
    print!("{out}");
    Ok(EXIT_OK)
}

/// The plan with the values the cluster already has (a revision installed before the lab), or
/// the lab's own values and why, when the cluster cannot be read: starting never needs a cluster.
fn discover_at_start(resolver: &Resolver, context: Option<&str>) -> (Plan, Option<String>) {
    if resolver.queries().is_empty() {
        return (resolver.base.clone(), None);
    }
    let found = crate::cmd::grade::runtime().and_then(|rt| {
        rt.block_on(async {
            let conn = crate::view::connect::Connection::open(None, context).await?;
            crate::grade::live::resolve_now(&conn, resolver).await
        })
    });
    match found {
        Ok(plan) => (plan, None),
        Err(e) => (
            resolver.base.clone(),
            Some(format!(
                "(the lab's own values are shown: {}; `labctl check` reads them from the cluster)\n",
                crate::view::live::chain(&e)
            )),
        ),
    }
}

pub fn hint(which: &LearnerArgs, look: Look) -> Result<i32, Error> {
    let store = Store::open();
    let (path, mut progress) = store.load(which)?;
    let plan = progress.plan()?;
    if progress.finished(&plan) {
        println!(
            "Every step of lab `{}` is done; there is nothing left to hint at.",
            progress.lab
        );
        return Ok(EXIT_OK);
    }
    let step = &plan.steps[progress.current];
    let total = step.hints.len();
    let mut out = look.paint(
        Style::new().bold(),
        &format!(
            "Step {}/{} · {} · {}",
            progress.current + 1,
            plan.steps.len(),
            step.id,
            step.title
        ),
    );
    out.push('\n');
    if total == 0 {
        out.push_str("This step has no hints. `labctl solve` shows the commands that solve it.\n");
        print!("{out}");
        return Ok(EXIT_OK);
    }
    let recorded = progress.step(&step.id).hints_shown;
    let shown_before = recorded.min(total);
    let shown = (shown_before + 1).min(total);
    if recorded != shown {
        progress.step_mut(&step.id).hints_shown = shown;
        store.save(&path, &progress)?;
    }
    for (i, h) in step.hints.iter().take(shown).enumerate() {
        let label = look.paint(Style::new().cyan(), &format!("Hint {}/{total}:", i + 1));
        out.push_str(&format!("{label} {h}\n"));
    }
    if shown_before == total {
        out.push_str(
            "No hints left for this step. `labctl solve` shows the commands that solve it.\n",
        );
    } else if shown == total {
        out.push_str(
            "That was the last hint. Still stuck? `labctl solve` shows the commands that solve it.\n",
        );
    } else {
        out.push_str("`labctl hint` again for the next one.\n");
    }
    print!("{out}");
    Ok(EXIT_OK)
}

pub fn status(which: &LearnerArgs, look: Look) -> Result<i32, Error> {
    let store = Store::open();
    let (path, progress) = store.load(which)?;
    let plan = progress.plan()?;
    let total = plan.steps.len();
    let done =
        |i: usize| i < progress.current || progress.step(&plan.steps[i].id).done_at.is_some();
    let done_count = (0..total).filter(|&i| done(i)).count();

    let mut out = look.paint(
        Style::new().bold(),
        &format!("{} — {}", plan.lab, plan.title),
    );
    let since = seconds_since(&progress.started_at)
        .map(|s| format!("started {} ago", human(s)))
        .unwrap_or_else(|| format!("started {}", progress.started_at));
    out.push_str(&format!(
        "\nprofile {} · context: {} · {since}\n",
        progress.profile,
        progress.context_label()
    ));
    out.push_str(&look.paint(Style::new().dim(), &format!("state: {}", path.display())));
    out.push_str("\n\n");
    out.push_str(&bar(done_count, total, look));
    out.push_str(&format!(" {done_count}/{total} steps done\n\n"));

    let mut previous_done = progress.started_at.clone();
    for (i, s) in plan.steps.iter().enumerate() {
        let sp = progress.step(&s.id);
        let failed = matches!(sp.status, Some(Status::Failed | Status::Error));
        let is_current = i == progress.current;
        let (icon, style, note) = if done(i) {
            let began = sp.first_shown_at.clone().unwrap_or(previous_done.clone());
            let took = sp
                .done_at
                .as_deref()
                .and_then(|d| between(&began, d))
                .map(|secs| format!("done in {}", human(secs)))
                .unwrap_or_else(|| "done".to_owned());
            if let Some(d) = &sp.done_at {
                previous_done = d.clone();
            }
            ("✔", Style::new().green(), took)
        } else if failed {
            let summary = sp.summary.clone().unwrap_or_else(|| "failed".to_owned());
            let when = sp
                .last_checked_at
                .as_deref()
                .and_then(seconds_since)
                .map(|s| format!(" ({} ago)", human(s)))
                .unwrap_or_default();
            let current = if is_current { " ← current step" } else { "" };
            (
                "✘",
                Style::new().red(),
                format!("last check: {summary}{when}{current}"),
            )
        } else if is_current {
            let mut note = "current step".to_owned();
            if sp.hints_shown > 0 {
                note.push_str(&format!(
                    " · {} of {} hints shown",
                    sp.hints_shown.min(s.hints.len()),
                    s.hints.len()
                ));
            }
            ("▶", Style::new().cyan().bold(), note)
        } else {
            ("·", Style::new().dim(), String::new())
        };
        let line = format!(
            "{} {}/{total} {} · {}",
            look.paint(style, icon),
            i + 1,
            s.id,
            s.title
        );
        if note.is_empty() {
            out.push_str(&format!("  {line}\n"));
        } else {
            out.push_str(&format!(
                "  {line} — {}\n",
                look.paint(Style::new().dim(), &note)
            ));
        }
    }
    out.push('\n');
    if progress.finished(&plan) {
        let took = plan
            .steps
            .last()
            .and_then(|s| progress.step(&s.id).done_at)
            .and_then(|d| between(&progress.started_at, &d))
            .map(|s| format!(" in {}", human(s)))
            .unwrap_or_default();
        out.push_str(&format!("Lab finished: all {total} steps done{took}.\n"));
    } else {
        out.push_str(&format!(
            "Next: finish step {} and run `labctl check`; `labctl hint` if stuck.\n",
            progress.current + 1
        ));
    }
    print!("{out}");
    Ok(EXIT_OK)
}

pub fn reset(step: Option<&str>, which: &LearnerArgs) -> Result<i32, Error> {
    let store = Store::open();
    let (path, mut progress) = store.load(which)?;
    let Some(step) = step else {
        store.remove(&path)?;
        println!(
            "Forgot lab `{}` on {} (deleted {}). `labctl start {}` starts it again.",
            progress.lab,
            progress.context_label(),
            path.display(),
            progress.lab
        );
        return Ok(EXIT_OK);
    };
    let plan = progress.plan()?;
    let index = step_index(&plan, step)?;
    for s in &plan.steps[index..] {
        progress.steps.remove(&s.id);
    }
    progress.current = index;
    progress.step_mut(&plan.steps[index].id).first_shown_at = Some(now());
    store.save(&path, &progress)?;
    let total = plan.steps.len();
    let range = if index + 1 == total {
        format!("step {total}")
    } else {
        format!("steps {}–{total}", index + 1)
    };
    println!(
        "Back to step {}/{total} · {} · {} (progress of {range} cleared). \
         Run `labctl check` when it is done.",
        index + 1,
        plan.steps[index].id,
        plan.steps[index].title
    );
    Ok(EXIT_OK)
}

const BAR_WIDTH: usize = 14;

/// `[████████░░░░░░]`, plain characters (colour only when `look.color`).
fn bar(done: usize, total: usize, look: Look) -> String {
    let filled = (done * BAR_WIDTH).checked_div(total).unwrap_or(0);
    let filled = if done > 0 { filled.max(1) } else { filled };
    format!(
        "[{}{}]",
        look.paint(Style::new().green(), &"█".repeat(filled)),
        look.paint(Style::new().dim(), &"░".repeat(BAR_WIDTH - filled))
    )
}

fn between(from: &str, to: &str) -> Option<i64> {
    let a: Timestamp = from.parse().ok()?;
    let b: Timestamp = to.parse().ok()?;
    Some((b.as_second() - a.as_second()).max(0))
}

fn seconds_since(ts: &str) -> Option<i64> {
    between(ts, &Timestamp::now().to_string())
}

/// `45s`, `12m`, `1h05m`, `2d3h`.
fn human(secs: i64) -> String {
    match secs {
        s if s < 60 => format!("{s}s"),
        s if s < 3600 => format!("{}m", s / 60),
        s if s < 86400 => format!("{}h{:02}m", s / 3600, (s % 3600) / 60),
        s => format!("{}d{}h", s / 86400, (s % 86400) / 3600),
    }
}

/// `labctl show` with no lab: the current step of the lab in progress.
pub fn show_current(which: &LearnerArgs, look: Look) -> Result<i32, Error> {
    let store = Store::open();
    let (_, progress) = store.load(which)?;
    let plan = progress.plan()?;
    if progress.current >= plan.steps.len() {
        println!(
            "You have finished {}. `labctl status` shows your progress.",
            plan.lab
        );
        return Ok(EXIT_OK);
    }
    let rendered = crate::cmd::show::render_step(&plan, progress.current, look);
    print!("{rendered}");
    if let Some(note) = crate::cmd::show::missing_vars_note(&plan, &rendered, look) {
        print!("{note}");
    }
    println!("When you are done, run `labctl check` (or `labctl check --wait`).");
    Ok(EXIT_OK)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn learner_bar_and_durations() {
        let plain = Look::plain();
        assert_eq!(bar(0, 7, plain), "[░░░░░░░░░░░░░░]");
        assert_eq!(bar(3, 7, plain), "[██████░░░░░░░░]");
        assert_eq!(bar(7, 7, plain), "[██████████████]");
        assert_eq!(bar(1, 30, plain), "[█░░░░░░░░░░░░░]");
        assert_eq!(human(45), "45s");
        assert_eq!(human(12 * 60 + 5), "12m");
        assert_eq!(human(3900), "1h05m");
        assert_eq!(
            between("2025-01-01T10:00:00Z", "2025-01-01T10:04:30Z"),
            Some(270)
        );
        assert_eq!(between("nonsense", "2025-01-01T10:04:30Z"), None);
    }
}
