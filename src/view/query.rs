//! What a plan needs from the cluster: one LIST per (apiVersion, kind, namespace). Name and
//! label selection happen client-side on the listed objects, so ten checks on pods in `pets`
//! cost one request, not ten.

use crate::labfile::lab::{Body, HttpTarget, Probe, ProbeFrom};
use crate::plan::resolve::Plan;
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;

/// One LIST request. `namespace: None` lists across all namespaces (or a cluster-scoped kind).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Query {
    pub api_version: String,
    pub kind: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
}

impl std::fmt::Display for Query {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.namespace {
            Some(ns) => write!(f, "{} ({}) in {ns}", self.kind, self.api_version),
            None => write!(f, "{} ({}) in all namespaces", self.kind, self.api_version),
        }
    }
}

/// The queries that serve a body: one for a resource, none for a command, what a probe reads.
pub fn queries_of(body: &Body) -> Vec<Query> {
    match body {
        Body::Resource(b) => vec![Query {
            api_version: b.selector.api_version.clone(),
            kind: b.selector.kind.clone(),
            namespace: b.selector.namespace.clone(),
        }],
        Body::Command(_) => Vec::new(),
        Body::Probe(b) => probe_queries(&b.probe),
        Body::Distribution(b) => probe_queries(&b.probe),
    }
}

/// What a probe reads before it runs: the pods it may exec into, or the Service whose external
/// address it calls. Read through the plan's LISTs, so snapshots capture them too.
pub fn probe_queries(probe: &Probe) -> Vec<Query> {
    let core = |kind: &str, ns: &str| Query {
        api_version: "v1".into(),
        kind: kind.into(),
        namespace: Some(ns.to_owned()),
    };
    let mut out = Vec::new();
    if let HttpTarget::Service { namespace, .. } = &probe.http.target {
        out.push(core("Service", namespace));
    }
    if let ProbeFrom::Exec(exec) = &probe.from {
        out.push(core("Pod", &exec.namespace));
    }
    out
}

/// Every query the plan's checks and diagnoses need (optionally for one step only). Checks
/// with unset variables are left out: they are skipped, not graded.
pub fn queries(plan: &Plan, step: Option<&str>) -> BTreeSet<Query> {
    let mut out = BTreeSet::new();
    for s in plan
        .steps
        .iter()
        .filter(|s| step.is_none_or(|id| s.id == id))
    {
        for pc in s.checks.iter().filter(|c| c.missing.is_empty()) {
            out.extend(pc.check.bodies().flat_map(queries_of));
        }
    }
    out
}
