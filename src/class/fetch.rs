//! Fetching for many learners on one cluster. Each learner's plan asks for a few LISTs per
//! namespace; on a shared cluster the same queries repeat (every plan reads the control plane's
//! namespace) and the same kinds are asked for in many namespaces. So, per connection:
//!
//! 1. identical queries are fetched once (the union of all learners' queries);
//! 2. a kind asked for in several namespaces (or across all namespaces anyway) is listed once
//!    across all namespaces, and each namespace's query is served a slice of that list (a LIST
//!    comes back sorted by namespace, so the slice is contiguous: nothing is copied);
//! 3. if the cluster-wide LIST is forbidden (RBAC that allows only some namespaces), those
//!    namespaces are listed one by one instead.
//!
//! Everything rides on [`fetch_items`]: LISTs where the kinds are, discovery only for kinds not
//! found there, bounded concurrency, one deadline, per-query errors, all on the connection's one
//! HTTP/2 connection. Only get and list are sent.
//!
//! Objects are kept as compact JSON text ([`RawObject`]), not parsed: a class's lists are held
//! all at once, and Kubernetes objects are mostly small maps, which as `serde_json::Value` take
//! ~10x their text (200 learners: 229 MB peak RSS parsed, for ~11 MB of JSON). Each learner's
//! objects are parsed while that learner is graded ([`LearnerFacts`](super::facts::LearnerFacts)).

use crate::view::connect::Connection;
use crate::view::live::{FetchOptions, ListItem, fetch_items};
use crate::view::objects::{FetchError, ObjectSet};
use crate::view::query::Query;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::ops::Range;

/// A fetched object as compact JSON (sanitized, `apiVersion` and `kind` set), with the
/// namespace and name it is sliced and filtered by.
#[derive(Debug, Clone, PartialEq)]
pub struct RawObject {
    /// Empty for a cluster-scoped object.
    pub namespace: Box<str>,
    pub name: Box<str>,
    pub json: Box<str>,
}

impl ListItem for RawObject {
    fn from_object(obj: Value) -> RawObject {
        let meta = |key: &str| -> Box<str> {
            obj.get("metadata")
                .and_then(|m| m.get(key))
                .and_then(Value::as_str)
                .unwrap_or("")
                .into()
        };
        RawObject {
            namespace: meta("namespace"),
            name: meta("name"),
            json: obj.to_string().into(),
        }
    }
}

impl RawObject {
    pub fn parse(&self) -> Result<Value, FetchError> {
        serde_json::from_str(&self.json).map_err(|e| FetchError::Other {
            message: format!("cannot read a fetched {} object: {e}", self.name),
        })
    }
}

/// Fetched objects: lists by query, plus queries served as a slice of a wider list.
#[derive(Debug, Default)]
pub struct Fetched {
    pub set: ObjectSet<RawObject>,
    views: BTreeMap<Query, (Query, Range<usize>)>,
    /// LIST requests sent, and how many of them were cluster-wide in place of several.
    pub lists: usize,
    pub widened: usize,
}

impl Fetched {
    /// Parsed objects (a snapshot's), to be held as text like fetched ones.
    pub fn from_set(set: ObjectSet) -> Fetched {
        let lists = set
            .lists
            .into_iter()
            .map(|(q, res)| {
                let res = res.map(|items| items.into_iter().map(RawObject::from_object).collect());
                (q, res)
            })
            .collect();
        Fetched {
            set: ObjectSet { lists },
            ..Fetched::default()
        }
    }

    /// The objects for a query, as [`ObjectSet::get`] answers.
    pub fn get(&self, q: &Query) -> Result<&[RawObject], FetchError> {
        match self.views.get(q) {
            Some((wide, range)) => Ok(&self.set.get(wide)?[range.clone()]),
            None => self.set.get(q),
        }
    }

    /// The error that means nothing could be read for these queries: every one unreachable,
    /// unauthorized or forbidden (like [`first_fatal`](crate::view::live::first_fatal), which
    /// leaves forbidden to the checks: a class report says so once, on the learner's row).
    pub fn fatal<'a>(&self, queries: impl IntoIterator<Item = &'a Query>) -> Option<FetchError> {
        let mut first = None;
        for q in queries {
            match self.get(q) {
                Err(
                    e @ (FetchError::Unreachable { .. }
                    | FetchError::Unauthorized { .. }
                    | FetchError::Forbidden { .. }),
                ) => {
                    first.get_or_insert(e);
                }
                _ => return None,
            }
        }
        first
    }
}

fn kind_of(q: &Query) -> (String, String) {
    (q.api_version.clone(), q.kind.clone())
}

fn wide(kind: &(String, String)) -> Query {
    Query {
        api_version: kind.0.clone(),
        kind: kind.1.clone(),
        namespace: None,
    }
}

/// Fetch `wanted` on one connection (see the module docs); `widen` allows step 2.
pub async fn fetch_shared(
    conn: &Connection,
    wanted: &BTreeSet<Query>,
    opts: &FetchOptions,
    widen: bool,
) -> Fetched {
    let mut namespaces: BTreeMap<(String, String), (BTreeSet<Query>, bool)> = BTreeMap::new();
    for q in wanted {
        let e = namespaces.entry(kind_of(q)).or_default();
        match q.namespace {
            Some(_) => {
                e.0.insert(q.clone());
            }
            None => e.1 = true,
        }
    }
    let widened: BTreeSet<(String, String)> = namespaces
        .iter()
        .filter(|(_, (narrow, all))| widen && !narrow.is_empty() && (*all || narrow.len() >= 2))
        .map(|(k, _)| k.clone())
        .collect();
    let first_round: BTreeSet<Query> = wanted
        .iter()
        .map(|q| match widened.contains(&kind_of(q)) {
            true => wide(&kind_of(q)),
            false => q.clone(),
        })
        .collect();
    let report = fetch_items(conn, &first_round, opts).await;
    let mut out = Fetched {
        set: report.objects,
        lists: report.list_requests,
        widened: widened.len(),
        ..Fetched::default()
    };
    let mut fallback = BTreeSet::new();
    for kind in &widened {
        let wq = wide(kind);
        let narrow = &namespaces[kind].0;
        match out.set.lists.get_mut(&wq) {
            Some(Ok(items)) => {
                sort_by_namespace(items);
                for q in narrow {
                    let range = namespace_range(items, q.namespace.as_deref().unwrap_or(""));
                    out.views.insert(q.clone(), (wq.clone(), range));
                }
            }
            Some(Err(FetchError::Forbidden { .. })) => fallback.extend(narrow.iter().cloned()),
            Some(Err(e)) => {
                let e = e.clone();
                for q in narrow {
                    out.set.insert(q.clone(), Err(e.clone()));
                }
            }
            None => fallback.extend(narrow.iter().cloned()),
        }
    }
    if !fallback.is_empty() {
        let again = fetch_items(conn, &fallback, opts).await;
        out.lists += again.list_requests;
        for (q, res) in again.objects.lists {
            out.set.insert(q, res);
        }
    }
    out
}

/// Stable, and a no-op on what the API server sends (it lists in namespace/name order).
fn sort_by_namespace(items: &mut [RawObject]) {
    if !items.is_sorted_by(|a, b| a.namespace <= b.namespace) {
        items.sort_by(|a, b| a.namespace.cmp(&b.namespace));
    }
}

/// The items of namespace `ns` in a list sorted by namespace; all of them for a cluster-scoped
/// kind (items without a namespace), as a per-namespace LIST of such a kind answers.
fn namespace_range(items: &[RawObject], ns: &str) -> Range<usize> {
    if items.first().is_some_and(|v| v.namespace.is_empty()) {
        return 0..items.len();
    }
    let start = items.partition_point(|v| &*v.namespace < ns);
    let end = items.partition_point(|v| &*v.namespace <= ns);
    start..end
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn pod(ns: &str, name: &str) -> RawObject {
        RawObject::from_object(json!({"metadata": {"namespace": ns, "name": name}}))
    }

    fn q(ns: Option<&str>) -> Query {
        Query {
            api_version: "v1".into(),
            kind: "Pod".into(),
            namespace: ns.map(str::to_owned),
        }
    }

    #[test]
    fn slices_a_cluster_wide_list_by_namespace() {
        let mut items = vec![pod("b", "1"), pod("a", "1"), pod("b", "2"), pod("c", "1")];
        sort_by_namespace(&mut items);
        assert_eq!(namespace_range(&items, "a"), 0..1);
        assert_eq!(namespace_range(&items, "b"), 1..3);
        assert_eq!(namespace_range(&items, "zz"), 4..4);
        let nodes: Vec<RawObject> = [
            json!({"metadata": {"name": "n1"}}),
            json!({"metadata": {"name": "n2"}}),
        ]
        .into_iter()
        .map(RawObject::from_object)
        .collect();
        assert_eq!(namespace_range(&nodes, "a"), 0..2);

        let mut f = Fetched::default();
        f.set.insert(q(None), Ok(items));
        f.views.insert(q(Some("b")), (q(None), 1..3));
        let names: Vec<&str> = f
            .get(&q(Some("b")))
            .unwrap()
            .iter()
            .map(|v| &*v.name)
            .collect();
        assert_eq!(
            f.get(&q(Some("b"))).unwrap()[1].parse().unwrap(),
            json!({"metadata": {"namespace": "b", "name": "2"}})
        );
        assert_eq!(names, ["1", "2"]);
        assert_eq!(f.get(&q(None)).unwrap().len(), 4);
        assert_eq!(f.get(&q(Some("x"))), Err(FetchError::NotInSnapshot));
    }

    #[test]
    fn fatal_only_when_nothing_answered() {
        let down = FetchError::Unreachable {
            message: "refused".into(),
        };
        let mut set = ObjectSet::default();
        set.insert(q(Some("a")), Err(down.clone()));
        set.insert(q(Some("b")), Err(down.clone()));
        set.insert(q(Some("c")), Ok(vec![]));
        let f = Fetched::from_set(set);
        assert_eq!(f.fatal(&[q(Some("a")), q(Some("b"))]), Some(down));
        assert_eq!(f.fatal(&[q(Some("a")), q(Some("c"))]), None);
    }
}
