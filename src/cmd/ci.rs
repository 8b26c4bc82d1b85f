//! `labctl ci`: resolve the plan, refuse early what cannot run (unknown `--from`, solve
//! commands that need a variable with no value), point the commands at the cluster labctl
//! grades, replay, and hand the events to the terminal and JUnit reporters.

use crate::ci::exec::CommandEnv;
use crate::ci::junit::CiJunit;
use crate::ci::report::CiReporter;
use crate::ci::run::{CiOptions, run as replay};
use crate::ci::terminal::CiTerminal;
use crate::cli::CiArgs;
use crate::cmd::grade::load_lab;
use crate::error::Error;
use crate::plan::resolve::{Plan, parse_vars};
use crate::probe::exec::Kubectl;
use crate::probe::run::{Prober, interrupted};
use crate::render::terminal::Look;
use crate::spec::lab::StepType;
use crate::view::connect::{Connection, IN_CLUSTER_CONTEXT};
use std::ffi::OsString;
use std::path::{Path, PathBuf};

pub fn run(args: CiArgs, labs_dir: &Path, look: Look) -> Result<i32, Error> {
    let lab = load_lab(&args.lab, labs_dir)?;
    let plan = Plan::new(
        &lab,
        args.plan.profile.as_deref(),
        &parse_vars(&args.plan.vars)?,
    )?;
    if let Some(from) = &args.from
        && plan.step(from)?.step_type == StepType::Cleanup
    {
        return Err(Error::Usage(format!(
            "--from {from}: that is the cleanup step; run the lab without --keep to clean up"
        )));
    }
    refuse_missing_variables(&plan, &args)?;
    let context_file = args.context.as_deref().map(ContextFile::new).transpose()?;
    let opts = CiOptions {
        from: args.from.clone(),
        keep: args.keep,
        step_timeout: args.timeout,
        command_timeout: args.command_timeout,
        env: CommandEnv {
            kubeconfig: kubeconfig_for_commands(args.kubeconfig.as_deref(), context_file.as_ref()),
        },
        stand_ins: args.use_stand_ins,
    };
    let mut terminal = CiTerminal::new(Box::new(crate::output::Stdout), look);
    let mut junit = args.junit.clone().map(|path| CiJunit { path });
    let mut reporters: Vec<&mut dyn CiReporter> = vec![&mut terminal];
    if let Some(j) = junit.as_mut() {
        reporters.push(j);
    }
    let runtime = crate::cmd::grade::runtime()?;
    let report = runtime.block_on(async {
        let conn = Connection::open(args.kubeconfig.as_deref(), args.context.as_deref()).await?;
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
            report = replay(&conn, prober.as_ref(), &lab, &plan, &opts, &mut reporters) => report,
            signal = interrupted() => Err(Error::Interrupted {
                signal,
                left: match &prober {
                    Some(p) => p.clean_up().await,
                    None => Vec::new(),
                },
            }),
        }
    })?;
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

/// A kubeconfig file that only names the current context. Put first in `KUBECONFIG`, it makes
/// kubectl (and anything else that merges kubeconfigs) use `--context` — without copying any
/// cluster or credential: those stay in the user's own files. Removed when dropped.
struct ContextFile {
    path: PathBuf,
}

impl ContextFile {
    fn new(context: &str) -> Result<ContextFile, Error> {
        let path =
            std::env::temp_dir().join(format!("labctl-ci-context-{}.yaml", std::process::id()));
        let body = format!(
            "apiVersion: v1\nkind: Config\ncurrent-context: {}\n",
            serde_json::to_string(context).unwrap_or_default()
        );
        std::fs::write(&path, body).map_err(|source| Error::Write {
            path: path.clone(),
            source,
        })?;
        Ok(ContextFile { path })
    }
}

impl Drop for ContextFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

/// `KUBECONFIG` for the solve commands, or `None` to inherit labctl's own.
fn kubeconfig_for_commands(
    kubeconfig: Option<&Path>,
    context: Option<&ContextFile>,
) -> Option<OsString> {
    let base: Option<OsString> = match kubeconfig {
        Some(k) => Some(std::path::absolute(k).unwrap_or(k.to_path_buf()).into()),
        None if context.is_some() => Some(
            std::env::var_os("KUBECONFIG")
                .filter(|v| !v.is_empty())
                .unwrap_or_else(|| {
                    std::env::home_dir()
                        .unwrap_or_default()
                        .join(".kube/config")
                        .into()
                }),
        ),
        None => None,
    };
    match (context, base) {
        (Some(c), Some(base)) => {
            let mut joined = OsString::from(&c.path);
            joined.push(":");
            joined.push(base);
            Some(joined)
        }
        (_, base) => base,
    }
}
