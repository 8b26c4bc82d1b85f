//! Grading a class: resolve every learner's plan, fetch what the plans need — once per
//! connection, learners on one cluster together (see [`fetch`](super::fetch)), connections
//! concurrently (bounded), each within the timeout — then grade every learner from what was
//! fetched. A learner who cannot be graded is a row saying why; it never stops the others.
//!
//! Memory: the fetched objects are held as compact JSON for the whole run; each grading thread
//! parses one learner's objects at a time ([`LearnerFacts`]) and drops them once that learner is
//! graded, so the peak is the class's JSON text plus a few learners' parsed objects. Snapshot
//! files are read once each and learners who cannot differ share a grade (see
//! [`shared`](super::shared)), so a row costs about its name.
//!
//! Command checks and probes are not run: they would run on the instructor's machine against
//! the wrong cluster and need learners' credentials. They show as skipped, with that reason.

use super::facts::LearnerFacts;
use super::fetch::{Fetched, RawObject, fetch_shared};
use super::prepare::{Prepared, chain, describe, prepare, trim};
use super::progress::Progress;
use super::report::{ClassReport, LearnerResult, Outcome, StepHead};
use super::roster::{Roster, Source};
use super::shared::{SharedGrades, SnapshotFiles};
use crate::eval::discover::Resolver;
use crate::grade::run::grade;
use crate::labfile::lab::{Lab, StepType};
use crate::plan::resolve::Plan;
use crate::report::event::RunInfo;
use crate::report::set::ReporterSet;
use crate::view::connect::Connection;
use crate::view::live::FetchOptions;
use crate::view::objects::{FetchError, ObjectSet};
use crate::view::query::Query;
use crate::view::snapshot::now_rfc3339;
use futures::StreamExt;
use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

pub use super::facts::NOT_RUN;

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
    /// Show a progress bar on stderr (only when it is a terminal).
    pub progress: bool,
}

/// What a run cost, for `--verbose` and the benchmark.
#[derive(Debug, Clone, Default)]
pub struct RunStats {
    pub connections: usize,
    pub lists: usize,
    pub widened: usize,
    pub fetch: Duration,
    pub grade: Duration,
    /// Distinct snapshot files read, and distinct grades their learners needed.
    pub snapshot_files: usize,
    pub distinct_grades: usize,
}

/// The profile the class is graded with.
pub fn class_profile<'a>(
    lab: &'a Lab,
    roster: &'a Roster,
    opts: &'a ClassOptions,
) -> Option<&'a str> {
    opts.profile
        .as_deref()
        .or(roster.profile.as_deref())
        .or(lab.profiles.first().map(|p| p.name.as_str()))
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
    // What each learner on a cluster needs fetched. Their plans are made again by the grading
    // threads, one learner at a time each (200 plans held at once are ~30 MB). Snapshot files
    // are read by the grading threads too, each once, and dropped after their last learner.
    let profile = class_plan.profile.as_str();
    let no_files = SnapshotFiles::default();
    let needs: Vec<Option<BTreeSet<Query>>> = roster
        .learners
        .iter()
        .map(|l| match l.source {
            Source::Snapshot(_) | Source::Pushed => None,
            Source::Cluster { .. } => prepare(lab, profile, l, &no_files)
                .plan
                .ok()
                .map(|(_, q, _)| q),
        })
        .collect();

    // One fetch per connection: learners with the same kubeconfig and context share it.
    let mut groups: BTreeMap<(Option<PathBuf>, Option<String>), Vec<usize>> = BTreeMap::new();
    for (i, (learner, need)) in roster.learners.iter().zip(&needs).enumerate() {
        if let (
            Source::Cluster {
                kubeconfig,
                context,
                ..
            },
            Some(_),
        ) = (&learner.source, need)
        {
            let key = (kubeconfig.clone(), context.clone());
            groups.entry(key).or_default().push(i);
        }
    }
    let progress = Progress::new(opts.progress);
    if !groups.is_empty() {
        progress.fetching(groups.len());
    }
    let fetch_started = Instant::now();
    let fetched: Vec<GroupFetch> = runtime.block_on(
        futures::stream::iter(groups)
            .map(|((kubeconfig, context), members)| {
                let wanted: BTreeSet<Query> = members
                    .iter()
                    .filter_map(|i| needs[*i].as_ref())
                    .flat_map(|q| q.iter().cloned())
                    .collect();
                let widen = opts.cluster_wide_lists && members.len() > 1;
                async move {
                    let res = fetch_group(kubeconfig, context, &wanted, opts, widen).await;
                    (members, res)
                }
            })
            .buffer_unordered(opts.concurrency.max(1))
            .inspect(|_| progress.fetched())
            .collect(),
    );
    let mut stats = RunStats {
        connections: fetched.len(),
        fetch: fetch_started.elapsed(),
        ..RunStats::default()
    };
    // On a shared cluster, the namespaces any of its learners query (see `facts`).
    let namespaces: Vec<Option<BTreeSet<String>>> = fetched
        .iter()
        .map(|(members, _)| {
            (members.len() > 1).then(|| {
                members
                    .iter()
                    .filter_map(|i| needs[*i].as_ref())
                    .flat_map(|q| q.iter().filter_map(|q| q.namespace.clone()))
                    .collect()
            })
        })
        .collect();
    let mut by_learner: BTreeMap<usize, Live> = BTreeMap::new();
    let mut failed: BTreeMap<usize, &str> = BTreeMap::new();
    for ((members, res), shared) in fetched.iter().zip(&namespaces) {
        match res {
            Ok((context, f)) => {
                stats.lists += f.lists;
                stats.widened += f.widened;
                by_learner.extend(
                    members
                        .iter()
                        .map(|i| (*i, (context.as_str(), f, shared.as_ref()))),
                );
            }
            Err(message) => failed.extend(members.iter().map(|i| (*i, message.as_str()))),
        }
    }

    // Grading is CPU work: spread the learners over the cores. Snapshot learners share their
    // files and, when nothing tells them apart, their grade (see `shared`).
    let grade_started = Instant::now();
    let files = SnapshotFiles::new(roster);
    let shared = SharedGrades::new(roster);
    stats.snapshot_files = files.len();
    stats.distinct_grades = shared.len();
    progress.grading(roster.learners.len());
    let threads = std::thread::available_parallelism()
        .map_or(2, |n| n.get())
        .min(8);
    let chunk = roster.learners.len().div_ceil(threads).max(1);
    let learners: Vec<LearnerResult> = std::thread::scope(|s| {
        let handles: Vec<_> = roster
            .learners
            .chunks(chunk)
            .enumerate()
            .map(|(c, part)| {
                let (by_learner, failed, generated_at) = (&by_learner, &failed, &generated_at);
                let (files, shared, progress) = (&files, &shared, &progress);
                s.spawn(move || {
                    part.iter()
                        .enumerate()
                        .map(|(j, learner)| {
                            let i = c * chunk + j;
                            let grade = |shared: bool| {
                                let p = prepare(lab, profile, learner, files);
                                grade_one(&p, by_learner.get(&i).copied(), generated_at, shared)
                            };
                            let outcome = match failed.get(&i) {
                                Some(m) => Outcome::Error {
                                    message: (*m).to_owned(),
                                },
                                None => shared
                                    .outcome(learner, grade)
                                    .unwrap_or_else(|| grade(false)),
                            };
                            progress.graded();
                            if let Source::Snapshot(path) = &learner.source {
                                files.done(path);
                            }
                            LearnerResult {
                                name: learner.name.clone(),
                                source: describe(&learner.source),
                                outcome,
                            }
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().unwrap_or_default())
            .collect()
    });
    stats.grade = grade_started.elapsed();
    drop(progress);
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
        Err(_) => {
            return Err(format!(
                "cannot connect: no credentials within {:?}",
                opts.timeout
            ));
        }
    };
    let mut fo = FetchOptions::new(opts.timeout).server_url(conn.server_url.clone());
    fo.concurrency = opts.concurrency.max(1);
    let fetched = fetch_shared(&conn, wanted, &fo, widen).await;
    Ok((conn.context_name, fetched))
}

/// One connection's learners (indices) and its context name and objects, or why there are none.
type GroupFetch = (Vec<usize>, Result<(String, Fetched), String>);

/// A learner's cluster: its context name, what was fetched, and the namespaces of all learners
/// on it when it is shared.
type Live<'a> = (&'a str, &'a Fetched, Option<&'a BTreeSet<String>>);

/// `for_many`: the grade stands for several learners (see `shared`), so it names none of them.
fn grade_one(p: &Prepared, live: Option<Live>, started_at: &str, for_many: bool) -> Outcome {
    let (plan, queries, snap_path) = match &p.plan {
        Ok(x) => x,
        Err(message) => {
            return Outcome::Error {
                message: message.clone(),
            };
        }
    };
    let (context, fetched, shared) = match (live, &p.snapshot) {
        (Some((c, f, shared)), _) => (Some(c.to_owned()), f, shared),
        (None, Some(snap)) => (None, &snap.fetched, None),
        (None, None) => {
            return Outcome::Error {
                message: "nothing was fetched".into(),
            };
        }
    };
    match fetched.fatal(queries) {
        Some(e @ FetchError::Unreachable { .. }) => {
            return Outcome::Unreachable {
                message: e.to_string(),
            };
        }
        Some(e) => {
            return Outcome::Error {
                message: e.to_string(),
            };
        }
        None => {}
    }
    // The learner's discovered variables, read from their cluster's objects.
    let resolved;
    let plan = match &p.resolver {
        Some(r) if live.is_some() => match resolve(r, fetched) {
            Ok(mut plan) => {
                trim(&mut plan);
                resolved = plan;
                &resolved
            }
            Err(message) => return Outcome::Error { message },
        },
        _ => plan,
    };
    let info = RunInfo {
        context,
        snapshot: snap_path.as_ref().map(|s| s.display().to_string()),
        learner: (!for_many).then(|| p.learner.name.clone()),
        started_at: started_at.to_owned(),
        ..RunInfo::new(plan)
    };
    let facts = LearnerFacts::new(fetched, queries, shared);
    let report = grade(plan, None, &facts, info, &mut ReporterSet::new());
    Outcome::Graded {
        report: Arc::new(report),
    }
}

/// The plan with the learner's discovered variables, from the objects fetched for them.
fn resolve(resolver: &Resolver, fetched: &Fetched) -> Result<Plan, String> {
    let mut set = ObjectSet::default();
    for q in resolver.queries() {
        let items = fetched
            .get(&q)
            .and_then(|raw| raw.iter().map(RawObject::parse).collect());
        set.insert(q, items);
    }
    resolver.resolve(&set).map_err(|e| e.to_string())
}
