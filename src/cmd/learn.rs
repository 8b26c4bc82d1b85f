//! `labctl start`, `hint`, `status`, `reset`: learner mode around the state file.
use crate::cli::{LearnerArgs, PlanArgs};
use crate::cmd::show::render_step;
use crate::error::{EXIT_OK, Error};
use crate::eval::discover::Resolver;
use crate::eval::result::Status;
use crate::labfile::pattern::shown;
use crate::learner::state::{Progress, Store, Which, now, step_index};
use crate::plan::resolve::{Plan, parse_vars};
use crate::render::terminal::Look;
use console::Style;
use k8s_openapi::jiff::Timestamp;
use std::path::{Path, PathBuf};

/// How `labctl start` was asked to start (see `cli::Command::Start`).
#[derive(Debug, Clone, Default)]
pub struct StartArgs {
    pub context: Option<String>,
    pub kubeconfig: Option<PathBuf>,
    pub force: bool,
    pub move_progress: bool,
    /// Do not grade the lab this one `requires:` first.
    pub skip_prerequisite: bool,
}

pub fn start(
    lab: &str,
    plan: &PlanArgs,
    how: StartArgs,
    labs: &Path,
    look: Look,
) -> Result<i32, Error> {
    let loaded = crate::labfile::load::load_named(lab, labs)?;
    let given = parse_vars(&plan.vars)?;
    let store = Store::open();
    let path = store.path_for(&loaded.name, how.context.as_deref());
    if how.move_progress && path.exists() {
        return Err(Error::Usage(format!(
            "lab `{}` is already started on {}; `--move` brings progress to a context where it is not started yet",
            loaded.name,
            how.context
                .as_deref()
                .map_or("kubectl's current context".to_owned(), |c| format!(
                    "context `{c}`"
                ))
        )));
    }
    let existing = match (path.exists(), how.force) {
        (true, false) => Some(store.read(&path)?),
        _ => None,
    };
    if let Some(old) = existing {
        return update(&store, &path, old, &loaded, plan, given, how);
    }
    let moved = match how.move_progress {
        true => Some(progress_to_move(
            &store,
            &loaded.name,
            how.context.as_deref(),
        )?),
        false => None,
    };
    let vars = match &moved {
        Some((_, old)) => merge_vars(&old.vars, given),
        None => given,
    };
    let profile = plan
        .profile
        .clone()
        .or_else(|| moved.as_ref().map(|(_, old)| old.profile.clone()));
    let resolver = Resolver::new(&loaded, profile.as_deref(), &vars)?;
    let (resolved, discovery_note) =
        discover_at_start(&resolver, how.kubeconfig.as_deref(), how.context.as_deref());
    if resolved.steps.is_empty() {
        return Err(Error::Usage(format!("lab `{}` has no steps", resolved.lab)));
    }
    let prerequisite = match (&loaded.requires, how.skip_prerequisite) {
        (None, _) => None,
        (Some(r), true) => Some(format!(
            "Not checked (--skip-prerequisite): this lab starts where {} ends at step `{}`.\n",
            r.lab.name, r.through
        )),
        (Some(_), false) => match crate::cmd::prerequisite::check(&resolver, &how, &vars)? {
            crate::cmd::prerequisite::Outcome::Done(line) => Some(line),
            crate::cmd::prerequisite::Outcome::Missing(text) => {
                print!("{text}");
                return Ok(crate::error::EXIT_FAILED);
            }
        },
    };
    let lab_dir = std::fs::canonicalize(&loaded.dir).unwrap_or_else(|_| loaded.dir.clone());
    let existed = path.exists();
    let mut progress = Progress::new(&resolved, lab_dir, how.context.clone(), vars);
    progress.kubeconfig = how.kubeconfig.as_deref().map(absolute);
    if let Some((old_path, old)) = &moved {
        progress.current = old.current.min(resolved.steps.len());
        progress.started_at = old.started_at.clone();
        progress.steps = old.steps.clone();
        progress.kubeconfig = progress.kubeconfig.or(old.kubeconfig.clone());
        store.save(&path, &progress)?;
        store.remove(old_path)?;
        println!(
            "Moved {} from {} to {} (progress kept: {}/{} steps done).",
            progress.lab,
            old.context_label(),
            progress.context_label(),
            progress.current,
            resolved.steps.len()
        );
        return Ok(EXIT_OK);
    }
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
    if let Some(line) = prerequisite {
        out.push_str(&line);
    }
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
    if let Some(note) = learner_vars_note(&progress, &resolved, &step, look) {
        out.push_str(&note);
    }
    out.push_str(&look.paint(Style::new().bold(), "When done, run `labctl check`."));
    out.push_str(" Stuck? `labctl hint`. Where am I? `labctl status`.\n");
    print!("{out}");
    Ok(EXIT_OK)
}

/// The plan with the values the cluster already has (a revision installed before the lab), or
/// the lab's own values and why, when the cluster cannot be read: starting never needs a cluster.
fn discover_at_start(
    resolver: &Resolver,
    kubeconfig: Option<&Path>,
    context: Option<&str>,
) -> (Plan, Option<String>) {
    if resolver.queries().is_empty() {
        return (resolver.base.clone(), None);
    }
    let found = crate::view::runtime::runtime()
        .map_err(Error::from)
        .and_then(|rt| {
            rt.block_on(async {
                let opts = crate::grade::session::Options {
                    kubeconfig: kubeconfig.map(Path::to_path_buf),
                    context: context.map(str::to_owned),
                    probes: false,
                };
                let session = crate::grade::session::Session::open(&opts).await?;
                session.resolve_now(resolver).await
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

/// `start` on a lab already started on that context: change what was given, keep progress.
fn update(
    store: &Store,
    path: &Path,
    mut progress: Progress,
    loaded: &crate::labfile::lab::Lab,
    plan: &PlanArgs,
    given: Vec<(String, String)>,
    how: StartArgs,
) -> Result<i32, Error> {
    let mut changes: Vec<String> = Vec::new();
    for (k, v) in &given {
        let old = progress.vars.iter().find(|(n, _)| n == k).map(|(_, v)| v);
        if old != Some(v) {
            let was = old.map(|o| shown(o)).unwrap_or_else(|| "unset".into());
            changes.push(format!("{k}: {was} → {}", shown(v)));
        }
    }
    let profile = plan.profile.clone().unwrap_or(progress.profile.clone());
    if profile != progress.profile {
        changes.push(format!("profile: {} → {profile}", progress.profile));
    }
    let kubeconfig = how.kubeconfig.as_deref().map(absolute);
    if kubeconfig.is_some() && kubeconfig != progress.kubeconfig {
        changes.push(format!(
            "kubeconfig: {}",
            kubeconfig.as_deref().unwrap_or(Path::new("")).display()
        ));
    }
    if changes.is_empty() {
        return Err(Error::Usage(format!(
            "lab `{}` is already started on {} ({}); continue with `labctl check`, see where you \
             are with `labctl status`; change a variable, keeping your progress, with `{}`; or \
             start over with `{}`",
            progress.lab,
            progress.context_label(),
            path.display(),
            progress.start_command(&["--var".into(), "NAME=VALUE".into()]),
            progress.start_command(&["--force".into()]),
        )));
    }
    let vars = merge_vars(&progress.vars, given);
    let resolved = Plan::new(loaded, Some(&profile), &vars)?;
    progress.vars = vars;
    progress.profile = resolved.profile.clone();
    progress.kubeconfig = kubeconfig.or(progress.kubeconfig);
    progress.current = progress.current.min(resolved.steps.len());
    store.save(path, &progress)?;
    println!(
        "Updated {} on {}: {}. Progress kept: {}/{} steps done.",
        progress.lab,
        progress.context_label(),
        changes.join(", "),
        progress.current,
        resolved.steps.len()
    );
    Ok(EXIT_OK)
}

/// `old` with `given` values replacing or added.
pub fn merge_vars(old: &[(String, String)], given: Vec<(String, String)>) -> Vec<(String, String)> {
    let mut vars: Vec<(String, String)> = old
        .iter()
        .filter(|(k, _)| !given.iter().any(|(g, _)| g == k))
        .cloned()
        .collect();
    vars.extend(given);
    vars
}

/// For `start --move`: the most recent state of `lab` on another context than `to`.
fn progress_to_move(
    store: &Store,
    lab: &str,
    to: Option<&str>,
) -> Result<(PathBuf, Progress), Error> {
    let target = store.path_for(lab, to);
    let which = Which {
        lab: Some(lab.to_owned()),
        context: None,
    };
    let (path, old) = store.load(&which)?;
    if path == target {
        return Err(Error::Usage(format!(
            "lab `{lab}` is started on {} only; `--move` takes it to another context: pass that one with --context",
            old.context_label()
        )));
    }
    Ok((path, old))
}

fn absolute(p: &Path) -> PathBuf {
    std::path::absolute(p).unwrap_or_else(|_| p.to_path_buf())
}

/// The note under a learner's rendered step that still shows `<variable>` placeholders: the
/// `labctl start` (same lab and context, progress kept) that fills them in.
pub fn learner_vars_note(
    progress: &Progress,
    plan: &Plan,
    rendered: &str,
    look: Look,
) -> Option<String> {
    let needed = crate::cmd::show::placeholders_shown(plan, rendered);
    if needed.is_empty() {
        return None;
    }
    let flags: Vec<String> = needed
        .iter()
        .flat_map(|v| crate::plan::hint::var_args(v))
        .collect();
    Some(look.paint(
        Style::new().yellow(),
        &format!(
            "note: <{}> has no value yet; set it, keeping your progress: {}\n",
            needed.join(">, <"),
            progress.start_command(&flags)
        ),
    ))
}

pub fn hint(which: &LearnerArgs, look: Look) -> Result<i32, Error> {
    let store = Store::open();
    let (path, mut progress) = store.load(&which.into())?;
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
    let (path, progress) = store.load(&which.into())?;
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
    if let Some(line) = crate::learner::push::send::status_line(&store.dir) {
        out.push_str(&format!("\n{line}"));
    }
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
    let (path, mut progress) = store.load(&which.into())?;
    let Some(step) = step else {
        store.remove(&path)?;
        println!(
            "Forgot lab `{}` on {} (deleted {}). `{}` starts it again.",
            progress.lab,
            progress.context_label(),
            path.display(),
            progress.start_command(&["--profile".into(), progress.profile.clone()])
        );
        return Ok(EXIT_OK);
    };
    let plan = progress.plan()?;
    let index = step_index(&plan, step)?;
    let total = plan.steps.len();
    if index > progress.current {
        // Going "back" to a step not reached yet would record the steps before it as done.
        let here = plan
            .steps
            .get(progress.current)
            .map(|s| s.id.as_str())
            .unwrap_or("");
        return Err(Error::Usage(format!(
            "step {}/{total} `{}` is not reached yet: you are on step {}/{total} `{here}`; \
             reset goes back to a step you have reached (1 to {}); `labctl solve {}` shows \
             the commands of a later step",
            index + 1,
            plan.steps[index].id,
            progress.current + 1,
            progress.current + 1,
            plan.steps[index].id,
        )));
    }
    for s in &plan.steps[index..] {
        progress.steps.remove(&s.id);
    }
    progress.current = index;
    progress.step_mut(&plan.steps[index].id).first_shown_at = Some(now());
    store.save(&path, &progress)?;
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
    let (_, progress) = store.load(&which.into())?;
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
    if let Some(note) = learner_vars_note(&progress, &plan, &rendered, look) {
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
