//! What a plan needs from the cluster: one LIST per (apiVersion, kind, namespace). Name and
//! label selection happen client-side on the listed objects, so ten checks on pods in `pets`
//! cost one request, not ten.

use crate::plan::resolve::Plan;
use crate::spec::lab::{Body, Target};
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

/// The query that serves a resource body, or `None` for command checks.
pub fn query_of(body: &Body) -> Option<Query> {
    match &body.target {
        Target::Resource(sel) => Some(Query {
            api_version: sel.api_version.clone(),
            kind: sel.kind.clone(),
            namespace: sel.namespace.clone(),
        }),
        Target::Command(_) => None,
    }
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
            out.extend(query_of(&pc.check.body));
            for d in &pc.check.diagnoses {
                out.extend(d.when.iter().filter_map(query_of));
            }
        }
    }
    out
}
