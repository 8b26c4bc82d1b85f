//! Running a grade's probes: every probe of the plan once, concurrently (a probe pod spends
//! most of its life waiting for a node, an image and a sidecar, not using our CPU), before the
//! checks are evaluated; the results become `Facts`. Probe pods still alive are tracked so that
//! Ctrl-C deletes them ([`Prober::clean_up`], called by `grade::session::Session::guarded`), and
//! any that could not be deleted are reported by the grade.

use crate::eval::diagnose::skip_reason;
use crate::eval::facts::{Facts, ProbeFact};
use crate::eval::probe::ProbeOutcome;
use crate::labfile::lab::{Body, Probe, ProbeFrom};
use crate::plan::resolve::Plan;
use crate::probe::curl::Runner;
use crate::probe::error::ProbeError;
use crate::probe::exec::Kubectl;
use crate::probe::{curl, exec, http, pod};
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
    plan.steps
        .iter()
        .filter(|s| step.is_none_or(|id| s.id == id))
        .flat_map(|s| &s.checks)
        .filter(|pc| pc.missing.is_empty() && skip_reason(&pc.check, facts).is_none())
        .filter_map(|pc| match &pc.check.body {
            Body::Probe(b) => Some((pc.check.id.clone(), b.probe.clone())),
            _ => None,
        })
        .collect()
}

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
        let mut unique: BTreeMap<&Probe, &str> = BTreeMap::new();
        for (check, probe) in probes {
            unique.entry(probe).or_insert(check);
        }
        futures::stream::iter(unique)
            .map(|(probe, check)| async move {
                (probe.clone(), self.run_one(check, probe, objects).await)
            })
            .buffer_unordered(CONCURRENCY)
            .collect()
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
                let query = Query {
                    api_version: "v1".into(),
                    kind: "Pod".into(),
                    namespace: Some(e.namespace.clone()),
                };
                let target = objects
                    .get(&query)
                    .map_err(|err| ProbeError::Services(err.clone()))
                    .and_then(|pods| exec::pick_pod(e, pods));
                let script = curl::script(&url, request_timeout, Runner::Exec);
                let stdout = match target {
                    Ok(name) => {
                        exec::run(
                            &self.client,
                            &self.kubectl,
                            e,
                            &name,
                            &script,
                            probe.timeout,
                        )
                        .await
                    }
                    Err(why) => Err(why),
                };
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
