//! The objects fetched for a plan, keyed by query, plus what went wrong per query. This is
//! all an evaluation sees: live clusters and snapshot files both produce an `ObjectSet`.

use crate::view::query::Query;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;

/// Why a query has no objects to offer. Each is a "could not grade" for the checks that need it
/// — except `NotServed`, which is a fact about the cluster (e.g. Istio's CRDs are not installed)
/// and is graded as "nothing of that kind exists".
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[serde(tag = "reason", rename_all = "camelCase")]
pub enum FetchError {
    #[error("the cluster does not serve {kind} in {api_version}")]
    NotServed { api_version: String, kind: String },
    #[error("forbidden: cannot {verb} {resource}{}", in_ns(.namespace))]
    Forbidden {
        verb: String,
        resource: String,
        namespace: Option<String>,
        message: String,
    },
    #[error("unauthorized: the cluster rejected the credentials ({message})")]
    Unauthorized { message: String },
    #[error("cluster unreachable: {message}")]
    Unreachable { message: String },
    #[error("request failed: {message}")]
    Other { message: String },
    #[error("not captured in this snapshot")]
    NotInSnapshot,
}

fn in_ns(ns: &Option<String>) -> String {
    ns.as_ref()
        .map(|n| format!(" in namespace {n}"))
        .unwrap_or_default()
}

/// Objects per query (each object as JSON, with apiVersion and kind set). `T` is how an object
/// is held: parsed (`Value`, what checks read) or, where many are held at once (a class report),
/// as compact text to be parsed when needed.
#[derive(Debug, Clone)]
pub struct ObjectSet<T = Value> {
    pub lists: BTreeMap<Query, Result<Vec<T>, FetchError>>,
}

impl<T> Default for ObjectSet<T> {
    fn default() -> Self {
        ObjectSet {
            lists: BTreeMap::new(),
        }
    }
}

impl<T> ObjectSet<T> {
    /// The objects for a query: `NotServed` reads as an empty list; other failures are errors.
    pub fn get(&self, q: &Query) -> Result<&[T], FetchError> {
        match self.lists.get(q) {
            Some(Ok(items)) => Ok(items),
            Some(Err(FetchError::NotServed { .. })) => Ok(&[]),
            Some(Err(e)) => Err(e.clone()),
            None => Err(FetchError::NotInSnapshot),
        }
    }

    pub fn insert(&mut self, q: Query, items: Result<Vec<T>, FetchError>) {
        self.lists.insert(q, items);
    }
}
