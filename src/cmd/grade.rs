//! `labctl grade` and `labctl snapshot`: resolve the plan, gather facts (live or from a
//! snapshot), grade, and hand events to the reporters chosen on the command line.

pub use crate::cli::GradeArgs;
use crate::cli::{ClusterArgs, Output, PlanArgs};
use crate::error::Error;
use crate::eval::discover::Resolver;
use crate::eval::facts::PROBES_DISABLED;
use crate::eval::facts::{Facts, StaticFacts};
use crate::grade::commands::LiveFacts;
use crate::grade::live::fetch_resolved;
use crate::grade::run::{exit_code, grade};
use crate::plan::resolve::{Plan, parse_vars};
use crate::probe::exec::Kubectl;
use crate::probe::run::{Prober, planned};
use crate::report::event::RunInfo;
use crate::report::json::{json_file, json_report};
use crate::report::junit::junit_file;
use crate::report::set::ReporterSet;
use crate::report::terminal::TerminalReporter;
use crate::spec::lab::StepType;
use crate::spec::load;
use crate::view::connect::{Connection, IN_CLUSTER_CONTEXT};
use crate::view::live::FetchOptions;
use crate::view::objects::ObjectSet;
use crate::view::runtime;
use crate::view::snapshot::{Snapshot, now_rfc3339, read_snapshot, write_snapshot};
use std::path::Path;

pub fn run(args: GradeArgs, labs_dir: &Path, color: bool, width: usize) -> Result<i32, Error> {
    let lab = load::load_named(&args.lab, labs_dir)?;
    let mut overrides = parse_vars(&args.plan.vars)?;
    let mut profile = args.plan.profile.clone();
    let snapshot = match &args.snapshot {
        Some(path) => {
            let snap = read_snapshot(path)?;
            if snap.lab != lab.name {
                return Err(Error::Usage(format!(
                    "{} is a snapshot of lab `{}`, not `{}`",
                    path.display(),
                    snap.lab,
                    lab.name
                )));
            }
            match &profile {
                Some(p) if *p != snap.profile => {
                    return Err(Error::Usage(format!(
                        "{} was captured for profile `{}`, not `{p}`",
                        path.display(),
                        snap.profile
                    )));
                }
                _ => profile = Some(snap.profile.clone()),
            }
            // The snapshot's variables name the objects it holds; `--var` still wins.
            let mut vars: Vec<(String, String)> = snap
                .variables
                .iter()
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect();
            vars.extend(overrides);
            overrides = vars;
            Some(snap)
        }
        None => None,
    };
    let resolver = Resolver::new(&lab, profile.as_deref(), &overrides)?;
    if let Some(id) = &args.step {
        resolver.base.step(id)?;
    }
    // The final cleanup contradicts every other step's end state; grade it only on request.
    let shape = |plan: &mut Plan| {
        if args.step.is_none() {
            plan.steps.retain(|s| s.step_type != StepType::Cleanup);
        }
    };
    let info = RunInfo {
        lab: lab.name.clone(),
        title: lab.title.clone(),
        profile: resolver.base.profile.clone(),
        revision: None,
        context: None,
        snapshot: None,
        learner: args.learner.clone(),
        started_at: now_rfc3339(),
        warnings: Vec::new(),
        discovered: Vec::new(),
    };
    let (plan, info, facts): (Plan, RunInfo, Box<dyn Facts>) = match snapshot {
        Some(snap) => {
            // The values the snapshot was graded with are its own; so is where they came from.
            let mut plan = resolver.base.clone();
            shape(&mut plan);
            let given: Vec<String> = parse_vars(&args.plan.vars)?
                .into_iter()
                .map(|(k, _)| k)
                .collect();
            plan.discovered = snap.discovered.clone();
            plan.discovered.retain(|d| !given.contains(&d.variable));
            let mut info = info.resolved(&plan);
            info.snapshot = args.snapshot.as_ref().map(|p| p.display().to_string());
            info.context = snap.context.clone();
            let facts =
                StaticFacts::offline(snap.to_object_set(), "not run when grading a snapshot");
            (plan, info, Box::new(facts))
        }
        None => {
            let runtime = runtime()?;
            let (conn, plan, objects) = fetch_live(
                &runtime,
                &resolver,
                args.step.as_deref(),
                &args.cluster,
                &shape,
            )?;
            let mut info = info.resolved(&plan);
            let mut facts = LiveFacts::new(objects);
            // Command checks act on the cluster graded, not on kubectl's current context.
            facts.env = crate::cmd::ci::pinned_env(args.cluster.kubeconfig.as_deref(), &conn)?;
            if args.no_probes {
                facts.probes_skipped = Some(PROBES_DISABLED.into());
            } else {
                let kubectl = Kubectl {
                    kubeconfig: args.cluster.kubeconfig.clone(),
                    context: args.cluster.context.clone(),
                };
                info.warnings = run_probes(
                    &runtime,
                    &conn,
                    kubectl,
                    &plan,
                    args.step.as_deref(),
                    &mut facts,
                )?;
            }
            info.context = Some(conn.context_name);
            (plan, info, Box::new(facts))
        }
    };

    let mut terminal = (args.output == Output::Text).then(|| {
        TerminalReporter::new(Box::new(crate::output::Stdout), color, width, args.verbose)
    });
    let mut junit = args.junit.clone().map(junit_file);
    let mut json = args.json.clone().map(json_file);
    let mut reporters = ReporterSet::new();
    if let Some(t) = terminal.as_mut() {
        reporters.add(t);
    }
    for file in [junit.as_mut(), json.as_mut()].into_iter().flatten() {
        reporters.add(file);
    }
    let report = grade(
        &plan,
        args.step.as_deref(),
        facts.as_ref(),
        info,
        &mut reporters,
    );
    // Each error names the file (or output) that failed.
    reporters.finish()?;
    if args.output == Output::Json {
        println!("{}", json_report(&report));
    }
    Ok(exit_code(&report))
}

/// Run the plan's probes (all at once) into `facts`; returns the probe pods it could not
/// delete. Ctrl-C meanwhile deletes the live probe pods and ends the grade (exit 130).
pub fn run_probes(
    runtime: &tokio::runtime::Runtime,
    conn: &Connection,
    mut kubectl: Kubectl,
    plan: &Plan,
    step: Option<&str>,
    facts: &mut LiveFacts,
) -> Result<Vec<String>, Error> {
    let probes = planned(plan, step, facts);
    if probes.is_empty() {
        return Ok(Vec::new());
    }
    // kubectl (the exec fallback) must use the very context labctl resolved.
    if conn.context_name != IN_CLUSTER_CONTEXT {
        kubectl.context = Some(conn.context_name.clone());
    }
    let prober = Prober::new(conn.client.clone(), kubectl);
    let ran = runtime.block_on(prober.run_all_or_interrupt(&probes, &facts.objects));
    facts.probes = ran.map_err(|(signal, left)| Error::Interrupted { signal, left })?;
    Ok(prober.live.left_behind())
}

/// Connect, read the discovered variables and fetch what the plan made with them needs (see
/// [`fetch_resolved`]); a cluster that answers nothing at all is an error.
fn fetch_live(
    runtime: &tokio::runtime::Runtime,
    resolver: &Resolver,
    step: Option<&str>,
    cluster: &ClusterArgs,
    shape: &dyn Fn(&mut Plan),
) -> Result<(Connection, Plan, ObjectSet), Error> {
    runtime.block_on(async {
        let conn =
            Connection::open(cluster.kubeconfig.as_deref(), cluster.context.as_deref()).await?;
        let opts = FetchOptions::new(cluster.timeout).server_url(conn.server_url.clone());
        let (plan, objects) = fetch_resolved(&conn, resolver, step, &opts, shape).await?;
        Ok((conn, plan, objects))
    })
}

/// `labctl snapshot`: capture the objects the lab's checks read.
pub fn snapshot(
    lab: &str,
    plan_args: &PlanArgs,
    cluster: &ClusterArgs,
    output: Option<&Path>,
    labs_dir: &Path,
) -> Result<i32, Error> {
    let lab = load::load_named(lab, labs_dir)?;
    let resolver = Resolver::new(
        &lab,
        plan_args.profile.as_deref(),
        &parse_vars(&plan_args.vars)?,
    )?;
    let (conn, plan, objects) = fetch_live(&runtime()?, &resolver, None, cluster, &|_| {})?;
    for d in &plan.discovered {
        eprintln!("{d}");
    }
    let snap = Snapshot::capture(&plan, Some(conn.context_name), &objects);
    match output {
        Some(path) => {
            write_snapshot(path, &snap)?;
            let n: usize = snap
                .lists
                .iter()
                .map(|l| l.items.as_ref().map_or(0, Vec::len))
                .sum();
            eprintln!(
                "wrote {} ({} objects in {} lists)",
                path.display(),
                n,
                snap.lists.len()
            );
        }
        None => println!(
            "{}",
            serde_json::to_string_pretty(&snap).unwrap_or_default()
        ),
    }
    Ok(crate::error::EXIT_OK)
}
