//! Fixture states held in memory: the harness's fixture files (index, file order, rendering)
//! applied to a map instead of a server, so the lab can be graded against them offline — fast
//! and exact. The live tests apply the same files to a real API server.

use crate::harness::{FixtureLab, Profile, State as FixtureState, render, state_paths};
use labctl::view::objects::ObjectSet;
use labctl::view::query::Query;
use serde_json::Value;
use std::collections::BTreeMap;

/// A cluster's objects, keyed by (group, kind, namespace, name); versions are ignored, as a
/// real server converts between the versions it serves.
#[derive(Default, Clone)]
pub struct State {
    objects: BTreeMap<(String, String, String, String), Value>,
}

fn group(api_version: &str) -> String {
    api_version
        .rsplit_once('/')
        .map(|(g, _)| g.to_owned())
        .unwrap_or_default()
}

fn key(v: &Value) -> (String, String, String, String) {
    let s = |p: &str| {
        v.pointer(p)
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_owned()
    };
    (
        group(&s("/apiVersion")),
        s("/kind"),
        s("/metadata/namespace"),
        s("/metadata/name"),
    )
}

impl State {
    /// The objects of an istio-aks fixture state for a profile, with the lab variables `vars`.
    pub fn of(profile: Profile, state: &FixtureState, vars: &BTreeMap<String, String>) -> State {
        State::of_lab(FixtureLab::ISTIO_AKS, profile, state, vars)
    }

    /// The objects of a fixture state of `lab` (a dependent lab's includes its prerequisite's
    /// base state) for a profile, with the lab variables `vars`.
    pub fn of_lab(
        lab: FixtureLab,
        profile: Profile,
        state: &FixtureState,
        vars: &BTreeMap<String, String>,
    ) -> State {
        State::of_files(&state_paths(lab, profile, state), vars)
    }

    /// The objects of fixture files applied in order (another lab's fixture states: a lab that
    /// requires istio-aks starts from its files, then adds its own).
    pub fn of_files(files: &[std::path::PathBuf], vars: &BTreeMap<String, String>) -> State {
        let mut out = State::default();
        for path in files {
            let rel = path.display();
            let text = render(&std::fs::read_to_string(path).unwrap(), vars);
            let docs: Vec<Option<Value>> =
                serde_saphyr::from_multiple(&text).unwrap_or_else(|e| panic!("{rel}: {e}"));
            for doc in docs.into_iter().flatten() {
                if doc["kind"] == "Delete" {
                    for item in doc["items"].as_array().expect("Delete has items") {
                        let k = (
                            group(item["apiVersion"].as_str().unwrap_or("")),
                            item["kind"].as_str().unwrap_or("").to_owned(),
                            item["namespace"].as_str().unwrap_or("").to_owned(),
                            item["name"].as_str().unwrap_or("").to_owned(),
                        );
                        assert!(
                            out.objects.remove(&k).is_some(),
                            "{rel}: Delete of missing {k:?}"
                        );
                    }
                } else {
                    out.objects.insert(key(&doc), doc);
                }
            }
        }
        out
    }

    /// The same state with every pod's `istio-proxy` made a native sidecar ([`make_sidecar_native`]).
    pub fn with_native_sidecars(&self) -> State {
        let mut out = self.clone();
        for v in out.objects.values_mut() {
            make_sidecar_native(v);
        }
        out
    }

    /// How many pods run `istio-proxy` as a native sidecar.
    pub fn pods_with_native_sidecars(&self) -> usize {
        self.objects
            .values()
            .filter(|v| v["kind"] == "Pod")
            .filter(|v| {
                v["spec"]["initContainers"].as_array().is_some_and(|l| {
                    l.iter()
                        .any(|c| c["name"] == "istio-proxy" && c["restartPolicy"] == "Always")
                })
            })
            .count()
    }

    /// Add (or replace) one object, as a test's own variation of a state.
    pub fn insert(&mut self, doc: Value) {
        self.objects.insert(key(&doc), doc);
    }

    /// Change every object in place (a shape the test server cannot hold, e.g. native sidecars).
    pub fn map_objects(&mut self, mut f: impl FnMut(&mut Value)) {
        self.objects.values_mut().for_each(&mut f);
    }

    /// Answer the given queries as a server would: same group and kind, namespace if given.
    pub fn object_set(&self, queries: impl IntoIterator<Item = Query>) -> ObjectSet {
        let mut set = ObjectSet::default();
        for q in queries {
            let items: Vec<Value> = self
                .objects
                .iter()
                .filter(|((g, k, ns, _), _)| {
                    *g == group(&q.api_version)
                        && *k == q.kind
                        && q.namespace.as_ref().is_none_or(|n| n == ns)
                })
                .map(|(_, v)| {
                    let mut v = v.clone();
                    v["apiVersion"] = Value::String(q.api_version.clone());
                    v
                })
                .collect();
            set.insert(q, Ok(items));
        }
        set
    }
}

/// Turns a Pod's `istio-proxy` container into a native sidecar, the layout of native sidecar mode
/// (Kubernetes ≥ 1.28; the add-on's default on recent AKS versions and revisions): the container
/// moves from `spec.containers` to the end of `spec.initContainers` with `restartPolicy: Always`,
/// and its status from `status.containerStatuses` to `status.initContainerStatuses`. Returns
/// whether it changed anything (not a Pod, no `istio-proxy` container, or a gateway pod whose only
/// container is `istio-proxy`: nothing).
///
/// The test API server (1.20) drops `initContainers[].restartPolicy`, so it cannot hold such a
/// pod: the lab is graded with native sidecars from objects converted this way (in memory, or
/// in a snapshot file).
pub fn make_sidecar_native(obj: &mut Value) -> bool {
    if obj["kind"] != "Pod" {
        return false;
    }
    let Some(containers) = obj["spec"]["containers"].as_array_mut() else {
        return false;
    };
    // A gateway's istio-proxy is the pod's only container, the gateway itself: no sidecar to move.
    let Some(at) = containers.iter().position(|c| c["name"] == "istio-proxy") else {
        return false;
    };
    if containers.len() < 2 {
        return false;
    }
    let mut proxy = containers.remove(at);
    proxy["restartPolicy"] = Value::String("Always".into());
    push(&mut obj["spec"]["initContainers"], proxy);
    if let Some(statuses) = obj["status"]["containerStatuses"].as_array_mut()
        && let Some(at) = statuses.iter().position(|c| c["name"] == "istio-proxy")
    {
        let status = statuses.remove(at);
        push(&mut obj["status"]["initContainerStatuses"], status);
    }
    true
}

/// Appends to a JSON array, making it one if it is missing.
fn push(list: &mut Value, item: Value) {
    if !list.is_array() {
        *list = Value::Array(Vec::new());
    }
    list.as_array_mut().expect("an array").push(item);
}
