//! One look at a live cluster for one step: fetch what the step's checks read, run its probes,
//! then grade them. `labctl check` and `labctl ci` call this on every attempt of a wait.

use crate::error::Error;
use crate::eval::discover::Resolver;
use crate::eval::facts::PROBES_DISABLED;
use crate::grade::commands::LiveFacts;
use crate::grade::run::grade;
use crate::plan::resolve::Plan;
use crate::probe::run::{Prober, planned};
use crate::process::CommandEnv;
use crate::report::event::{GradeReport, RunInfo};
use crate::report::set::ReporterSet;
use crate::view::connect::Connection;
use crate::view::live::{FetchOptions, fetch_report, first_fatal};
use crate::view::objects::ObjectSet;
use crate::view::query::{Query, queries};
use std::collections::BTreeSet;
use std::time::Duration;

/// How long one look at the cluster may take.
pub const FETCH_TIMEOUT: Duration = Duration::from_secs(30);

/// Grade `step` against the cluster as it is now, probes included unless `prober` is `None`,
/// with the lab's discovered variables read again first (a revision can appear or change between
/// two looks), command checks run in `env` (pointed at the same cluster); also returns the
/// objects it read (for debug output). The fetch gives up after `fetch_timeout`. A cluster that
/// answers nothing at all, or a discovery that cannot decide, is an `Err`.
pub async fn grade_step(
    conn: &Connection,
    prober: Option<&Prober>,
    resolver: &Resolver,
    step: &str,
    info: &RunInfo,
    env: &CommandEnv,
    fetch_timeout: Duration,
) -> Result<(GradeReport, ObjectSet), Error> {
    let opts = FetchOptions::new(fetch_timeout).server_url(conn.server_url.clone());
    let (plan, objects) = fetch_resolved(conn, resolver, Some(step), &opts, &|_| {}).await?;
    let plan = &plan;
    let mut facts = LiveFacts::new(objects.clone());
    facts.env = env.clone();
    let mut info = info.clone().resolved(plan);
    match prober {
        Some(prober) => {
            let probes = planned(plan, Some(step), &facts);
            facts.probes = prober.run_all(&probes, &facts.objects).await;
            info.warnings = prober.live.left_behind();
        }
        None => facts.probes_skipped = Some(PROBES_DISABLED.into()),
    }
    // Command checks block while they run; keep them off the async workers' hot path.
    let report = tokio::task::block_in_place(|| {
        grade(plan, Some(step), &facts, info, &mut ReporterSet::new())
    });
    Ok((report, objects))
}

/// Fetch what a plan needs with its discovered variables in place (see
/// [`crate::eval::discover`]): the discoveries' lists and the lists of the plan made with the
/// lab's own values in one fetch, then whatever the resolved plan needs besides (usually
/// nothing: discovered values rarely change which lists are read). Each (kind, namespace) is
/// listed once. `shape` trims a plan to what is graded (e.g. without the cleanup step) before
/// its lists are named. A cluster that answers nothing at all, or a discovery that cannot
/// decide, is an `Err`.
pub async fn fetch_resolved(
    conn: &Connection,
    resolver: &Resolver,
    step: Option<&str>,
    opts: &FetchOptions,
    shape: &dyn Fn(&mut Plan),
) -> Result<(Plan, ObjectSet), Error> {
    let mut base = resolver.base.clone();
    shape(&mut base);
    let mut wanted = resolver.queries();
    wanted.extend(queries(&base, step));
    let mut objects = fetch_report(conn, &wanted, opts).await.objects;
    if let Some(fatal) = first_fatal(&objects) {
        return Err(Error::Cluster(fatal.clone()));
    }
    let mut plan = resolver.resolve(&objects)?;
    shape(&mut plan);
    let more: BTreeSet<Query> = queries(&plan, step)
        .into_iter()
        .filter(|q| !objects.lists.contains_key(q))
        .collect();
    if !more.is_empty() {
        let extra = fetch_report(conn, &more, opts).await.objects;
        objects.lists.extend(extra.lists);
    }
    Ok((plan, objects))
}

/// The plan with the discovered variables read from the cluster now: only the discoveries'
/// lists are fetched. For what shows or runs commands (`start`, `solve`, each step of `ci`).
pub async fn resolve_now(conn: &Connection, resolver: &Resolver) -> Result<Plan, Error> {
    let wanted = resolver.queries();
    if wanted.is_empty() {
        return Ok(resolver.base.clone());
    }
    let opts = FetchOptions::new(FETCH_TIMEOUT).server_url(conn.server_url.clone());
    let objects = fetch_report(conn, &wanted, &opts).await.objects;
    if let Some(fatal) = first_fatal(&objects) {
        return Err(Error::Cluster(fatal.clone()));
    }
    Ok(resolver.resolve(&objects)?)
}
