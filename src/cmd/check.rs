//! `labctl check [--wait]` and `labctl solve`: grade the learner's current step against their
//! cluster; on success mark it done and show the next one.

use crate::cli::LearnerArgs;
use crate::cmd::grade::runtime;
use crate::error::{EXIT_OK, Error};
use crate::eval::result::Status;
use crate::grade::live::{grade_step, resolve_now};
use crate::grade::run::exit_code;
use crate::learner::state::{Progress, Store, now, step_index};
use crate::plan::discover::Resolver;
use crate::plan::resolve::Plan;
use crate::probe::exec::Kubectl;
use crate::probe::run::{Prober, interrupted};
use crate::render::terminal::Look;
use crate::report::event::{GradeReport, RunInfo};
use crate::report::terminal::terminal_report;
use crate::view::connect::{Connection, IN_CLUSTER_CONTEXT};
use crate::view::objects::ObjectSet;
use crate::view::query::queries;
use crate::view::snapshot::now_rfc3339;
use std::io::{BufRead, IsTerminal, Write};
use std::time::Duration;

struct Session {
    store: Store,
    path: std::path::PathBuf,
    progress: Progress,
    /// The lab as started; its values discovered from the cluster are read on every look.
    resolver: Resolver,
    plan: Plan,
}

fn session(which: &LearnerArgs) -> Result<Session, Error> {
    let store = Store::open();
    let (path, progress) = store.load(which)?;
    let resolver = progress.resolver()?;
    let plan = resolver.base.clone();
    Ok(Session {
        store,
        path,
        progress,
        resolver,
        plan,
    })
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
    which: &LearnerArgs,
    look: Look,
) -> Result<i32, Error> {
    let s = session(which)?;
    let Some(step) = s.plan.steps.get(s.progress.current).cloned() else {
        println!(
            "You have finished {}. `labctl status` shows your progress; `labctl reset` starts over.",
            s.plan.lab
        );
        return Ok(EXIT_OK);
    };
    let info = RunInfo {
        lab: s.plan.lab.clone(),
        title: s.plan.title.clone(),
        profile: s.plan.profile.clone(),
        revision: s.plan.values.get("revision").cloned(),
        context: s.progress.context.clone(),
        snapshot: None,
        learner: None,
        started_at: now_rfc3339(),
        warnings: Vec::new(),
        discovered: Vec::new(),
    };
    let context = s.progress.context.clone();
    let resolver = &s.resolver;
    let report = runtime()?.block_on(async {
        let conn = Connection::open(None, context.as_deref()).await?;
        let prober = (!no_probes).then(|| {
            let context =
                (conn.context_name != IN_CLUSTER_CONTEXT).then(|| conn.context_name.clone());
            Prober::new(
                conn.client.clone(),
                Kubectl {
                    kubeconfig: None,
                    context,
                },
            )
        });
        let prober = prober.as_ref();
        // Ctrl-C or SIGTERM (while a probe pod lives, or while waiting): delete live probe
        // pods, exit 130 (143).
        let checked = async {
            let (report, objects) =
                check_or_wait(&conn, prober, resolver, &step.id, &info, wait, look).await?;
            // The next step is shown with the values the cluster has now (a revision found),
            // read from the objects just graded: no second request.
            Ok((report, resolver.resolve(&objects).ok()))
        };
        tokio::select! {
            report = checked => report,
            signal = interrupted() => Err(Error::Interrupted {
                signal,
                left: match prober {
                    Some(p) => p.clean_up().await,
                    None => Vec::new(),
                },
            }),
        }
    })?;
    let (report, plan) = report;
    let mut s = s;
    if let Some(plan) = plan {
        s.plan = plan;
    }
    record(s, &step.id, report, wait.is_some(), look)
}

/// The learner's plan with the values discovered from their cluster now (what `solve` runs).
fn discovered_plan(s: &Session) -> Result<Plan, Error> {
    if s.resolver.queries().is_empty() {
        return Ok(s.plan.clone());
    }
    let context = s.progress.context.clone();
    runtime()?.block_on(async {
        let conn = Connection::open(None, context.as_deref()).await?;
        resolve_now(&conn, &s.resolver).await
    })
}

/// Grade the step once; with `wait`, keep re-grading on every change until it passes.
async fn check_or_wait(
    conn: &Connection,
    prober: Option<&Prober>,
    resolver: &Resolver,
    step_id: &str,
    info: &RunInfo,
    wait: Option<Duration>,
    look: Look,
) -> Result<(GradeReport, ObjectSet), Error> {
    let first = grade_step(conn, prober, resolver, step_id, info).await?;
    let Some(timeout) = wait.filter(|_| first.0.status != Status::Passed) else {
        return Ok(first);
    };
    let spinner = indicatif::ProgressBar::new_spinner();
    if std::io::stderr().is_terminal() && look.color {
        spinner.enable_steady_tick(Duration::from_millis(120));
    } else {
        spinner.set_draw_target(indicatif::ProgressDrawTarget::hidden());
    }
    spinner.set_message(format!("waiting for {}", waiting_for(&first.0)));
    // The latest failing report, shown if time runs out.
    let last = std::sync::Mutex::new(first);
    // A new istiod (a revision discovered) must re-grade as much as a changed check object.
    let mut watched = queries(&resolver.base, Some(step_id));
    watched.extend(resolver.queries());
    let passed = crate::grade::wait::until(&conn.client, &watched, timeout, || {
        let (spinner, last) = (&spinner, &last);
        async move {
            match grade_step(conn, prober, resolver, step_id, info).await {
                Ok(r) if r.0.status == Status::Passed => Some(r),
                Ok(r) => {
                    spinner.set_message(format!("waiting for {}", waiting_for(&r.0)));
                    if let Ok(mut l) = last.lock() {
                        *l = r;
                    }
                    None
                }
                Err(_) => None, // a passing blip of the network is not the learner's answer
            }
        }
    })
    .await;
    spinner.finish_and_clear();
    match passed {
        Some(p) => Ok(p),
        None => last
            .into_inner()
            .map_err(|_| Error::Usage("internal error: poisoned lock".into())),
    }
}

/// Show the report, remember the result, and on success move on to the next step.
fn record(
    mut s: Session,
    step_id: &str,
    report: GradeReport,
    waited: bool,
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
    } else if waited {
        println!(
            "\nStill not passing after waiting. `labctl hint` gives a nudge; `labctl solve` shows the commands."
        );
    } else {
        println!(
            "\nFix what is listed above and run `labctl check` again (`--wait` keeps watching)."
        );
    }
    Ok(exit_code(&report))
}

pub fn solve(
    step_arg: Option<&str>,
    yes: bool,
    which: &LearnerArgs,
    look: Look,
) -> Result<i32, Error> {
    let mut s = session(which)?;
    s.plan = discovered_plan(&s)?;
    for d in &s.plan.discovered {
        println!("{d}");
    }
    let index = match step_arg {
        None => s.progress.current.min(s.plan.steps.len().saturating_sub(1)),
        Some(a) => step_index(&s.plan, a)?,
    };
    let step = &s.plan.steps[index];
    let blocks: Vec<&str> = step.solve_blocks().map(|b| b.code.as_str()).collect();
    let missing: Vec<&String> = s
        .plan
        .unset
        .iter()
        .filter(|v| blocks.iter().any(|b| b.contains(&format!("<{v}>"))))
        .collect();
    if !missing.is_empty() {
        let flags: Vec<String> = missing.iter().map(|m| format!("--var {m}=…")).collect();
        return Err(Error::Usage(format!(
            "the commands of step `{}` need {}; start the lab again with them: labctl start {} --force --profile {} {}",
            step.id,
            missing
                .iter()
                .map(|m| format!("`{m}`"))
                .collect::<Vec<_>>()
                .join(", "),
            s.plan.lab,
            s.plan.profile,
            flags.join(" ")
        )));
    }
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
    println!("These commands run with bash against your current kubectl context:\n");
    for (i, code) in blocks.iter().enumerate() {
        println!("{}", rule(&format!("command {}/{}", i + 1, blocks.len())));
        print!("{code}");
        println!("{}", "─".repeat(look.width));
    }
    if !yes {
        if !std::io::stdin().is_terminal() {
            return Err(Error::Usage("refusing to run commands without confirmation: stdin is not a terminal (pass --yes to run them)".into()));
        }
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
        let status = duct::cmd("bash", ["-euo", "pipefail", "-c", code])
            .unchecked()
            .run()
            .map_err(|e| Error::Usage(format!("cannot run bash: {e}")))?;
        if !status.status.success() {
            return Err(Error::Solve {
                step: step.id.clone(),
                command: i + 1,
                code: status.status.code().unwrap_or(-1),
            });
        }
    }
    println!("{}\n", "─".repeat(look.width));
    if index == s.progress.current {
        check(None, false, which, look)
    } else {
        println!("Done. Run `labctl check` when you are on that step.");
        Ok(EXIT_OK)
    }
}
