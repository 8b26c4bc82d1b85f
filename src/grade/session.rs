//! One live-grading session: the one place that connects to a cluster and decides which cluster
//! and context everything of a run acts on. `grade`, `snapshot`, `check`, `solve`, `start` and
//! `ci` turn their arguments into [`Options`] and ask the [`Session`]; none of them builds a
//! connection, a command environment or a prober of its own.
//!
//! A session owns:
//! - the connection ([`Connection::open`]);
//! - the command environment ([`CommandEnv`]): solve blocks and command checks act on the
//!   cluster graded, not on kubectl's current context;
//! - the prober ([`Prober`]), with the same context rule;
//! - resolving the discovered variables now ([`Session::resolve_now`]) and one look at the
//!   cluster ([`Session::fetch`], [`Session::facts`], [`Session::look`]);
//! - Ctrl-C and SIGTERM while probe pods may be alive ([`Session::guarded`]);
//! - "grade until it passes or the time runs out" ([`Session::until_passed`], in
//!   [`crate::grade::wait`]).
//!
//! `class` grades many clusters at once with shared LISTs and no probes; it keeps its own
//! fetching (docs/architecture.md says why).

use crate::error::Error;
use crate::eval::discover::Resolver;
use crate::eval::facts::PROBES_DISABLED;
use crate::grade::commands::LiveFacts;
use crate::grade::run::grade;
use crate::plan::resolve::Plan;
use crate::probe::exec::Kubectl;
use crate::probe::run::{Prober, planned, planned_distributions};
use crate::process::CommandEnv;
use crate::report::event::{GradeReport, RunInfo};
use crate::report::set::ReporterSet;
use crate::signal::interrupted;
use crate::view::connect::{Connection, IN_CLUSTER_CONTEXT};
use crate::view::live::{FetchOptions, fetch_report, first_fatal};
use crate::view::objects::ObjectSet;
use crate::view::query::{Query, queries};
use std::collections::BTreeSet;
use std::future::Future;
use std::path::PathBuf;
use std::time::Duration;

/// How long one look at the cluster may take.
pub const FETCH_TIMEOUT: Duration = Duration::from_secs(30);

/// What a command asks of a session: which cluster, and whether probes run.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// `--kubeconfig` (or the one a learner's lab recorded); `None`: kubectl's own rules.
    pub kubeconfig: Option<PathBuf>,
    /// `--context` (or the recorded one); `None`: the kubeconfig's current context.
    pub context: Option<String>,
    /// Run the checks' probes; `false` (`--no-probes`) skips each with a reason.
    pub probes: bool,
}

/// A connection to one cluster, and everything that acts on it (see the module docs).
pub struct Session {
    conn: Connection,
    env: CommandEnv,
    prober: Option<Prober>,
}

/// One look at the cluster for one step: the plan with the values discovered in it, the grade,
/// and the objects it read (for debug output).
pub struct Look {
    pub plan: Plan,
    pub report: GradeReport,
    pub objects: ObjectSet,
}

impl Session {
    /// Connect. The one context rule: commands, kubectl (the probes' exec fallback) and probe
    /// pods all act on the context resolved now — a command that switches kubectl's current
    /// context (`kind create cluster`) cannot move the rest of the run elsewhere. With the
    /// in-cluster service account there is no context to pin.
    pub async fn open(opts: &Options) -> Result<Session, Error> {
        let conn = Connection::open(opts.kubeconfig.as_deref(), opts.context.as_deref()).await?;
        let context = (conn.context_name != IN_CLUSTER_CONTEXT).then(|| conn.context_name.clone());
        let env = CommandEnv::pinned(opts.kubeconfig.as_deref(), context.as_deref()).map_err(
            |source| Error::Write {
                path: std::env::temp_dir(),
                source,
            },
        )?;
        let prober = opts.probes.then(|| {
            let kubectl = Kubectl {
                kubeconfig: opts.kubeconfig.clone(),
                context,
            };
            Prober::new(conn.client.clone(), kubectl)
        });
        Ok(Session { conn, env, prober })
    }

    /// The connection (for watches, debug output and messages naming the cluster).
    pub fn connection(&self) -> &Connection {
        &self.conn
    }

    /// The environment commands run in: pointed at this session's cluster and context.
    pub fn env(&self) -> &CommandEnv {
        &self.env
    }

    /// The facts of a run of `plan` on this cluster, started now.
    pub fn info(&self, plan: &Plan) -> RunInfo {
        RunInfo {
            context: Some(self.conn.context_name.clone()),
            ..RunInfo::new(plan)
        }
    }

    /// Run `work`, unless Ctrl-C or SIGTERM comes first: then every live probe pod is deleted and
    /// the run ends with [`Error::Interrupted`] (exit 130, 143), naming the pods still there.
    /// Once this has run, labctl handles both signals itself (see [`interrupted`]).
    pub async fn guarded<T>(
        &self,
        work: impl Future<Output = Result<T, Error>>,
    ) -> Result<T, Error> {
        tokio::select! {
            done = work => done,
            signal = interrupted() => Err(Error::Interrupted {
                signal,
                left: match &self.prober {
                    Some(p) => p.clean_up().await,
                    None => Vec::new(),
                },
            }),
        }
    }

    /// The plan with the discovered variables read from the cluster now: only the discoveries'
    /// lists are fetched. For what shows or runs commands (`start`, `solve`, each step of `ci`).
    pub async fn resolve_now(&self, resolver: &Resolver) -> Result<Plan, Error> {
        let wanted = resolver.queries();
        if wanted.is_empty() {
            return Ok(resolver.base.clone());
        }
        let objects = self.list(&wanted, FETCH_TIMEOUT).await?;
        Ok(resolver.resolve(&objects)?)
    }

    /// LIST `wanted` within `timeout`; a cluster that answers nothing at all is an `Err`.
    pub async fn list(
        &self,
        wanted: &BTreeSet<Query>,
        timeout: Duration,
    ) -> Result<ObjectSet, Error> {
        let opts = FetchOptions::new(timeout).server_url(self.conn.server_url.clone());
        let objects = fetch_report(&self.conn, wanted, &opts).await.objects;
        match first_fatal(&objects) {
            Some(fatal) => Err(Error::Cluster(fatal.clone())),
            None => Ok(objects),
        }
    }

    /// Fetch what a plan needs with its discovered variables in place (see
    /// [`crate::eval::discover`]): the discoveries' lists and the lists of the plan made with the
    /// lab's own values in one fetch, then whatever the resolved plan needs besides (usually
    /// nothing: discovered values rarely change which lists are read). Each (kind, namespace) is
    /// listed once. `shape` trims a plan to what is graded (e.g. without the cleanup step) before
    /// its lists are named. A cluster that answers nothing at all, or a discovery that cannot
    /// decide, is an `Err`.
    pub async fn fetch(
        &self,
        resolver: &Resolver,
        step: Option<&str>,
        timeout: Duration,
        shape: &dyn Fn(&mut Plan),
    ) -> Result<(Plan, ObjectSet), Error> {
        let mut base = resolver.base.clone();
        shape(&mut base);
        let mut wanted = resolver.queries();
        wanted.extend(queries(&base, step));
        let mut objects = self.list(&wanted, timeout).await?;
        let mut plan = resolver.resolve(&objects)?;
        shape(&mut plan);
        let more: BTreeSet<Query> = queries(&plan, step)
            .into_iter()
            .filter(|q| !objects.lists.contains_key(q))
            .collect();
        if !more.is_empty() {
            let opts = FetchOptions::new(timeout).server_url(self.conn.server_url.clone());
            let extra = fetch_report(&self.conn, &more, &opts).await.objects;
            objects.lists.extend(extra.lists);
        }
        Ok((plan, objects))
    }

    /// The facts to grade `plan` (one step or all) with: `objects`, command checks run in this
    /// session's environment, and the probes and distributions run now (all at once), or
    /// skipped without a prober. Also returns the probe pods that could not be deleted, for the report's warnings.
    pub async fn facts(
        &self,
        plan: &Plan,
        step: Option<&str>,
        objects: ObjectSet,
    ) -> (LiveFacts, Vec<String>) {
        let mut facts = LiveFacts::new(objects);
        facts.env = self.env.clone();
        let mut warnings = Vec::new();
        match &self.prober {
            Some(prober) => {
                let probes = planned(plan, step, &facts);
                let distributions = planned_distributions(plan, step, &facts);
                (facts.probes, facts.distributions) = futures::join!(
                    prober.run_all(&probes, &facts.objects),
                    prober.run_distributions(&distributions, &facts.objects)
                );
                warnings = prober.live.left_behind();
            }
            None => facts.probes_skipped = Some(PROBES_DISABLED.into()),
        }
        (facts, warnings)
    }

    /// Grade `step` against the cluster as it is now, with the lab's discovered variables read
    /// again first (a revision can appear or change between two looks). The fetch gives up after
    /// `fetch_timeout`. A cluster that answers nothing at all, or a discovery that cannot decide,
    /// is an `Err`.
    pub async fn look(
        &self,
        resolver: &Resolver,
        step: &str,
        info: &RunInfo,
        fetch_timeout: Duration,
    ) -> Result<Look, Error> {
        let (plan, objects) = self
            .fetch(resolver, Some(step), fetch_timeout, &|_| {})
            .await?;
        let (facts, warnings) = self.facts(&plan, Some(step), objects.clone()).await;
        let mut info = info.clone().resolved(&plan);
        info.warnings = warnings;
        // Command checks block while they run; keep them off the async workers' hot path.
        let report = tokio::task::block_in_place(|| {
            grade(&plan, Some(step), &facts, info, &mut ReporterSet::new())
        });
        Ok(Look {
            plan,
            report,
            objects,
        })
    }
}
