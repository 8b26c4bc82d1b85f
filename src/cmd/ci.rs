//! `labctl ci`: resolve the plan, refuse early what cannot run (unknown `--from`, solve
//! commands that need a variable with no value), point the commands at the cluster labctl
//! grades, replay, and hand the events to the terminal and JUnit reporters (one
//! [`ReporterSet`], as `labctl grade`).

use crate::ci::junit::ci_junit_file;
use crate::ci::run::{CiOptions, run as replay};
use crate::ci::terminal::CiTerminal;
use crate::cli::CiArgs;
use crate::error::Error;
use crate::eval::discover::Resolver;
use crate::grade::session::{Options, Session};
use crate::labfile::lab::StepType;
use crate::plan::resolve::{Plan, parse_vars};
use crate::render::terminal::Look;
use crate::report::set::ReporterSet;
use std::path::Path;

pub fn run(args: CiArgs, labs_dir: &Path, look: Look) -> Result<i32, Error> {
    crate::grade::commands::require_bash("`labctl ci`")?;
    let lab = crate::labfile::load::load_named(&args.lab, labs_dir)?;
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
    let opts = Options {
        kubeconfig: args.kubeconfig.clone(),
        context: args.context.clone(),
        probes: !args.no_probes,
    };
    let report = crate::view::runtime::runtime()?.block_on(async {
        // The commands and command checks act on the cluster labctl grades (the session's one
        // context rule).
        let session = Session::open(&opts).await?;
        let opts = CiOptions {
            from: args.from.clone(),
            keep: args.keep,
            step_timeout: args.timeout,
            command_timeout: args.command_timeout,
            stand_ins: args.use_stand_ins,
        };
        // Ctrl-C or SIGTERM (a CI job's timeout): delete live probe pods, exit 130 (143). The
        // solve command running then gets the terminal's SIGINT itself.
        session
            .guarded(replay(&session, &resolver, &opts, &mut reporters))
            .await
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
    Err(Error::Usage(format!(
        "the solve commands need {} but it has no value for profile `{}`; pass {}",
        names.join(", "),
        plan.profile,
        crate::plan::hint::var_flags(missing.iter().map(|(v, _)| v.as_str()))
    )))
}
