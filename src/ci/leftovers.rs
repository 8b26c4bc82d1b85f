//! Which objects a lab run left behind. Before the first step, labctl lists everything the
//! lab's checks read and remembers the objects' UIDs; after the cleanup it lists again. An
//! object it sees now whose UID it did not see before was created by the run (by the lab's
//! commands or by controllers acting on them) and the cleanup missed it. Objects that existed
//! before the run are never reported, so a shared cluster's own objects are not blamed on the
//! lab.

use crate::ci::report::Leftover;
use crate::eval::resource::select;
use crate::labfile::lab::{Body, Selector};
use crate::plan::resolve::Plan;
use crate::view::objects::ObjectSet;
use crate::view::query::{Query, queries_of};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};

/// The query for every Namespace, which the leftover listing always includes.
pub fn namespaces() -> Query {
    Query {
        api_version: "v1".into(),
        kind: "Namespace".into(),
        namespace: None,
    }
}

/// The UIDs of every listed object.
pub fn uids(objects: &ObjectSet) -> BTreeSet<String> {
    objects
        .lists
        .values()
        .filter_map(|r| r.as_ref().ok())
        .flatten()
        .filter_map(|o| o.pointer("/metadata/uid").and_then(Value::as_str))
        .map(str::to_owned)
        .collect()
}

/// The lab's own objects among a listing: everything in the namespaces its checks look into,
/// and, of cluster-scoped kinds (Namespaces), only what one of its selectors picks — so the
/// other tenants of a shared cluster, creating namespaces while the lab runs, are not blamed.
pub fn scope(plan: &Plan) -> BTreeMap<Query, Vec<Selector>> {
    let mut out: BTreeMap<Query, Vec<Selector>> = BTreeMap::new();
    // The same bodies `view::query::queries` lists for: the check, its diagnoses, its skip.
    let bodies = plan.steps.iter().flat_map(|s| &s.checks);
    for body in bodies.flat_map(|pc| pc.check.bodies()) {
        if let (Body::Resource(b), Some(q)) = (body, queries_of(body).pop()) {
            out.entry(q).or_default().push(b.selector.clone());
        }
    }
    out
}

/// Whether `obj`, listed for `query`, is in the lab's scope (see [`scope`]).
fn in_scope(scope: &BTreeMap<Query, Vec<Selector>>, query: &Query, obj: &Value) -> bool {
    if query.namespace.is_some() {
        return true;
    }
    let one = std::slice::from_ref(obj);
    scope
        .get(query)
        .into_iter()
        .flatten()
        .any(|sel| select(sel, one).is_ok_and(|found| !found.is_empty()))
}

/// Objects in `after` that `before` did not have, in the lab's `scope`. Objects being deleted,
/// and everything in a namespace being deleted, are not leftovers: they are on their way out
/// (`after` should list Namespaces for the latter, see [`namespaces`]).
pub fn leftovers(
    before: &BTreeSet<String>,
    after: &ObjectSet,
    scope: &BTreeMap<Query, Vec<Selector>>,
) -> Vec<Leftover> {
    let terminating: BTreeSet<&str> = after
        .get(&namespaces())
        .unwrap_or_default()
        .iter()
        .filter(|ns| ns["metadata"].get("deletionTimestamp").is_some())
        .filter_map(|ns| ns["metadata"]["name"].as_str())
        .collect();
    let mut out: BTreeSet<Leftover> = BTreeSet::new();
    for (query, list) in &after.lists {
        for obj in list.iter().flatten() {
            let meta = &obj["metadata"];
            let Some(uid) = meta["uid"].as_str() else {
                continue;
            };
            let in_terminating = meta["namespace"]
                .as_str()
                .is_some_and(|ns| terminating.contains(ns));
            if before.contains(uid)
                || meta.get("deletionTimestamp").is_some()
                || in_terminating
                || !in_scope(scope, query, obj)
            {
                continue;
            }
            out.insert(Leftover {
                api_version: query.api_version.clone(),
                kind: query.kind.clone(),
                namespace: meta["namespace"].as_str().map(str::to_owned),
                name: meta["name"].as_str().unwrap_or("?").to_owned(),
            });
        }
    }
    out.into_iter().collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::view::query::Query;
    use serde_json::json;

    fn set(lists: Vec<(&str, Option<&str>, Vec<Value>)>) -> ObjectSet {
        let mut s = ObjectSet::default();
        for (kind, ns, items) in lists {
            let q = Query {
                api_version: "v1".into(),
                kind: kind.into(),
                namespace: ns.map(str::to_owned),
            };
            s.insert(q, Ok(items));
        }
        s
    }

    /// A scope that selects every object of every listed kind.
    fn everything(set: &ObjectSet) -> BTreeMap<Query, Vec<Selector>> {
        set.lists
            .keys()
            .map(|q| {
                let sel = Selector {
                    api_version: q.api_version.clone(),
                    kind: q.kind.clone(),
                    namespace: q.namespace.clone(),
                    name: None,
                    labels: None,
                };
                (q.clone(), vec![sel])
            })
            .collect()
    }

    #[test]
    fn cluster_scoped_objects_count_only_when_a_check_selects_them() {
        let after = set(vec![(
            "Namespace",
            None,
            vec![
                obj("pets", None, "u-pets"),
                obj("someone-elses", None, "u-other"),
            ],
        )]);
        let q = after.lists.keys().next().unwrap().clone();
        let sel = Selector {
            api_version: "v1".into(),
            kind: "Namespace".into(),
            namespace: None,
            name: Some("pets".into()),
            labels: None,
        };
        let scope = BTreeMap::from([(q, vec![sel])]);
        let found = leftovers(&BTreeSet::new(), &after, &scope);
        assert_eq!(
            found.iter().map(ToString::to_string).collect::<Vec<_>>(),
            ["Namespace pets"]
        );
    }

    fn obj(name: &str, ns: Option<&str>, uid: &str) -> Value {
        json!({"metadata": {"name": name, "namespace": ns, "uid": uid}})
    }

    #[test]
    fn reports_only_what_the_run_created_and_the_cleanup_missed() {
        let before = set(vec![(
            "Namespace",
            None,
            vec![obj("default", None, "u-default")],
        )]);
        let mut terminating = obj("pets", None, "u-pets");
        terminating["metadata"]["deletionTimestamp"] = json!("2026-11-23T12:00:00Z");
        let after = set(vec![
            (
                "Namespace",
                None,
                vec![obj("default", None, "u-default"), terminating],
            ),
            (
                "ConfigMap",
                Some("aks-istio-system"),
                vec![obj(
                    "istio-shared-configmap-asm-1-23",
                    Some("aks-istio-system"),
                    "u-cm",
                )],
            ),
        ]);
        let found = leftovers(&uids(&before), &after, &everything(&after));
        assert_eq!(
            found.iter().map(ToString::to_string).collect::<Vec<_>>(),
            ["ConfigMap aks-istio-system/istio-shared-configmap-asm-1-23"]
        );
    }

    #[test]
    fn objects_in_a_terminating_namespace_are_on_their_way_out() {
        let mut ns = obj("aks-istio-system", None, "u-ns");
        ns["metadata"]["deletionTimestamp"] = json!("2026-11-23T12:00:00Z");
        let after = set(vec![
            ("Namespace", None, vec![ns]),
            (
                "ConfigMap",
                Some("aks-istio-system"),
                vec![obj("kube-root-ca.crt", Some("aks-istio-system"), "u-cm")],
            ),
        ]);
        assert_eq!(
            leftovers(&BTreeSet::new(), &after, &everything(&after)),
            vec![]
        );
    }

    #[test]
    fn a_recreated_object_is_new_even_with_the_same_name() {
        let before = set(vec![("Namespace", None, vec![obj("pets", None, "u-1")])]);
        let after = set(vec![("Namespace", None, vec![obj("pets", None, "u-2")])]);
        assert_eq!(
            leftovers(&uids(&before), &after, &everything(&after)).len(),
            1
        );
    }
}
