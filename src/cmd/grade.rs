//! `labctl grade` and `labctl snapshot`: resolve the plan, gather facts (live or from a
//! snapshot), grade, and hand events to the reporters chosen on the command line.

pub use crate::cli::GradeArgs;
use crate::cli::{ClusterArgs, Output, PlanArgs};
use crate::error::Error;
use crate::eval::discover::Resolver;
use crate::eval::facts::{Facts, StaticFacts};
use crate::grade::run::{exit_code, grade};
use crate::grade::session::{Options, Session};
use crate::labfile::lab::StepType;
use crate::labfile::load;
use crate::plan::resolve::{Plan, parse_vars};
use crate::report::event::RunInfo;
use crate::report::json::{json_file, json_report};
use crate::report::junit::junit_file;
use crate::report::set::ReporterSet;
use crate::report::terminal::TerminalReporter;
use crate::view::runtime::runtime;
use crate::view::snapshot::{Snapshot, read_snapshot, write_snapshot};
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
            let info = RunInfo {
                snapshot: args.snapshot.as_ref().map(|p| p.display().to_string()),
                context: snap.context.clone(),
                learner: args.learner.clone(),
                ..RunInfo::new(&plan)
            };
            let facts =
                StaticFacts::offline(snap.to_object_set(), "not run when grading a snapshot");
            (plan, info, Box::new(facts))
        }
        None => {
            let opts = session_options(&args.cluster, !args.no_probes);
            let step = args.step.as_deref();
            let (plan, info, facts) = runtime()?.block_on(async {
                let session = Session::open(&opts).await?;
                // Ctrl-C meanwhile deletes the live probe pods and ends the grade (exit 130).
                session
                    .guarded(async {
                        let (plan, objects) = session
                            .fetch(&resolver, step, args.cluster.timeout, &shape)
                            .await?;
                        let (facts, warnings) = session.facts(&plan, step, objects).await;
                        let info = RunInfo {
                            learner: args.learner.clone(),
                            warnings,
                            ..session.info(&plan)
                        };
                        Ok::<_, Error>((plan, info, facts))
                    })
                    .await
            })?;
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

/// A session's options from `--kubeconfig` and `--context`.
fn session_options(cluster: &ClusterArgs, probes: bool) -> Options {
    Options {
        kubeconfig: cluster.kubeconfig.clone(),
        context: cluster.context.clone(),
        probes,
    }
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
    let (context, plan, objects) = runtime()?.block_on(async {
        let session = Session::open(&session_options(cluster, false)).await?;
        let (plan, objects) = session
            .fetch(&resolver, None, cluster.timeout, &|_| {})
            .await?;
        Ok::<_, Error>((session.connection().context_name.clone(), plan, objects))
    })?;
    for d in &plan.discovered {
        eprintln!("{d}");
    }
    let snap = Snapshot::capture(&plan, Some(context), &objects);
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
