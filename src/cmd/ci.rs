//! `labctl ci`: resolve the plan, refuse early what cannot run (unknown `--from`, solve
//! commands that need a variable with no value), point the commands at the cluster labctl
//! grades, replay, and hand the events to the terminal and JUnit reporters (one
//! [`ReporterSet`], as `labctl grade`).

use crate::ci::exec::CommandEnv;
use crate::ci::junit::ci_junit_file;
use crate::ci::run::{CiOptions, run as replay};
use crate::ci::terminal::CiTerminal;
use crate::cli::CiArgs;
use crate::error::Error;
use crate::eval::discover::Resolver;
use crate::plan::resolve::{Plan, parse_vars};
use crate::probe::exec::Kubectl;
use crate::probe::run::Prober;
use crate::render::terminal::Look;
use crate::report::set::ReporterSet;
use crate::signal::interrupted;
use crate::spec::lab::StepType;
use crate::view::connect::{Connection, IN_CLUSTER_CONTEXT};
use std::path::Path;

pub fn run(args: CiArgs, labs_dir: &Path, look: Look) -> Result<i32, Error> {
    crate::grade::commands::require_bash("`labctl ci`")?;
    let lab = crate::spec::load::load_named(&args.lab, labs_dir)?;
    let resolver = Resolver::new(
        &lab,
        args.plan.profile.as_deref(),
        &parse_vars(&args.plan.vars)?,
    )?;
    let plan = &resolver.base;
    if let Some(from) = &args.from
        && plan.step(from)?.step_type == StepType::Cleanup
    {
        return Err(Error::Usage(format!(
            "--from {from}: that is the cleanup step; run the lab without --keep to clean up"
        )));
    }
    refuse_missing_variables(plan, &args)?;
    let mut terminal = CiTerminal::new(Box::new(crate::output::Stdout), look);
    let mut junit = args.junit.clone().map(ci_junit_file);
    let mut reporters = ReporterSet::new();
    reporters.add(&mut terminal);
    if let Some(j) = junit.as_mut() {
        reporters.add(j);
    }
    let runtime = crate::view::runtime()?;
    let report = runtime.block_on(async {
        let conn = Connection::open(args.kubeconfig.as_deref(), args.context.as_deref()).await?;
        // The commands and command checks act on the cluster labctl grades, pinned to the
        // context resolved now (a command that switches kubectl's current context, like
        // `kind create cluster`, cannot move the rest of the run elsewhere).
        let opts = CiOptions {
            from: args.from.clone(),
            keep: args.keep,
            step_timeout: args.timeout,
            command_timeout: args.command_timeout,
            env: pinned_env(args.kubeconfig.as_deref(), &conn)?,
            stand_ins: args.use_stand_ins,
        };
        let prober = (!args.no_probes).then(|| {
            let context = (conn.context_name != IN_CLUSTER_CONTEXT)
                .then(|| conn.context_name.clone())
                .or(args.context.clone());
            let kubectl = Kubectl {
                kubeconfig: args.kubeconfig.clone(),
                context,
            };
            Prober::new(conn.client.clone(), kubectl)
        });
        // Ctrl-C or SIGTERM (a CI job's timeout): delete live probe pods, exit 130 (143). The
        // solve command running then gets the terminal's SIGINT itself.
        tokio::select! {
            report = replay(&conn, prober.as_ref(), &resolver, &opts, &mut reporters) => report,
            signal = interrupted() => Err(Error::Interrupted {
                signal,
                left: match &prober {
                    Some(p) => p.clean_up().await,
                    None => Vec::new(),
                },
            }),
        }
    })?;
    // Each error names the file (or output) that failed.
    reporters.finish()?;
    Ok(report.exit_code())
}

/// The solve commands of the steps that will run must not contain `<name>` placeholders.
fn refuse_missing_variables(plan: &Plan, args: &CiArgs) -> Result<(), Error> {
    let mut started = args.from.is_none();
    let mut missing: Vec<(String, String)> = Vec::new();
    for step in &plan.steps {
        started |= args.from.as_deref() == Some(step.id.as_str());
        let cleanup = step.step_type == StepType::Cleanup;
        if !started || (cleanup && args.keep) {
            continue;
        }
        for block in step.solve_blocks() {
            for v in &plan.unset {
                if block.code.contains(&format!("<{v}>")) && !missing.iter().any(|(m, _)| m == v) {
                    missing.push((v.clone(), step.id.clone()));
                }
            }
        }
    }
    if missing.is_empty() {
        return Ok(());
    }
    let names: Vec<String> = missing
        .iter()
        .map(|(v, step)| format!("`{v}` (step {step})"))
        .collect();
    let flags: Vec<String> = missing
        .iter()
        .map(|(v, _)| format!("--var {v}=…"))
        .collect();
    Err(Error::Usage(format!(
        "the solve commands need {} but it has no value for profile `{}`; pass {}",
        names.join(", "),
        plan.profile,
        flags.join(" ")
    )))
}

/// The environment for commands that must act on the cluster behind `conn`: its kubeconfig
/// and its context (nothing to pin for the in-cluster service account).
pub fn pinned_env(kubeconfig: Option<&Path>, conn: &Connection) -> Result<CommandEnv, Error> {
    let context = (conn.context_name != IN_CLUSTER_CONTEXT).then_some(conn.context_name.as_str());
    CommandEnv::pinned(kubeconfig, context).map_err(|source| Error::Write {
        path: std::env::temp_dir(),
        source,
    })
}
