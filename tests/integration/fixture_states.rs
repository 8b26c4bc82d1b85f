//! Fixture states held in memory: the objects a cluster would contain after each istio-aks
//! step (or a known mistake), built from `tests/fixtures/istio-aks/` without a server. Used to
//! grade the lab offline (fast, exact) and to seed live tests with the same expectations.

use labctl::view::objects::ObjectSet;
use labctl::view::query::Query;
use serde::Deserialize;
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

#[derive(Debug, Deserialize)]
pub struct Index {
    pub steps: Vec<StepEntry>,
    pub broken: Vec<BrokenEntry>,
}

#[derive(Debug, Deserialize)]
pub struct StepEntry {
    pub id: String,
    #[serde(default)]
    pub common: Option<String>,
    #[serde(default)]
    pub aks: Option<String>,
    #[serde(default)]
    pub kind: Option<String>,
    #[serde(default)]
    pub reset: bool,
}

#[derive(Debug, Deserialize)]
pub struct BrokenEntry {
    pub name: String,
    pub step: String,
    pub base: Option<String>,
    #[serde(default)]
    pub common: Option<String>,
    #[serde(default)]
    pub aks: Option<String>,
    #[serde(default)]
    pub kind: Option<String>,
    pub diagnosis: String,
    pub profiles: Vec<String>,
    #[serde(default)]
    pub description: Option<String>,
}

pub fn dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/istio-aks")
}

pub fn index() -> Index {
    #[derive(Deserialize)]
    struct Raw {
        steps: Vec<StepEntry>,
        broken: Vec<BrokenEntry>,
        #[allow(dead_code)]
        variables: Value,
    }
    let raw: Raw =
        serde_saphyr::from_str(&std::fs::read_to_string(dir().join("index.yaml")).unwrap())
            .expect("fixture index parses");
    Index {
        steps: raw.steps,
        broken: raw.broken,
    }
}

/// The files of an entry for a profile: `common` first, then the profile's own.
fn files(
    common: &Option<String>,
    aks: &Option<String>,
    kind: &Option<String>,
    profile: &str,
) -> Vec<String> {
    let own = if profile == "aks" { aks } else { kind };
    common.iter().chain(own.iter()).cloned().collect()
}

/// A cluster's objects, keyed by (group, kind, namespace, name); versions are ignored as a real
/// server would convert between the versions it serves.
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

impl State {
    pub fn apply_file(&mut self, rel: &str, vars: &BTreeMap<String, String>) {
        let text = std::fs::read_to_string(dir().join(rel)).unwrap();
        let text = labctl::spec::template::substitute(&text, vars).0;
        let docs: Vec<Option<Value>> =
            serde_saphyr::from_multiple(&text).unwrap_or_else(|e| panic!("{rel}: {e}"));
        for doc in docs.into_iter().flatten() {
            let kind = doc["kind"].as_str().unwrap_or_default().to_owned();
            if kind == "Delete" {
                for item in doc["items"].as_array().unwrap() {
                    let key = (
                        group(item["apiVersion"].as_str().unwrap()),
                        item["kind"].as_str().unwrap().to_owned(),
                        item["namespace"].as_str().unwrap_or("").to_owned(),
                        item["name"].as_str().unwrap().to_owned(),
                    );
                    assert!(
                        self.objects.remove(&key).is_some(),
                        "{rel}: Delete of missing {key:?}"
                    );
                }
                continue;
            }
            let key = (
                group(doc["apiVersion"].as_str().unwrap()),
                kind,
                doc.pointer("/metadata/namespace")
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .to_owned(),
                doc["metadata"]["name"].as_str().unwrap().to_owned(),
            );
            self.objects.insert(key, doc);
        }
    }

    pub fn after_step(profile: &str, step: &str, vars: &BTreeMap<String, String>) -> State {
        let mut state = State::default();
        for s in index().steps {
            if s.reset {
                return State::default();
            }
            for f in files(&s.common, &s.aks, &s.kind, profile) {
                state.apply_file(&f, vars);
            }
            if s.id == step {
                break;
            }
        }
        state
    }

    pub fn broken(profile: &str, b: &BrokenEntry, vars: &BTreeMap<String, String>) -> State {
        let mut state = match &b.base {
            Some(base) => State::after_step(profile, base, vars),
            None => State::default(),
        };
        for f in files(&b.common, &b.aks, &b.kind, profile) {
            state.apply_file(&f, vars);
        }
        state
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

    /// All objects, as YAML documents, for applying to a real server.
    pub fn documents(&self) -> impl Iterator<Item = &Value> {
        self.objects.values()
    }
}
