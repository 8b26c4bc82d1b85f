//! Running a grade's probes and distributions: every probe of the plan once, concurrently (a probe pod spends
//! most of its life waiting for a node, an image and a sidecar, not using our CPU), before the
//! checks are evaluated; the results become `Facts`. Probe pods still alive are tracked so that
//! Ctrl-C deletes them ([`Prober::clean_up`], called by `grade::session::Session::guarded`), and
//! any that could not be deleted are reported by the grade.

use crate::eval::diagnose::skip_reason;
use crate::eval::distribution::{Answer, DistributionFact};
use crate::eval::facts::{Facts, ProbeFact};
use crate::eval::probe::ProbeOutcome;
use crate::labfile::kinds::distribution::model::DistributionBody;
use crate::labfile::lab::{Body, Probe, ProbeExec, ProbeFrom};
use crate::plan::resolve::Plan;
use crate::probe::curl::Runner;
use crate::probe::error::ProbeError;
use crate::probe::exec::Kubectl;
use crate::probe::{curl, distribution, exec, http, pod};
use crate::view::objects::ObjectSet;
use crate::view::query::Query;
use futures::StreamExt;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// How many probes run at once.
pub const CONCURRENCY: usize = 8;

/// Probe pods created and not yet deleted, and those whose delete failed.
#[derive(Debug, Clone, Default)]
pub struct LivePods(Arc<Mutex<LiveState>>);

#[derive(Debug, Default)]
struct LiveState {
    live: BTreeSet<(String, String)>,
    undeleted: BTreeMap<(String, String), String>,
}

impl LivePods {
    pub fn add(&self, namespace: &str, name: &str) {
        if let Ok(mut s) = self.0.lock() {
            s.live.insert((namespace.into(), name.into()));
        }
    }
    pub fn remove(&self, namespace: &str, name: &str) {
        if let Ok(mut s) = self.0.lock() {
            let key = (namespace.to_owned(), name.to_owned());
            s.live.remove(&key);
            s.undeleted.remove(&key);
        }
    }
    pub fn failed(&self, namespace: &str, name: &str, why: &str) {
        if let Ok(mut s) = self.0.lock() {
            s.undeleted
                .insert((namespace.into(), name.into()), why.into());
        }
    }
    fn live(&self) -> Vec<(String, String)> {
        self.0
            .lock()
            .map(|s| s.live.iter().cloned().collect())
            .unwrap_or_default()
    }
    /// One line per probe pod that is still in the cluster, with how to remove it.
    pub fn left_behind(&self) -> Vec<String> {
        let Ok(s) = self.0.lock() else {
            return vec!["internal error: probe pod registry poisoned".into()];
        };
        s.live
            .iter()
            .map(|(ns, name)| {
                let why = s
                    .undeleted
                    .get(&(ns.clone(), name.clone()))
                    .map(|w| format!(": {w}"))
                    .unwrap_or_default();
                format!(
                    "probe pod {ns}/{name} could not be deleted{why} (kubectl delete pod -n {ns} {name})"
                )
            })
            .collect()
    }
}

/// The probes a grade runs: those of the checks graded (one step or all), with every variable
/// set and not skipped by their own `skip:` (judged on the listed objects in `facts`).
pub fn planned(plan: &Plan, step: Option<&str>, facts: &dyn Facts) -> Vec<(String, Probe)> {
    graded(plan, step, facts, |body| match body {
        Body::Probe(b) => Some(b.probe.clone()),
        _ => None,
    })
}

/// The distributions a grade sends, chosen as [`planned`] chooses probes.
pub fn planned_distributions(
    plan: &Plan,
    step: Option<&str>,
    facts: &dyn Facts,
) -> Vec<(String, DistributionBody)> {
    graded(plan, step, facts, |body| match body {
        Body::Distribution(d) => Some(d.clone()),
        _ => None,
    })
}

/// `pick` of the bodies of the checks graded, by check id (see [`planned`]).
fn graded<T>(
    plan: &Plan,
    step: Option<&str>,
    facts: &dyn Facts,
    pick: impl Fn(&Body) -> Option<T>,
) -> Vec<(String, T)> {
    plan.steps
        .iter()
        .filter(|s| step.is_none_or(|id| s.id == id))
        .flat_map(|s| &s.checks)
        .filter(|pc| pc.missing.is_empty() && skip_reason(&pc.check, facts).is_none())
        .filter_map(|pc| Some((pc.check.id.clone(), pick(&pc.check.body)?)))
        .collect()
}

/// A distribution's two time limits from its `timeout` (the whole run, probe pod start-up
/// included): each request gets a tenth of it (1 to 10 s), and no request starts later than two
/// thirds of it after the first, so that the report is usually written before the probe pod's
/// deadline (`activeDeadlineSeconds`, the whole `timeout`, counted from its creation) or the
/// exec's timeout ends the run. A pod that took more than the last third to start can still be
/// cut off: then it did not finish, an error like a probe pod's.
pub fn distribution_limits(timeout: Duration) -> (Duration, Duration) {
    let request = (timeout / 10).clamp(Duration::from_secs(1), Duration::from_secs(10));
    let sending = (timeout * 2 / 3).max(Duration::from_secs(1));
    (request, sending)
}

/// Why a distribution from a probe pod that should be in the mesh and got no sidecar counts
/// every answer as failed: the client's sidecar is what applies a VirtualService's weights.
pub const NO_SIDECAR: &str =
    "the probe pod got no istio-proxy sidecar, so the mesh did not route its requests";

pub struct Prober {
    pub client: kube::Client,
    pub kubectl: Kubectl,
    /// Labels this grade's probe pods (`labctl.dev/run`).
    pub run_id: String,
    pub live: LivePods,
}

impl Prober {
    pub fn new(client: kube::Client, kubectl: Kubectl) -> Self {
        Prober {
            client,
            kubectl,
            run_id: run_id(),
            live: LivePods::default(),
        }
    }

    /// Every probe once (a probe used by two checks runs once), at most [`CONCURRENCY`] at a time.
    pub async fn run_all(
        &self,
        probes: &[(String, Probe)],
        objects: &ObjectSet,
    ) -> BTreeMap<Probe, ProbeFact> {
        each_once(probes, |check, probe| self.run_one(check, probe, objects)).await
    }

    /// Every distribution once, as [`Prober::run_all`] runs probes: each in one probe pod, exec
    /// or loop of labctl's own requests.
    pub async fn run_distributions(
        &self,
        distributions: &[(String, DistributionBody)],
        objects: &ObjectSet,
    ) -> BTreeMap<DistributionBody, DistributionFact> {
        each_once(distributions, |check, body| {
            self.run_distribution(check, body, objects)
        })
        .await
    }

    /// Delete every probe pod still alive; returns those still there afterwards.
    pub async fn clean_up(&self) -> Vec<String> {
        let pods = self.live.live();
        futures::future::join_all(
            pods.iter()
                .map(|(ns, name)| pod::delete(&self.client, ns, name, &self.live)),
        )
        .await;
        self.live.left_behind()
    }

    async fn run_one(&self, check: &str, probe: &Probe, objects: &ObjectSet) -> ProbeFact {
        let url = match http::url(probe, objects) {
            Ok(u) => u,
            Err(e) => return ProbeFact::Failed(e.to_string()),
        };
        let request_timeout =
            (probe.timeout / 2).clamp(Duration::from_secs(1), Duration::from_secs(10));
        match &probe.from {
            ProbeFrom::Labctl => match http::get(&url, request_timeout).await {
                Ok(reply) => ProbeFact::Ran(ProbeOutcome {
                    reply,
                    sidecar: None,
                }),
                Err(e) => ProbeFact::Failed(e.to_string()),
            },
            ProbeFrom::Pod(p) => {
                let script = curl::script(&url, request_timeout, Runner::ProbePod { mesh: p.mesh });
                let manifest = pod::manifest(p, &script, &self.run_id, check, probe.timeout);
                pod::run(&self.client, &manifest, probe.timeout, &self.live).await
            }
            ProbeFrom::Exec(e) => {
                let script = curl::script(&url, request_timeout, Runner::Exec);
                let stdout = self.exec(e, &script, probe.timeout, objects).await;
                match stdout.and_then(|out| curl::parse(&out)) {
                    Ok(reply) => ProbeFact::Ran(ProbeOutcome {
                        reply,
                        sidecar: None,
                    }),
                    Err(why) => ProbeFact::Failed(why.to_string()),
                }
            }
        }
    }
}

impl Prober {
    async fn run_distribution(
        &self,
        check: &str,
        body: &DistributionBody,
        objects: &ObjectSet,
    ) -> DistributionFact {
        let probe = &body.probe;
        let url = match http::url(probe, objects) {
            Ok(u) => u,
            Err(e) => return DistributionFact::Failed(e.to_string()),
        };
        let (request_timeout, sending) = distribution_limits(probe.timeout);
        let answers = match &probe.from {
            ProbeFrom::Labctl => distribution::from_labctl(&url, body, request_timeout, sending)
                .await
                .map_err(|e| e.to_string()),
            ProbeFrom::Pod(p) => {
                let runner = Runner::ProbePod { mesh: p.mesh };
                let script = distribution::script(&url, body, request_timeout, sending, runner);
                let manifest = pod::manifest(p, &script, &self.run_id, check, probe.timeout);
                match pod::run_script(&self.client, &manifest, probe.timeout, &self.live).await {
                    Ok(done) if p.mesh && !done.sidecar => {
                        Ok(vec![
                            Answer::Failed(NO_SIDECAR.into());
                            body.requests as usize
                        ])
                    }
                    Ok(done) => distribution::read(&done.message, body)
                        .map_err(|e| format!("probe pod {}: {e}", done.name)),
                    Err(why) => Err(why),
                }
            }
            ProbeFrom::Exec(e) => {
                let script =
                    distribution::script(&url, body, request_timeout, sending, Runner::Exec);
                self.exec(e, &script, probe.timeout, objects)
                    .await
                    .and_then(|out| distribution::read(&out, body))
                    .map_err(|e| e.to_string())
            }
        };
        match answers {
            Ok(a) => DistributionFact::Ran(a),
            Err(why) => DistributionFact::Failed(why),
        }
    }

    /// Run `script` in the first running pod `e` picks from the listed pods; its stdout.
    async fn exec(
        &self,
        e: &ProbeExec,
        script: &str,
        timeout: Duration,
        objects: &ObjectSet,
    ) -> Result<String, ProbeError> {
        let query = Query {
            api_version: "v1".into(),
            kind: "Pod".into(),
            namespace: Some(e.namespace.clone()),
        };
        let name = objects
            .get(&query)
            .map_err(|err| ProbeError::Services(err.clone()))
            .and_then(|pods| exec::pick_pod(e, pods))?;
        exec::run(&self.client, &self.kubectl, e, &name, script, timeout).await
    }
}

/// Run `run` once per distinct value of `items` (the first check naming it labels its probe
/// pod), at most [`CONCURRENCY`] at a time.
async fn each_once<'a, K, V, F, Fut>(items: &'a [(String, K)], run: F) -> BTreeMap<K, V>
where
    K: Ord + Clone,
    F: Fn(&'a str, &'a K) -> Fut,
    Fut: std::future::Future<Output = V>,
{
    let mut unique: BTreeMap<&K, &str> = BTreeMap::new();
    for (check, item) in items {
        unique.entry(item).or_insert(check);
    }
    futures::stream::iter(unique)
        .map(|(item, check)| {
            let done = run(check, item);
            async move { (item.clone(), done.await) }
        })
        .buffer_unordered(CONCURRENCY)
        .collect()
        .await
}

/// A short id for this grade's probe pods: time and process id, base 36.
fn run_id() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    let mut n = nanos ^ ((std::process::id() as u128) << 64);
    let mut out = String::new();
    for _ in 0..10 {
        out.push(char::from_digit((n % 36) as u32, 36).unwrap_or('0'));
        n /= 36;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_distributions_limits_come_from_its_timeout() {
        let s = Duration::from_secs;
        assert_eq!(distribution_limits(s(120)), (s(10), s(80)));
        assert_eq!(distribution_limits(s(30)), (s(3), s(20)));
        assert_eq!(
            distribution_limits(s(2)),
            (s(1), Duration::from_nanos(1_333_333_333))
        );
    }

    #[test]
    fn the_registry_reports_what_it_could_not_delete() {
        let live = LivePods::default();
        live.add("default", "labctl-probe-a");
        live.add("pets", "labctl-probe-b");
        live.remove("default", "labctl-probe-a");
        live.failed("pets", "labctl-probe-b", "connection refused");
        assert_eq!(
            live.left_behind(),
            [
                "probe pod pets/labctl-probe-b could not be deleted: connection refused (kubectl delete pod -n pets labctl-probe-b)"
            ]
        );
        live.remove("pets", "labctl-probe-b");
        assert!(live.left_behind().is_empty());
        assert_eq!(run_id().len(), 10);
    }
}
