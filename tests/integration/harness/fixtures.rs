//! The fixture states of `tests/fixtures/istio-aks/` (what a cluster holds after each step of the
//! `istio-aks` lab, and after known mistakes), put into a test control plane — and those of the
//! labs that build on it (`tests/fixtures/<lab>/`, e.g. `istio-aks-zero-trust`), whose index says
//! `requires: {lab, through}` and whose states start from that lab's state after `through`
//! ([`FixtureLab`], [`state_paths`]).
//!
//! `tests/fixtures/istio-aks/index.yaml` is the contract (its header comment); in short:
//! - [`FixtureIndex::load`] parses it (unknown fields are errors) and checks its references.
//! - Files are multi-document YAML templates with `{{ var }}` placeholders: [`render`] substitutes
//!   them as text (with the lab variables of [`Vars`]) before parsing.
//! - [`State::AfterStep`]`(id)` = the files of steps 1..=id in index order, per step `common` then
//!   the profile's file; a step with `reset: true` (cleanup) means "nothing of the lab", so its
//!   state applies nothing (use fresh namespaces, which [`Vars::unique`] gives).
//!   [`State::Broken`]`(name)` = the state after step `base` (none when `base: null`), then the
//!   broken state's `common` and profile files.
//! - Files are applied with [`apply_yaml`](super::apply_yaml), which handles the `Delete`
//!   pseudo-kind (delete with `gracePeriodSeconds: 0`, wait until gone).
//!
//! Many states coexist on one control plane: [`Vars::unique`] makes the four namespace variables
//! unique, and every object of a state lives in those namespaces, except for one literal name:
//!
//! **`policy-in-wrong-namespace` uses the literal namespace `istio-system`** (its PeerAuthentication
//! `pets-mtls` is written there, whatever the variables). On a control plane other tests use, run
//! it under [`literal_namespace_lock`] and remove what it put there afterwards with
//! [`remove_literal_namespace_objects`] (it deletes the PeerAuthentication, not the namespace), or
//! apply it on a private control plane. [`literal_namespaces`] finds such names for any state.
//!
//! **Use [`fixture_control_plane`], not `ControlPlane::shared`.** The fixtures are complete
//! snapshots — Deployments and StatefulSets with the status their controllers reported, the pods
//! the kubelet ran (with `spec.nodeName`), no ReplicaSets. On the shared control plane the
//! controller manager acts on them at once: the deployment controller rewrites every Deployment's
//! status (`readyReplicas` gone) and creates ReplicaSets whose pods (not Ready, no kubelet) join the
//! fixture pods, and the StatefulSet controller adopts `rabbitmq-0` and deletes it as outdated
//! (it then stays `Terminating`). The fixture control plane is a second process-wide one, started
//! without the controller manager (with the Istio CRDs), so the objects stay as written. Nothing
//! deletes namespaces there (they would stay `Terminating` without the namespace controller).

use std::collections::{BTreeMap, BTreeSet};
use std::ops::{Deref, DerefMut};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use kube::Client;
use kube::api::DynamicObject;
use serde::Deserialize;
use serde_json::{Value, json};

use super::{ControlPlane, ControlPlaneOptions, harness_runtime, parse_documents, try_apply_yaml};

/// `tests/fixtures/istio-aks`
pub fn fixture_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/istio-aks")
}

/// A lab profile the fixtures are written for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Profile {
    Aks,
    Kind,
}

impl Profile {
    pub const ALL: [Profile; 2] = [Profile::Aks, Profile::Kind];

    /// `"aks"` / `"kind"`: the key of the profile's files in index.yaml.
    pub fn as_str(self) -> &'static str {
        match self {
            Profile::Aks => "aks",
            Profile::Kind => "kind",
        }
    }

    /// The lab's default of `meshConfigMap` for this profile (labs/istio-aks/lab.yaml).
    pub fn mesh_config_map_template(self) -> &'static str {
        match self {
            Profile::Aks => "istio-shared-configmap-{{ revision }}",
            Profile::Kind => "istio-{{ revision }}",
        }
    }
}

impl std::fmt::Display for Profile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// `tests/fixtures/istio-aks/index.yaml`.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FixtureIndex {
    /// A lab that builds on another: its states start from that lab's state after `through`.
    #[serde(default)]
    pub requires: Option<FixtureRequires>,
    pub variables: IndexVariables,
    pub steps: Vec<StepFixture>,
    pub broken: Vec<BrokenFixture>,
}

/// `requires:` of a dependent lab's index: the prerequisite lab and the step of it its states
/// start after (as in the lab's own `requires:`).
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FixtureRequires {
    pub lab: String,
    pub through: String,
}

/// The variable values the fixtures were written for: `common`, then per profile.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IndexVariables {
    pub common: BTreeMap<String, String>,
    #[serde(default)]
    pub aks: BTreeMap<String, String>,
    #[serde(default)]
    pub kind: BTreeMap<String, String>,
}

/// One step of the lab: its files (relative to the fixture directory), or `reset`.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StepFixture {
    pub id: String,
    pub common: Option<String>,
    pub aks: Option<String>,
    pub kind: Option<String>,
    /// The after-state is "nothing of the lab remains" (step cleanup).
    #[serde(default)]
    pub reset: bool,
}

/// A known mistake: apply the state after `base`, then these files; the checks of `step` must
/// fail with `diagnosis`.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BrokenFixture {
    pub name: String,
    pub step: String,
    pub base: Option<String>,
    pub common: Option<String>,
    pub aks: Option<String>,
    pub kind: Option<String>,
    pub diagnosis: String,
    pub profiles: Vec<Profile>,
    pub description: String,
}

/// `common` first, then the profile's file (those present).
fn files_for(
    common: &Option<String>,
    aks: &Option<String>,
    kind: &Option<String>,
    p: Profile,
) -> Vec<String> {
    let own = match p {
        Profile::Aks => aks,
        Profile::Kind => kind,
    };
    common.iter().chain(own.iter()).cloned().collect()
}

impl StepFixture {
    /// The step's files for profile `p`, in apply order.
    pub fn files(&self, p: Profile) -> Vec<String> {
        files_for(&self.common, &self.aks, &self.kind, p)
    }
}

impl BrokenFixture {
    /// The broken state's own files for profile `p` (without its base), in apply order.
    pub fn files(&self, p: Profile) -> Vec<String> {
        files_for(&self.common, &self.aks, &self.kind, p)
    }
}

impl FixtureIndex {
    /// Parses and checks index.yaml (panics saying what is wrong).
    pub fn load() -> FixtureIndex {
        Self::try_load().unwrap_or_else(|e| panic!("tests/fixtures/istio-aks/index.yaml: {e}"))
    }

    /// Like [`load`](Self::load), returning the problem as a message.
    pub fn try_load() -> Result<FixtureIndex, String> {
        Self::try_load_from(&fixture_dir())
    }

    /// Parses and checks the index of the fixture directory `dir`.
    pub fn try_load_from(dir: &Path) -> Result<FixtureIndex, String> {
        let path = dir.join("index.yaml");
        let text = std::fs::read_to_string(&path).map_err(|e| format!("read: {e}"))?;
        let index: FixtureIndex =
            serde_saphyr::from_str(&text).map_err(|e| format!("does not parse: {e}"))?;
        index.validate(dir)?;
        Ok(index)
    }

    /// The parsed index, loaded once per process.
    pub fn get() -> &'static FixtureIndex {
        static INDEX: OnceLock<FixtureIndex> = OnceLock::new();
        INDEX.get_or_init(FixtureIndex::load)
    }

    fn validate(&self, dir: &Path) -> Result<(), String> {
        let mut ids = BTreeSet::new();
        for s in &self.steps {
            if !ids.insert(s.id.as_str()) {
                return Err(format!("step {} listed twice", s.id));
            }
            if s.reset && (s.common.is_some() || s.aks.is_some() || s.kind.is_some()) {
                return Err(format!("step {}: reset and files", s.id));
            }
        }
        let mut names = BTreeSet::new();
        for b in &self.broken {
            if !names.insert(b.name.as_str()) {
                return Err(format!("broken state {} listed twice", b.name));
            }
            for step in std::iter::once(&b.step).chain(b.base.iter()) {
                if !ids.contains(step.as_str()) {
                    return Err(format!("broken state {}: unknown step {step}", b.name));
                }
            }
            if b.profiles.is_empty() {
                return Err(format!("broken state {}: no profiles", b.name));
            }
            for p in Profile::ALL {
                let listed = b.profiles.contains(&p);
                let own = match p {
                    Profile::Aks => &b.aks,
                    Profile::Kind => &b.kind,
                };
                if own.is_some() && !listed {
                    return Err(format!(
                        "broken state {}: has a {p} file but {p} is not in profiles",
                        b.name
                    ));
                }
                if listed && b.files(p).is_empty() {
                    return Err(format!("broken state {}: no file for profile {p}", b.name));
                }
            }
        }
        for file in self.files() {
            if !dir.join(&file).is_file() {
                return Err(format!("names {file}, which does not exist"));
            }
        }
        // A dependent lab inherits the prerequisite's variables (and namespaces).
        if self.requires.is_none() {
            for p in Profile::ALL {
                let vars = self.default_variables(p);
                for name in NAMESPACE_VARIABLES {
                    if !vars.contains_key(name) {
                        return Err(format!("variables: {name} missing for profile {p}"));
                    }
                }
            }
        }
        Ok(())
    }

    /// Every file the index names (relative to the fixture directory).
    pub fn files(&self) -> BTreeSet<String> {
        let steps = self.steps.iter().flat_map(|s| [&s.common, &s.aks, &s.kind]);
        let broken = self
            .broken
            .iter()
            .flat_map(|b| [&b.common, &b.aks, &b.kind]);
        steps.chain(broken).flatten().cloned().collect()
    }

    /// The step `id` (panics if there is none).
    pub fn step(&self, id: &str) -> &StepFixture {
        self.steps
            .iter()
            .find(|s| s.id == id)
            .unwrap_or_else(|| panic!("index.yaml has no step {id:?}"))
    }

    /// The broken state `name` (panics if there is none).
    pub fn broken(&self, name: &str) -> &BrokenFixture {
        self.broken
            .iter()
            .find(|b| b.name == name)
            .unwrap_or_else(|| panic!("index.yaml has no broken state {name:?}"))
    }

    /// `variables.common` overlaid with `variables.<p>`, as written in the index.
    pub fn default_variables(&self, p: Profile) -> BTreeMap<String, String> {
        let mut vars = self.variables.common.clone();
        vars.extend(match p {
            Profile::Aks => self.variables.aks.clone(),
            Profile::Kind => self.variables.kind.clone(),
        });
        vars
    }
}

/// The lab variables naming namespaces ([`Vars::unique`] makes them unique).
pub const NAMESPACE_VARIABLES: [&str; 4] = [
    "appNamespace",
    "clientNamespace",
    "rootNamespace",
    "ingressNamespace",
];

/// Values of the lab variables (a `BTreeMap` name -> value; derefs to it).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Vars(pub BTreeMap<String, String>);

impl Deref for Vars {
    type Target = BTreeMap<String, String>;
    fn deref(&self) -> &Self::Target {
        &self.0
    }
}

impl DerefMut for Vars {
    fn deref_mut(&mut self) -> &mut Self::Target {
        &mut self.0
    }
}

impl Vars {
    /// The lab's defaults for profile `p` (those the fixtures were written for: revision
    /// `asm-1-27`, appNamespace `pets`, ...; `meshConfigMap` rendered from the profile's template,
    /// `istio-shared-configmap-{{ revision }}` on aks, `istio-{{ revision }}` on kind).
    pub fn defaults(p: Profile) -> Vars {
        let index = FixtureIndex::get();
        let mut vars = index.default_variables(p);
        let mesh = render(p.mesh_config_map_template(), &vars);
        if let Some(written) = vars.get("meshConfigMap") {
            assert_eq!(
                written,
                &mesh,
                "index.yaml: variables.{p}.meshConfigMap is not {}",
                p.mesh_config_map_template()
            );
        }
        vars.insert("meshConfigMap".into(), mesh);
        Vars(vars)
    }

    /// [`defaults`](Self::defaults) with every namespace variable ([`NAMESPACE_VARIABLES`]) made
    /// unique (`unique_name(<default>)`, e.g. `pets-4711-12`), so that many states coexist on one
    /// control plane.
    pub fn unique(p: Profile) -> Vars {
        let mut vars = Vars::defaults(p);
        for name in NAMESPACE_VARIABLES {
            let unique = super::unique_name(&vars[name]);
            vars.insert(name.to_string(), unique);
        }
        vars
    }

    /// The value of variable `name` (panics if unset).
    pub fn var(&self, name: &str) -> &str {
        self.0
            .get(name)
            .unwrap_or_else(|| panic!("lab variable {name} is not set"))
    }

    /// The values of the namespace variables.
    pub fn namespaces(&self) -> BTreeSet<String> {
        NAMESPACE_VARIABLES
            .iter()
            .map(|n| self.var(n).to_string())
            .collect()
    }
}

/// Substitutes every `{{ name }}` (spaces optional) in `text` with `vars[name]`; panics on an
/// unknown variable or on any `{{` left afterwards.
pub fn render(text: &str, vars: &BTreeMap<String, String>) -> String {
    try_render(text, vars).unwrap_or_else(|e| panic!("{e}"))
}

/// Like [`render`], returning the problem as a message.
pub fn try_render(text: &str, vars: &BTreeMap<String, String>) -> Result<String, String> {
    static PLACEHOLDER: OnceLock<regex::Regex> = OnceLock::new();
    let re = PLACEHOLDER.get_or_init(|| {
        regex::Regex::new(r"\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}").expect("placeholder regex")
    });
    let mut unknown = BTreeSet::new();
    let out = re.replace_all(text, |c: &regex::Captures<'_>| match vars.get(&c[1]) {
        Some(v) => v.clone(),
        None => {
            unknown.insert(c[1].to_string());
            c[0].to_string()
        }
    });
    if !unknown.is_empty() {
        return Err(format!("render: unknown variables {unknown:?}"));
    }
    if let Some(at) = out.find("{{") {
        let line = out[..at].matches('\n').count() + 1;
        let rest: String = out[at..].chars().take(40).collect();
        return Err(format!("render: placeholder left at line {line}: {rest:?}"));
    }
    Ok(out.into_owned())
}

/// Reads and renders one fixture file (path relative to the fixture directory).
pub fn render_file(file: &str, vars: &BTreeMap<String, String>) -> Result<String, String> {
    let text = std::fs::read_to_string(fixture_dir().join(file))
        .map_err(|e| format!("read {file}: {e}"))?;
    try_render(&text, vars).map_err(|e| format!("{file}: {e}"))
}

/// A fixture state of a profile.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum State {
    /// The finished state after step `id` (steps 1..=id applied).
    AfterStep(String),
    /// The broken state `name` (its base step, then its files).
    Broken(String),
}

impl std::fmt::Display for State {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            State::AfterStep(id) => write!(f, "after step {id}"),
            State::Broken(name) => write!(f, "broken {name}"),
        }
    }
}

/// The state after each step of the lab, in order (the last one, cleanup, being empty).
pub fn all_step_states(_p: Profile) -> Vec<State> {
    FixtureIndex::get()
        .steps
        .iter()
        .map(|s| State::AfterStep(s.id.clone()))
        .collect()
}

/// The broken states written for profile `p`, in index order.
pub fn broken_states(p: Profile) -> Vec<State> {
    FixtureIndex::get()
        .broken
        .iter()
        .filter(|b| b.profiles.contains(&p))
        .map(|b| State::Broken(b.name.clone()))
        .collect()
}

/// The files that make up `state` for profile `p`, in apply order (panics on an unknown state, or
/// a broken state not written for `p`).
pub fn state_files(p: Profile, state: &State) -> Vec<String> {
    state_files_in(FixtureIndex::get(), p, state)
}

/// [`state_files`] of the lab whose index is `index` (its own files only, relative to its
/// fixture directory; a dependent lab's base is in [`state_paths`]).
fn state_files_in(index: &FixtureIndex, p: Profile, state: &State) -> Vec<String> {
    match state {
        State::AfterStep(id) => {
            let at = index
                .steps
                .iter()
                .position(|s| &s.id == id)
                .unwrap_or_else(|| panic!("index.yaml has no step {id:?}"));
            // Only what comes after the last reset counts; a reset step itself is empty.
            let from = index.steps[..=at]
                .iter()
                .rposition(|s| s.reset)
                .map_or(0, |r| r + 1);
            index.steps[from..=at]
                .iter()
                .filter(|s| !s.reset)
                .flat_map(|s| s.files(p))
                .collect()
        }
        State::Broken(name) => {
            let b = index.broken(name);
            assert!(
                b.profiles.contains(&p),
                "broken state {name} is not written for profile {p} (only {:?})",
                b.profiles
            );
            let mut files = match &b.base {
                Some(base) => state_files_in(index, p, &State::AfterStep(base.clone())),
                None => Vec::new(),
            };
            files.extend(b.files(p));
            files
        }
    }
}

/// Applies `state` (profile `p`, variables `vars`) to the cluster of `client`, file by file;
/// panics naming the file and document that failed. Returns the objects as the server has them
/// after each write (an object written twice appears twice).
pub async fn apply_state(
    client: &Client,
    p: Profile,
    state: &State,
    vars: &Vars,
) -> Vec<DynamicObject> {
    match try_apply_state(client, p, state, vars).await {
        Ok(objs) => objs,
        Err(e) => panic!("apply fixture state {state} ({p}): {e}"),
    }
}

/// The finished state of profile `p` (after the last work step, egress) in namespaces of its
/// own; returns its variables.
pub async fn apply_finished_state(client: &Client, p: Profile) -> Vars {
    let vars = Vars::unique(p);
    try_apply_state(client, p, &State::AfterStep("egress".into()), &vars)
        .await
        .unwrap_or_else(|e| panic!("apply the finished {p} state: {e}"));
    vars
}

/// Like [`apply_state`], returning the first error as a message.
pub async fn try_apply_state(
    client: &Client,
    p: Profile,
    state: &State,
    vars: &Vars,
) -> Result<Vec<DynamicObject>, String> {
    let mut out = Vec::new();
    for file in state_files(p, state) {
        let yaml = render_file(&file, vars)?;
        out.extend(
            try_apply_yaml(client, &yaml)
                .await
                .map_err(|e| format!("{file}: {e}"))?,
        );
    }
    Ok(out)
}

/// Identity of an object: (API group, kind, namespace or "", name).
pub type ObjectKey = (String, String, String, String);

/// The key of a document or `Delete` item (`apiVersion`, `kind`, `metadata.namespace|namespace`,
/// `metadata.name|name`).
pub fn object_key(doc: &Value) -> ObjectKey {
    let api_version = doc["apiVersion"].as_str().unwrap_or_default();
    let group = api_version.rsplit_once('/').map_or("", |(g, _)| g);
    let meta = if doc.get("metadata").is_some() {
        &doc["metadata"]
    } else {
        doc
    };
    (
        group.to_string(),
        doc["kind"].as_str().unwrap_or_default().to_string(),
        meta["namespace"].as_str().unwrap_or_default().to_string(),
        meta["name"].as_str().unwrap_or_default().to_string(),
    )
}

/// What a state should leave in the cluster, from its rendered files alone.
#[derive(Clone, Debug, Default)]
pub struct ExpectedState {
    /// The last version written of every object still there (rendered documents).
    pub present: BTreeMap<ObjectKey, Value>,
    /// Objects a `Delete` removed and no later document re-created, with their `apiVersion`.
    pub deleted: BTreeMap<ObjectKey, String>,
}

/// The objects `state` writes and deletes (in the order `apply_yaml` applies them).
pub fn expected_state(p: Profile, state: &State, vars: &Vars) -> ExpectedState {
    let mut exp = ExpectedState::default();
    for file in state_files(p, state) {
        let yaml = render_file(&file, vars).unwrap_or_else(|e| panic!("{e}"));
        let docs = parse_documents(&yaml).unwrap_or_else(|e| panic!("{file}: {e}"));
        let (early, rest): (Vec<Value>, Vec<Value>) = docs
            .into_iter()
            .partition(|d| d["kind"] == "Namespace" || d["kind"] == "CustomResourceDefinition");
        for doc in early.into_iter().chain(rest) {
            if super::apply::is_delete(&doc) {
                for item in doc["items"].as_array().into_iter().flatten() {
                    let key = object_key(item);
                    exp.present.remove(&key);
                    let api_version = item["apiVersion"].as_str().unwrap_or_default();
                    exp.deleted.insert(key, api_version.to_string());
                }
            } else {
                let key = object_key(&doc);
                exp.deleted.remove(&key);
                exp.present.insert(key, doc);
            }
        }
    }
    exp
}

/// Namespaces `state` writes to that are not the value of a namespace variable (literal names,
/// such as `istio-system` in `policy-in-wrong-namespace`), whatever the variables.
pub fn literal_namespaces(p: Profile, state: &State) -> BTreeSet<String> {
    let vars = Vars::unique(p);
    let ours = vars.namespaces();
    let exp = expected_state(p, state, &vars);
    exp.present
        .iter()
        .map(|((_, kind, ns, name), _)| if kind == "Namespace" { name } else { ns })
        .chain(exp.deleted.keys().map(|(_, _, ns, _)| ns))
        .filter(|ns| !ns.is_empty() && !ours.contains(*ns))
        .cloned()
        .collect()
}

/// Serialises the states that write to literal namespaces ([`literal_namespaces`]): hold it from
/// applying such a state until [`remove_literal_namespace_objects`] has run.
pub async fn literal_namespace_lock() -> tokio::sync::MutexGuard<'static, ()> {
    static LOCK: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());
    LOCK.lock().await
}

/// Deletes (and waits for) every object `state` put into a literal namespace — not the namespace
/// itself, which would stay `Terminating` without the namespace controller. For
/// `policy-in-wrong-namespace`: the PeerAuthentication `istio-system/pets-mtls`.
pub async fn remove_literal_namespace_objects(
    client: &Client,
    p: Profile,
    state: &State,
    vars: &Vars,
) -> Result<(), String> {
    let ours = vars.namespaces();
    let items: Vec<Value> = expected_state(p, state, vars)
        .present
        .into_iter()
        .filter(|((_, kind, ns, _), _)| kind != "Namespace" && !ns.is_empty() && !ours.contains(ns))
        .map(|((_, kind, ns, name), doc)| {
            json!({ "apiVersion": doc["apiVersion"], "kind": kind, "namespace": ns, "name": name })
        })
        .collect();
    if items.is_empty() {
        return Ok(());
    }
    let delete = json!({ "apiVersion": "v1", "kind": "Delete", "items": items });
    let yaml = serde_json::to_string(&delete).expect("JSON is YAML");
    try_apply_yaml(client, &yaml).await.map(|_| ())
}

/// The process-wide control plane for fixture states: kube-apiserver + etcd with the Istio CRDs
/// and **without** kube-controller-manager (see the module docs), started on first use.
pub async fn fixture_control_plane() -> &'static ControlPlane {
    static FIXTURE_CP: tokio::sync::OnceCell<Result<ControlPlane, String>> =
        tokio::sync::OnceCell::const_new();
    let opts = ControlPlaneOptions {
        controller_manager: false,
        istio_crds: true,
    };
    super::shared::process_wide(&FIXTURE_CP, opts, "fixture").await
}

// ---------------------------------------------------------------------------------------------
// Labs that build on another lab's fixtures

/// A lab with fixture states in `tests/fixtures/<name>/`. A dependent lab's index names its
/// prerequisite (`requires: {lab, through}`); its states start from the prerequisite's state
/// after `through`, and its variables are the prerequisite's plus its own.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct FixtureLab(pub &'static str);

impl FixtureLab {
    pub const ISTIO_AKS: FixtureLab = FixtureLab("istio-aks");
    pub const ZERO_TRUST: FixtureLab = FixtureLab("istio-aks-zero-trust");

    /// `tests/fixtures/<name>`.
    pub fn dir(self) -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures")
            .join(self.0)
    }

    /// The lab's parsed index, loaded once per process (panics saying what is wrong).
    pub fn index(self) -> &'static FixtureIndex {
        if self == Self::ISTIO_AKS {
            return FixtureIndex::get();
        }
        static INDEXES: std::sync::Mutex<BTreeMap<&'static str, &'static FixtureIndex>> =
            std::sync::Mutex::new(BTreeMap::new());
        let mut loaded = INDEXES.lock().unwrap_or_else(|e| e.into_inner());
        loaded.entry(self.0).or_insert_with(|| {
            let index = FixtureIndex::try_load_from(&self.dir())
                .unwrap_or_else(|e| panic!("tests/fixtures/{}/index.yaml: {e}", self.0));
            Box::leak(Box::new(index))
        })
    }

    /// The prerequisite lab and the step its states start after, if any.
    pub fn requires(self) -> Option<(FixtureLab, &'static str)> {
        let r = self.index().requires.as_ref()?;
        let lab: &'static str = Box::leak(r.lab.clone().into_boxed_str());
        Some((FixtureLab(lab), r.through.as_str()))
    }

    /// Variables for profile `p`: [`Vars::defaults`] (istio-aks's), then this lab's own
    /// (`variables` of its index).
    pub fn defaults(self, p: Profile) -> Vars {
        let mut vars = Vars::defaults(p);
        if self != Self::ISTIO_AKS {
            vars.extend(self.index().default_variables(p));
        }
        vars
    }

    /// [`defaults`](Self::defaults) with every namespace variable unique (istio-aks's four, and
    /// this lab's own variables named `*Namespace`).
    pub fn unique(self, p: Profile) -> Vars {
        let mut vars = Vars::unique(p);
        if self != Self::ISTIO_AKS {
            for (name, value) in self.index().default_variables(p) {
                let value = if name.ends_with("Namespace") {
                    super::unique_name(&value)
                } else {
                    value
                };
                vars.insert(name, value);
            }
        }
        vars
    }

    /// The state after each step of this lab's own index, in order.
    pub fn step_states(self) -> Vec<State> {
        let steps = self.index().steps.iter();
        steps.map(|s| State::AfterStep(s.id.clone())).collect()
    }

    /// The broken states of this lab written for profile `p`, in index order.
    pub fn broken_states(self, p: Profile) -> Vec<State> {
        let broken = self.index().broken.iter();
        broken
            .filter(|b| b.profiles.contains(&p))
            .map(|b| State::Broken(b.name.clone()))
            .collect()
    }
}

/// Applies `state` of `lab` (profile `p`, variables `vars`): the files of [`state_paths`], in
/// order; returns the first error as a message.
pub async fn try_apply_lab_state(
    client: &Client,
    lab: FixtureLab,
    p: Profile,
    state: &State,
    vars: &Vars,
) -> Result<(), String> {
    for path in state_paths(lab, p, state) {
        let text =
            std::fs::read_to_string(&path).map_err(|e| format!("read {}: {e}", path.display()))?;
        let yaml = try_render(&text, vars).map_err(|e| format!("{}: {e}", path.display()))?;
        try_apply_yaml(client, &yaml)
            .await
            .map_err(|e| format!("{}: {e}", path.display()))?;
    }
    Ok(())
}

/// The files that make up `state` of `lab` for profile `p`, as full paths in apply order: for a
/// dependent lab, the prerequisite's state after `through` comes first (a broken state's base
/// included); a `reset` step leaves only that.
pub fn state_paths(lab: FixtureLab, p: Profile, state: &State) -> Vec<PathBuf> {
    let mut paths = match lab.requires() {
        Some((pre, through)) => state_paths(pre, p, &State::AfterStep(through.to_string())),
        None => Vec::new(),
    };
    let dir = lab.dir();
    paths.extend(
        state_files_in(lab.index(), p, state)
            .into_iter()
            .map(|f| dir.join(f)),
    );
    paths
}
