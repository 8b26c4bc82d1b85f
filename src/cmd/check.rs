//! `labctl check [--wait]` and `labctl solve`: grade the learner's current step against their
//! cluster; on success mark it done and show the next one.

use crate::class::wire::SubmitCommand;
use crate::cli::LearnerArgs;
use crate::error::{EXIT_OK, Error};
use crate::eval::discover::Resolver;
use crate::eval::result::Status;
use crate::grade::run::exit_code;
use crate::grade::session::{Options as SessionOptions, Session as LiveSession};
use crate::learner::state::{Progress, Store, Which, now, step_index};
use crate::plan::resolve::Plan;
use crate::render::terminal::Look;
use crate::report::event::GradeReport;
use crate::report::terminal::terminal_report;
use crate::view::connect::Connection;
use crate::view::runtime::runtime;
use std::io::{BufRead, IsTerminal, Write};
use std::path::PathBuf;
use std::time::Duration;

struct Session {
    store: Store,
    path: std::path::PathBuf,
    progress: Progress,
    plan: Plan,
    /// The lab as started; its values discovered from the cluster are read on every look.
    resolver: Resolver,
    /// The cluster to act on this time: the recorded context and kubeconfig, unless overridden.
    cluster: Cluster,
}

/// Which kubeconfig and context a learner command talks to (and points its commands at).
#[derive(Debug, Clone, Default)]
struct Cluster {
    kubeconfig: Option<PathBuf>,
    context: Option<String>,
}

impl Cluster {
    /// The live-grading session's options for this cluster.
    fn options(&self, probes: bool) -> SessionOptions {
        SessionOptions {
            kubeconfig: self.kubeconfig.clone(),
            context: self.context.clone(),
            probes,
        }
    }
}

/// The learner's lab, and the cluster to use: `--kubeconfig` wins over the one recorded at
/// start; `--context` picks the lab started on that context or, when there is none, uses that
/// context this time for a lab started on kubectl's current context (what the messages saying
/// "pick one with --context" promise).
fn session(which: &LearnerArgs, kubeconfig: Option<PathBuf>) -> Result<Session, Error> {
    let which = &Which::from(which);
    let store = Store::open();
    let (path, progress, context) = match store.load(which) {
        Ok((path, progress)) => {
            let context = progress.context.clone();
            (path, progress, context)
        }
        Err(e) => {
            let Some(asked) = &which.context else {
                return Err(e);
            };
            let on_current = Which {
                lab: which.lab.clone(),
                context: Some("current".into()),
            };
            match store.load(&on_current) {
                Ok((path, progress)) if progress.context.is_none() => {
                    (path, progress, Some(asked.clone()))
                }
                _ => return Err(e),
            }
        }
    };
    let resolver = progress.resolver()?;
    let plan = resolver.base.clone();
    let cluster = Cluster {
        kubeconfig: kubeconfig.or_else(|| progress.kubeconfig.clone()),
        context,
    };
    Ok(Session {
        store,
        path,
        progress,
        plan,
        resolver,
        cluster,
    })
}

/// "context `kind-lab` (https://127.0.0.1:6443)": which cluster, never a credential.
fn cluster_line(conn: &Connection) -> String {
    format!("context `{}` ({})", conn.context_name, conn.server_url)
}

/// A spinner on stderr when it is a terminal; hidden otherwise (logs, pipes, tests).
fn spinner(message: String) -> indicatif::ProgressBar {
    let spinner = indicatif::ProgressBar::new_spinner();
    if std::io::stderr().is_terminal() {
        spinner.enable_steady_tick(Duration::from_millis(120));
    } else {
        spinner.set_draw_target(indicatif::ProgressDrawTarget::hidden());
    }
    spinner.set_message(message);
    spinner
}

/// The first failing check, in one line, for the spinner: "app-pods-injected: 3 of 4 selected satisfy".
fn waiting_for(report: &GradeReport) -> String {
    report
        .steps
        .iter()
        .flat_map(|s| &s.checks)
        .find(|c| c.status != Status::Passed && c.status != Status::Skipped)
        .map(|c| {
            format!(
                "{} — {}",
                c.title,
                c.actual
                    .lines()
                    .next()
                    .unwrap_or(c.message.as_deref().unwrap_or(""))
            )
        })
        .unwrap_or_default()
}

pub fn check(
    wait: Option<Duration>,
    no_probes: bool,
    kubeconfig: Option<PathBuf>,
    which: &LearnerArgs,
    look: Look,
) -> Result<i32, Error> {
    let s = session(which, kubeconfig)?;
    let Some(step) = s.plan.steps.get(s.progress.current).cloned() else {
        println!(
            "You have finished {}. `labctl status` shows your progress; `labctl reset` starts over.",
            s.plan.lab
        );
        return Ok(EXIT_OK);
    };
    let (report, plan) = runtime()?.block_on(async {
        let live = LiveSession::open(&s.cluster.options(!no_probes)).await?;
        grade_on(&live, &s, &step.id, wait).await
    })?;
    let mut s = s;
    s.plan = plan;
    let command = [SubmitCommand::Check, SubmitCommand::CheckWait][wait.is_some() as usize];
    record(s, &step.id, report, command, look)
}

/// Grade the step on the session's cluster (with `wait`, until it passes or the wait ends),
/// its probes cleaned up on Ctrl-C or SIGTERM. Also returns the plan with the values the
/// cluster has now (a revision found), read from the objects just graded, to show the next
/// step with.
async fn grade_on(
    live: &LiveSession,
    s: &Session,
    step_id: &str,
    wait: Option<Duration>,
) -> Result<(GradeReport, Plan), Error> {
    let info = live.info(&s.plan);
    let spinner = spinner(format!("connecting to {}", cluster_line(live.connection())));
    let failing = |r: &GradeReport| spinner.set_message(format!("waiting for {}", waiting_for(r)));
    let graded = live
        .guarded(live.until_passed(&s.resolver, step_id, &info, wait, &failing))
        .await;
    spinner.finish_and_clear();
    let look = graded?;
    Ok((look.report, look.plan))
}

/// Show the report, remember the result, and on success move on to the next step.
fn record(
    mut s: Session,
    step_id: &str,
    report: GradeReport,
    command: SubmitCommand,
    look: Look,
) -> Result<i32, Error> {
    print!(
        "{}",
        terminal_report(&report, look.color, look.width, false)
    );
    let entry = s.progress.steps.entry(step_id.to_owned()).or_default();
    entry.status = Some(report.status);
    entry.checks_run += 1;
    entry.last_checked_at = Some(now());
    let (p, f, _, e) = report.counts();
    entry.summary = Some(if report.status == Status::Passed {
        "passed".into()
    } else {
        format!("{p} of {} checks passed", p + f + e)
    });
    if report.status == Status::Passed {
        entry.done_at = Some(now());
        s.progress.current += 1;
        if let Some(next) = s.plan.steps.get(s.progress.current) {
            s.progress.step_mut(&next.id).first_shown_at = Some(now());
        }
    }
    s.store.save(&s.path, &s.progress)?;
    if report.status == Status::Passed {
        match s.plan.steps.get(s.progress.current) {
            Some(_) => {
                println!("\n✔ Step {} done. Next:\n", s.progress.current);
                print!(
                    "{}",
                    crate::cmd::show::render_step(&s.plan, s.progress.current, look)
                );
            }
            None => println!("\n✔ That was the last step: {} is complete.", s.plan.lab),
        }
    } else if command == SubmitCommand::CheckWait {
        println!(
            "\nStill not passing after waiting. `labctl hint` gives a nudge; `labctl solve` shows the commands."
        );
    } else {
        println!(
            "\nFix what is listed above and run `labctl check` again (`--wait` keeps watching)."
        );
    }
    crate::learner::push::send::after_step(&s.store.dir, &s.plan.lab, step_id, &report, command);
    Ok(exit_code(&report))
}

pub fn solve(
    step_arg: Option<&str>,
    yes: bool,
    kubeconfig: Option<PathBuf>,
    which: &LearnerArgs,
    look: Look,
) -> Result<i32, Error> {
    let mut s = session(which, kubeconfig)?;
    let index = match step_arg {
        None if s.progress.finished(&s.plan) => {
            println!(
                "You have finished {}: there is nothing left to solve. `labctl status` shows your \
                 progress; `labctl solve STEP` shows the commands of one step again.",
                s.plan.lab
            );
            return Ok(EXIT_OK);
        }
        None => s.progress.current,
        Some(a) => step_index(&s.plan, a)?,
    };
    crate::grade::commands::require_bash("`labctl solve`")?;
    // Known before any cluster is asked: there is no one to confirm.
    if !yes && !std::io::stdin().is_terminal() {
        return Err(Error::Usage("refusing to run commands without confirmation: stdin is not a terminal (pass --yes to run them)".into()));
    }
    // Variables with no value are known before any cluster is asked (discovered ones always
    // have the lab's default to fall back on).
    let step = &s.plan.steps[index];
    let blocks: Vec<&str> = step.solve_blocks().map(|b| b.code.as_str()).collect();
    let missing: Vec<&String> = s
        .plan
        .unset
        .iter()
        .filter(|v| blocks.iter().any(|b| b.contains(&format!("<{v}>"))))
        .collect();
    if !missing.is_empty() {
        let flags: Vec<String> = missing
            .iter()
            .flat_map(|m| crate::plan::hint::var_args(m))
            .collect();
        return Err(Error::Usage(format!(
            "the commands of step `{}` need {}; set them, keeping your progress: {}",
            step.id,
            missing
                .iter()
                .map(|m| format!("`{m}`"))
                .collect::<Vec<_>>()
                .join(", "),
            s.progress.start_command(&flags)
        )));
    }
    let runtime = runtime()?;
    // The commands act on the cluster `check` grades, pinned to the context resolved now, with
    // the values discovered there now (a revision installed by an earlier step).
    let live = runtime.block_on(LiveSession::open(&s.cluster.options(true)))?;
    s.plan = runtime.block_on(live.resolve_now(&s.resolver))?;
    for d in &s.plan.discovered {
        println!("{d}");
    }
    let step = &s.plan.steps[index];
    let blocks: Vec<&str> = step.solve_blocks().map(|b| b.code.as_str()).collect();
    let env = live.env();
    let rule = |label: &str| {
        format!(
            "── {label} {}",
            "─".repeat(look.width.saturating_sub(label.len() + 4).max(4))
        )
    };
    println!(
        "Step {}/{} · {} · {}",
        index + 1,
        s.plan.steps.len(),
        step.id,
        step.title
    );
    println!(
        "These commands run with bash against {}:\n",
        cluster_line(live.connection())
    );
    for (i, code) in blocks.iter().enumerate() {
        println!("{}", rule(&format!("command {}/{}", i + 1, blocks.len())));
        print!("{code}");
        println!("{}", "─".repeat(look.width));
    }
    if !yes {
        print!("\nRun them now? [y/N] ");
        let _ = std::io::stdout().flush();
        let mut answer = String::new();
        let _ = std::io::stdin().lock().read_line(&mut answer);
        if !matches!(answer.trim(), "y" | "Y" | "yes") {
            println!("Nothing was run.");
            return Ok(EXIT_OK);
        }
    }
    for (i, code) in blocks.iter().enumerate() {
        println!("{}", rule(&format!("running {}/{}", i + 1, blocks.len())));
        // Output streams straight to the terminal (inherited stdout/stderr).
        let status = env
            .apply(duct::cmd("bash", ["-euo", "pipefail", "-c", code]))
            .unchecked()
            .run()
            .map_err(|e| Error::Internal(format!("cannot run bash: {e}")))?;
        if !status.status.success() {
            return Err(Error::Solve {
                step: step.id.clone(),
                command: i + 1,
                code: status.status.code().unwrap_or(-1),
            });
        }
    }
    println!("{}\n", "─".repeat(look.width));
    if index != s.progress.current {
        println!("Done. Run `labctl check` when you are on that step.");
        return Ok(EXIT_OK);
    }
    // Check the same cluster the commands ran on.
    let step_id = step.id.clone();
    let (report, plan) = runtime.block_on(grade_on(&live, &s, &step_id, None))?;
    s.plan = plan;
    record(s, &step_id, report, SubmitCommand::Solve, look)
}
