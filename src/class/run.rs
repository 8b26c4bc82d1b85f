//! Grading a class: resolve every learner's plan, fetch what the plans need — once per
//! connection, learners on one cluster together (see [`fetch`](super::fetch)), connections
//! concurrently (bounded), each within the timeout — then grade every learner from what was
//! fetched. A learner who cannot be graded is a row saying why; it never stops the others.
//!
//! Command checks and probes are not run: they would run on the instructor's machine against
//! the wrong cluster and need learners' credentials. They show as skipped, with that reason.

use super::fetch::{Fetched, fetch_shared};
use super::report::{ClassReport, LearnerResult, Outcome, StepHead};
use super::roster::{Learner, Roster, Source};
use crate::eval::facts::{CommandFact, Facts};
use crate::grade::run::grade;
use crate::plan::resolve::Plan;
use crate::report::event::RunInfo;
use crate::spec::lab::{Lab, StepType};
use crate::view::connect::Connection;
use crate::view::live::FetchOptions;
use crate::view::objects::FetchError;
use crate::view::query::{Query, queries};
use crate::view::snapshot::{now_rfc3339, read_snapshot};
use futures::StreamExt;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::time::{Duration, Instant};

/// Why command checks are skipped in a class report.
pub const NOT_RUN: &str = "not run in class reports";

#[derive(Debug, Clone)]
pub struct ClassOptions {
    /// Profile for every learner (else the roster's, else the lab's first).
    pub profile: Option<String>,
    /// Clusters fetched at once, and requests in flight per cluster.
    pub concurrency: usize,
    /// Deadline for each cluster's fetch.
    pub timeout: Duration,
    /// List a kind across all namespaces once instead of once per learner's namespace.
    pub cluster_wide_lists: bool,
}

/// What a run cost, for `--verbose` and the benchmark.
#[derive(Debug, Clone, Default)]
pub struct RunStats {
    pub connections: usize,
    pub lists: usize,
    pub widened: usize,
    pub fetch: Duration,
    pub grade: Duration,
}

/// A learner ready to grade, or the reason they cannot be.
struct Prepared<'r> {
    learner: &'r Learner,
    source: String,
    plan: Result<(Plan, BTreeSet<Query>, Option<PathBuf>), String>,
    /// For snapshot learners: what the snapshot holds.
    snapshot: Option<Fetched>,
}

/// The profile the class is graded with.
pub fn class_profile<'a>(lab: &'a Lab, roster: &'a Roster, opts: &'a ClassOptions) -> Option<&'a str> {
    opts.profile.as_deref().or(roster.profile.as_deref()).or(lab.profiles.first().map(|p| p.name.as_str()))
}

/// Grade everyone (see the module docs). `Err` only for what makes the whole report
/// impossible: an unknown profile, no async runtime.
pub fn grade_class(
    lab: &Lab,
    roster: &Roster,
    opts: &ClassOptions,
    runtime: &tokio::runtime::Runtime,
) -> Result<(ClassReport, RunStats), crate::error::Error> {
    let started = Instant::now();
    let generated_at = now_rfc3339();
    let profile = class_profile(lab, roster, opts);
    let class_plan = Plan::new(lab, profile, &[])?;
    let steps: Vec<StepHead> = class_plan
        .steps
        .iter()
        .filter(|s| s.step_type != StepType::Cleanup)
        .map(|s| StepHead {
            id: s.id.clone(),
            title: s.title.clone(),
        })
        .collect();
    let prepared: Vec<Prepared> = roster
        .learners
        .iter()
        .map(|l| prepare(lab, &class_plan.profile, l))
        .collect();

    // One fetch per connection: learners with the same kubeconfig and context share it.
    let mut groups: BTreeMap<(Option<PathBuf>, Option<String>), Vec<usize>> = BTreeMap::new();
    for (i, p) in prepared.iter().enumerate() {
        if let (Source::Cluster { kubeconfig, context, .. }, Ok(_)) = (&p.learner.source, &p.plan) {
            groups.entry((kubeconfig.clone(), context.clone())).or_default().push(i);
        }
    }
    let fetch_started = Instant::now();
    let fetched: Vec<(Vec<usize>, Result<(String, Fetched), String>)> = runtime.block_on(
        futures::stream::iter(groups)
            .map(|((kubeconfig, context), members)| {
                let wanted: BTreeSet<Query> = members
                    .iter()
                    .filter_map(|i| prepared[*i].plan.as_ref().ok())
                    .flat_map(|(_, q, _)| q.iter().cloned())
                    .collect();
                let widen = opts.cluster_wide_lists && members.len() > 1;
                async move {
                    let res = fetch_group(kubeconfig, context, &wanted, opts, widen).await;
                    (members, res)
                }
            })
            .buffer_unordered(opts.concurrency.max(1))
            .collect(),
    );
    let mut stats = RunStats {
        connections: fetched.len(),
        fetch: fetch_started.elapsed(),
        ..RunStats::default()
    };
    let mut by_learner: BTreeMap<usize, (&str, &Fetched)> = BTreeMap::new();
    let mut failed: BTreeMap<usize, &str> = BTreeMap::new();
    for (members, res) in &fetched {
        match res {
            Ok((context, f)) => {
                stats.lists += f.lists;
                stats.widened += f.widened;
                by_learner.extend(members.iter().map(|i| (*i, (context.as_str(), f))));
            }
            Err(message) => failed.extend(members.iter().map(|i| (*i, message.as_str()))),
        }
    }

    // Grading is CPU work: spread the learners over the cores.
    let grade_started = Instant::now();
    let threads = std::thread::available_parallelism().map_or(2, |n| n.get()).min(8);
    let chunk = prepared.len().div_ceil(threads).max(1);
    let learners: Vec<LearnerResult> = std::thread::scope(|s| {
        let handles: Vec<_> = prepared
            .chunks(chunk)
            .enumerate()
            .map(|(c, part)| {
                let (by_learner, failed, generated_at) = (&by_learner, &failed, &generated_at);
                s.spawn(move || {
                    part.iter()
                        .enumerate()
                        .map(|(j, p)| {
                            let i = c * chunk + j;
                            let live = by_learner.get(&i).copied();
                            let outcome = match failed.get(&i) {
                                Some(m) => Outcome::Error { message: (*m).to_owned() },
                                None => grade_one(p, live, generated_at),
                            };
                            LearnerResult {
                                name: p.learner.name.clone(),
                                source: p.source.clone(),
                                outcome,
                            }
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        handles.into_iter().flat_map(|h| h.join().unwrap_or_default()).collect()
    });
    stats.grade = grade_started.elapsed();
    let mut report = ClassReport {
        lab: lab.name.clone(),
        title: lab.title.clone(),
        profile: class_plan.profile.clone(),
        generated_at,
        duration: started.elapsed(),
        steps,
        learners,
    };
    report.sort();
    Ok((report, stats))
}

fn describe(source: &Source) -> String {
    let file = |p: &PathBuf| p.file_name().map_or_else(|| p.display().to_string(), |n| n.to_string_lossy().into_owned());
    match source {
        Source::Cluster { shared: Some(name), .. } => format!("cluster {name}"),
        Source::Cluster { kubeconfig, context, .. } => {
            let mut s = kubeconfig.as_ref().map_or_else(|| "kubeconfig".to_owned(), |k| format!("kubeconfig {}", file(k)));
            if let Some(c) = context {
                s.push_str(&format!(" ({c})"));
            }
            s
        }
        Source::Snapshot(p) => format!("snapshot {}", file(p)),
    }
}

/// The learner's plan (variables layered as the roster docs say) and the queries it needs.
fn prepare<'r>(lab: &Lab, profile: &str, learner: &'r Learner) -> Prepared<'r> {
    let mut snapshot = None;
    let plan = (|| {
        let mut vars = learner.variables.clone();
        let mut snap_path = None;
        if let Source::Snapshot(path) = &learner.source {
            let snap = read_snapshot(path).map_err(|e| chain(&e))?;
            if snap.lab != lab.name {
                return Err(format!("the snapshot is of lab `{}`, not `{}`", snap.lab, lab.name));
            }
            if snap.profile != profile {
                return Err(format!("the snapshot was captured for profile `{}`, not `{profile}`", snap.profile));
            }
            vars.extend(snap.variables.iter().map(|(k, v)| (k.clone(), v.clone())));
            snapshot = Some(Fetched::from_set(snap.to_object_set()));
            snap_path = Some(path.clone());
        }
        vars.extend(learner.own_variables.iter().cloned());
        let mut plan = Plan::new(lab, Some(profile), &vars).map_err(|e| e.to_string())?;
        plan.steps.retain(|s| s.step_type != StepType::Cleanup);
        let q = queries(&plan, None);
        Ok((plan, q, snap_path))
    })();
    Prepared {
        learner,
        source: describe(&learner.source),
        plan,
        snapshot,
    }
}

async fn fetch_group(
    kubeconfig: Option<PathBuf>,
    context: Option<String>,
    wanted: &BTreeSet<Query>,
    opts: &ClassOptions,
    widen: bool,
) -> Result<(String, Fetched), String> {
    let open = Connection::open(kubeconfig.as_deref(), context.as_deref());
    let conn = match tokio::time::timeout(opts.timeout, open).await {
        Ok(Ok(c)) => c,
        Ok(Err(e)) => return Err(format!("cannot connect: {}", chain(&e))),
        Err(_) => return Err(format!("cannot connect: no credentials within {:?}", opts.timeout)),
    };
    let mut fo = FetchOptions::new(opts.timeout).server_url(conn.server_url.clone());
    fo.concurrency = opts.concurrency.max(1);
    let fetched = fetch_shared(&conn.client, wanted, &fo, widen).await;
    Ok((conn.context_name, fetched))
}

/// Facts from fetched objects; commands are not run (see the module docs).
struct ClassFacts<'a>(&'a Fetched);

impl Facts for ClassFacts<'_> {
    fn list(&self, query: &Query) -> Result<&[Value], FetchError> {
        self.0.get(query)
    }
    fn run(&self, _: &crate::spec::lab::Command) -> CommandFact {
        CommandFact::Unavailable(NOT_RUN.to_owned())
    }
}

fn grade_one(p: &Prepared, live: Option<(&str, &Fetched)>, started_at: &str) -> Outcome {
    let (plan, queries, snap_path) = match &p.plan {
        Ok(x) => x,
        Err(message) => return Outcome::Error { message: message.clone() },
    };
    let (context, fetched) = match (live, &p.snapshot) {
        (Some((c, f)), _) => (Some(c.to_owned()), f),
        (None, Some(f)) => (None, f),
        (None, None) => return Outcome::Error { message: "nothing was fetched".into() },
    };
    match fetched.fatal(queries) {
        Some(e @ FetchError::Unreachable { .. }) => return Outcome::Unreachable { message: e.to_string() },
        Some(e) => return Outcome::Error { message: e.to_string() },
        None => {}
    }
    let info = RunInfo {
        lab: plan.lab.clone(),
        title: plan.title.clone(),
        profile: plan.profile.clone(),
        revision: plan.values.get("revision").cloned(),
        context,
        snapshot: snap_path.as_ref().map(|s| s.display().to_string()),
        learner: Some(p.learner.name.clone()),
        started_at: started_at.to_owned(),
    };
    match grade(plan, None, &ClassFacts(fetched), info, &mut []) {
        Ok(report) => Outcome::Graded { report },
        Err(e) => Outcome::Error { message: e.to_string() },
    }
}

/// An error and its causes on one line (never credentials: see `view::connect`).
fn chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut out = e.to_string();
    let mut cur = e.source();
    while let Some(s) = cur {
        out.push_str(&format!(": {s}"));
        cur = s.source();
    }
    out
}
