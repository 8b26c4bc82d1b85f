//! One look at a live cluster for one step: fetch what the step's checks read, run its probes,
//! then grade them. `labctl check` and `labctl ci` call this on every attempt of a wait.

use crate::error::Error;
use crate::eval::facts::PROBES_DISABLED;
use crate::grade::commands::{CommandEnv, LiveFacts};
use crate::grade::run::grade;
use crate::plan::resolve::Plan;
use crate::probe::run::{Prober, planned};
use crate::report::event::{GradeReport, RunInfo};
use crate::view::connect::Connection;
use crate::view::live::{FetchOptions, fetch_report, first_fatal};
use crate::view::objects::ObjectSet;
use crate::view::query::queries;
use std::time::Duration;

/// How long one look at the cluster may take.
pub const FETCH_TIMEOUT: Duration = Duration::from_secs(30);

/// Grade `step` against the cluster as it is now, probes included unless `prober` is `None`,
/// command checks run in `env` (pointed at the same cluster); also returns the objects it read
/// (for debug output). The fetch gives up after `fetch_timeout`. A cluster that answers
/// nothing at all is an `Err`.
pub async fn grade_step(
    conn: &Connection,
    prober: Option<&Prober>,
    plan: &Plan,
    step: &str,
    info: &RunInfo,
    env: &CommandEnv,
    fetch_timeout: Duration,
) -> Result<(GradeReport, ObjectSet), Error> {
    let opts = FetchOptions::new(fetch_timeout).server_url(conn.server_url.clone());
    let fetched = fetch_report(&conn.client, &queries(plan, Some(step)), &opts).await;
    if let Some(fatal) = first_fatal(&fetched.objects) {
        return Err(Error::Cluster(fatal.clone()));
    }
    let mut facts = LiveFacts::new(fetched.objects.clone());
    facts.env = env.clone();
    let mut info = info.clone();
    match prober {
        Some(prober) => {
            let probes = planned(plan, Some(step), &facts);
            facts.probes = prober.run_all(&probes, &facts.objects).await;
            info.warnings = prober.live.left_behind();
        }
        None => facts.probes_skipped = Some(PROBES_DISABLED.into()),
    }
    // Command checks block while they run; keep them off the async workers' hot path.
    let report = tokio::task::block_in_place(|| grade(plan, Some(step), &facts, info, &mut []))
        .map_err(|source| Error::Write {
            path: "<report>".into(),
            source,
        })?;
    Ok((report, fetched.objects))
}
