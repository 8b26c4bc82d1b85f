//! The fixture states of `tests/fixtures/istio-aks/` against a real API server: every state after
//! each step and every broken state, for both profiles, applies cleanly, and afterwards the objects
//! are there as written (each written field, recursively; deleted objects gone; no other pods,
//! Deployments, StatefulSets or Services in the lab's namespaces), plus a spot-check per state of
//! what makes it that state (sidecars, readiness, labels, the gateway's IP, ...).
//!
//! States run concurrently, each in namespaces of its own ([`Vars::unique`]), on the fixture
//! control plane (no controller manager, see `harness/fixtures.rs`). The one state with a literal
//! namespace (`policy-in-wrong-namespace`, `istio-system`) runs under
//! [`literal_namespace_lock`] and is removed again afterwards.

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use futures::future::join_all;
use k8s_openapi::api::core::v1::{Namespace, Pod};
use kube::api::{Api, DynamicObject, ListParams, Patch, PatchParams};
use kube::core::GroupVersionKind;
use kube::discovery::Scope;
use kube::{Client, discovery};
use serde_json::{Value, json};

use crate::harness::{
    ADMIN, FixtureIndex, ObjectKey, Profile, State, Vars, all_step_states, apply_state, apply_yaml,
    broken_states, expected_state, fixture_control_plane, fixture_dir, literal_namespace_lock,
    literal_namespaces, parse_documents, remove_literal_namespace_objects, render, render_file,
    try_apply_state, try_apply_yaml, try_render,
};

/// The revision the fixtures use literally as "a revision that is not installed".
const OTHER_REVISION: &str = "asm-1-22";

// ---------------------------------------------------------------------------------------------
// Reading the cluster

/// `(ApiResource, scope)`-aware GET of any object as JSON; `None` if absent.
async fn get_object(
    client: &Client,
    api_version: &str,
    kind: &str,
    ns: &str,
    name: &str,
) -> Result<Option<Value>, String> {
    let (group, version) = api_version.rsplit_once('/').unwrap_or(("", api_version));
    let gvk = GroupVersionKind::gvk(group, version, kind);
    let (ar, caps) = discovery::pinned_kind(client, &gvk)
        .await
        .map_err(|e| format!("{api_version} {kind}: discovery: {e}"))?;
    let api: Api<DynamicObject> = match caps.scope {
        Scope::Cluster => Api::all_with(client.clone(), &ar),
        Scope::Namespaced => Api::namespaced_with(client.clone(), ns, &ar),
    };
    let obj = api
        .get_opt(name)
        .await
        .map_err(|e| format!("get {kind} {ns}/{name}: {e}"))?;
    Ok(obj.map(|o| serde_json::to_value(o).expect("object to JSON")))
}

async fn must_get(
    client: &Client,
    api_version: &str,
    kind: &str,
    ns: &str,
    name: &str,
) -> Result<Value, String> {
    get_object(client, api_version, kind, ns, name)
        .await?
        .ok_or_else(|| format!("{kind} {ns}/{name} does not exist"))
}

/// Names of the objects of a kind in a namespace.
async fn names_in(
    client: &Client,
    api_version: &str,
    kind: &str,
    ns: &str,
) -> Result<BTreeSet<String>, String> {
    let (group, version) = api_version.rsplit_once('/').unwrap_or(("", api_version));
    let (ar, _) = discovery::pinned_kind(client, &GroupVersionKind::gvk(group, version, kind))
        .await
        .map_err(|e| format!("{kind}: discovery: {e}"))?;
    let api: Api<DynamicObject> = Api::namespaced_with(client.clone(), ns, &ar);
    let list = api
        .list(&ListParams::default())
        .await
        .map_err(|e| format!("list {kind} in {ns}: {e}"))?;
    Ok(list
        .items
        .into_iter()
        .filter_map(|o| o.metadata.name)
        .collect())
}

async fn pods(client: &Client, ns: &str) -> Result<Vec<Pod>, String> {
    let api: Api<Pod> = Api::namespaced(client.clone(), ns);
    Ok(api
        .list(&ListParams::default())
        .await
        .map_err(|e| format!("list pods in {ns}: {e}"))?
        .items)
}

async fn namespace_labels(client: &Client, ns: &str) -> Result<BTreeMap<String, String>, String> {
    let api: Api<Namespace> = Api::all(client.clone());
    let n = api
        .get(ns)
        .await
        .map_err(|e| format!("get namespace {ns}: {e}"))?;
    Ok(n.metadata.labels.unwrap_or_default())
}

fn pod_name(pod: &Pod) -> &str {
    pod.metadata.name.as_deref().unwrap_or("?")
}

fn containers(pod: &Pod) -> Vec<&str> {
    pod.spec
        .iter()
        .flat_map(|s| s.containers.iter().map(|c| c.name.as_str()))
        .collect()
}

fn has_proxy(pod: &Pod) -> bool {
    containers(pod).contains(&"istio-proxy")
}

/// Ready condition True, and every container has a ready status (READY n/n).
fn is_ready(pod: &Pod) -> bool {
    let Some(status) = &pod.status else {
        return false;
    };
    let ready = status
        .conditions
        .iter()
        .flatten()
        .any(|c| c.type_ == "Ready" && c.status == "True");
    let statuses = status.container_statuses.clone().unwrap_or_default();
    ready && statuses.len() == containers(pod).len() && statuses.iter().all(|c| c.ready)
}

fn ready_column(pod: &Pod) -> String {
    let statuses = pod
        .status
        .as_ref()
        .and_then(|s| s.container_statuses.clone())
        .unwrap_or_default();
    format!(
        "{}/{}",
        statuses.iter().filter(|c| c.ready).count(),
        containers(pod).len()
    )
}

fn ensure(cond: bool, msg: impl FnOnce() -> String) -> Result<(), String> {
    if cond { Ok(()) } else { Err(msg()) }
}

// ---------------------------------------------------------------------------------------------
// "As written"

/// Every field of `written` is in `actual` with the same value (objects: recursively, the server
/// may add fields; arrays: same length, element-wise; `null`: absent or null). Mismatches are
/// appended to `out` with their path.
fn compare_as_written(written: &Value, actual: &Value, path: &str, out: &mut Vec<String>) {
    match (written, actual) {
        (Value::Null, Value::Null) => {}
        (Value::Object(w), Value::Object(a)) => {
            for (k, wv) in w {
                let av = a.get(k).unwrap_or(&Value::Null);
                compare_as_written(wv, av, &format!("{path}.{k}"), out);
            }
        }
        (Value::Object(w), Value::Null) if w.is_empty() => {}
        (Value::Array(w), Value::Array(a)) if w.len() == a.len() => {
            for (i, (wv, av)) in w.iter().zip(a).enumerate() {
                compare_as_written(wv, av, &format!("{path}[{i}]"), out);
            }
        }
        (Value::Number(w), Value::Number(a)) if w.as_f64() == a.as_f64() => {}
        (w, a) if w == a => {}
        (w, a) => out.push(format!("{path}: written {w}, server has {a}")),
    }
}

/// Checks that every object of the state is on the server as written, deleted ones are gone, and
/// the state's namespaces hold no other pods, Deployments, StatefulSets or Services.
async fn check_as_written(
    client: &Client,
    p: Profile,
    state: &State,
    vars: &Vars,
) -> Result<(), String> {
    let exp = expected_state(p, state, vars);
    let mut problems = Vec::new();
    for ((_, kind, ns, name), doc) in &exp.present {
        let api_version = doc["apiVersion"].as_str().unwrap_or_default();
        match get_object(client, api_version, kind, ns, name).await? {
            None => problems.push(format!("{kind} {ns}/{name}: missing")),
            Some(actual) => {
                let mut diffs = Vec::new();
                compare_as_written(doc, &actual, "", &mut diffs);
                // The status is exactly the written one: no field left over from an earlier
                // version of the object, or made up by someone else.
                if let (Some(w), Some(a)) =
                    (doc["status"].as_object(), actual["status"].as_object())
                {
                    for extra in a.keys().filter(|k| !w.contains_key(*k)) {
                        diffs.push(format!(
                            ".status.{extra}: not written, server has {}",
                            a[extra]
                        ));
                    }
                }
                problems.extend(
                    diffs
                        .into_iter()
                        .map(|d| format!("{kind} {ns}/{name}: {d}")),
                );
            }
        }
    }
    for ((_, kind, ns, name), api_version) in &exp.deleted {
        if get_object(client, api_version, kind, ns, name)
            .await?
            .is_some()
        {
            problems.push(format!(
                "{kind} {ns}/{name}: deleted by the state, but still there"
            ));
        }
    }
    let written = |kind: &str, ns: &str| -> BTreeSet<String> {
        exp.present
            .keys()
            .filter(|(_, k, n, _)| k == kind && n == ns)
            .map(|(_, _, _, name)| name.clone())
            .collect()
    };
    let existing: Api<Namespace> = Api::all(client.clone());
    for ns in vars.namespaces() {
        if existing
            .get_opt(&ns)
            .await
            .map_err(|e| e.to_string())?
            .is_none()
        {
            continue;
        }
        for (api_version, kind) in [
            ("v1", "Pod"),
            ("apps/v1", "Deployment"),
            ("apps/v1", "StatefulSet"),
            ("v1", "Service"),
        ] {
            let there = names_in(client, api_version, kind, &ns).await?;
            let want = written(kind, &ns);
            if there != want {
                problems.push(format!(
                    "{kind}s in {ns}: the server has {there:?}, the state writes {want:?}"
                ));
            }
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(format!("not as written:\n  {}", problems.join("\n  ")))
    }
}

// ---------------------------------------------------------------------------------------------
// Spot-checks: what makes each state that state

/// The app pods (app namespace, without curl-inside) and their number (4).
async fn app_pods(client: &Client, vars: &Vars) -> Result<Vec<Pod>, String> {
    let all = pods(client, vars.var("appNamespace")).await?;
    let app: Vec<Pod> = all
        .into_iter()
        .filter(|p| !pod_name(p).starts_with("curl-inside"))
        .collect();
    let names: Vec<&str> = app.iter().map(pod_name).collect();
    ensure(app.len() == 4, || format!("app pods: {names:?}, want 4"))?;
    for prefix in [
        "rabbitmq-0",
        "order-service-",
        "product-service-",
        "store-front-",
    ] {
        ensure(names.iter().any(|n| n.starts_with(prefix)), || {
            format!("no app pod {prefix}*: {names:?}")
        })?;
    }
    Ok(app)
}

fn all_injected_and_ready(pods: &[Pod], rev: &str) -> Result<(), String> {
    for pod in pods {
        let name = pod_name(pod);
        ensure(has_proxy(pod), || {
            format!("pod {name}: no istio-proxy: {:?}", containers(pod))
        })?;
        let init: Vec<&str> = pod
            .spec
            .iter()
            .flat_map(|s| s.init_containers.iter().flatten().map(|c| c.name.as_str()))
            .collect();
        ensure(init == ["istio-init"], || {
            format!("pod {name}: init containers {init:?}")
        })?;
        let status = pod
            .metadata
            .annotations
            .as_ref()
            .and_then(|a| a.get("sidecar.istio.io/status"))
            .ok_or_else(|| format!("pod {name}: no sidecar.istio.io/status"))?;
        ensure(status.contains(&format!("\"revision\":\"{rev}\"")), || {
            format!("pod {name}: sidecar.istio.io/status {status}")
        })?;
        ensure(is_ready(pod), || {
            format!("pod {name}: not Ready ({})", ready_column(pod))
        })?;
        ensure(
            pod.status.as_ref().and_then(|s| s.phase.as_deref()) == Some("Running"),
            || format!("pod {name}: not Running"),
        )?;
    }
    Ok(())
}

fn none_injected_all_ready(pods: &[Pod]) -> Result<(), String> {
    for pod in pods {
        let name = pod_name(pod);
        ensure(!has_proxy(pod) && containers(pod).len() == 1, || {
            format!(
                "pod {name}: containers {:?}, want one, no istio-proxy",
                containers(pod)
            )
        })?;
        ensure(is_ready(pod), || {
            format!("pod {name}: not Ready ({})", ready_column(pod))
        })?;
    }
    Ok(())
}

fn expected_istiod_replicas(p: Profile) -> i64 {
    match p {
        Profile::Aks => 2,
        Profile::Kind => 1,
    }
}

async fn peer_authentication_mode(client: &Client, ns: &str) -> Result<Option<String>, String> {
    Ok(get_object(
        client,
        "security.istio.io/v1",
        "PeerAuthentication",
        ns,
        "pets-mtls",
    )
    .await?
    .map(|pa| {
        pa["spec"]["mtls"]["mode"]
            .as_str()
            .unwrap_or("?")
            .to_string()
    }))
}

async fn mesh_config(client: &Client, vars: &Vars, name: &str) -> Result<Option<String>, String> {
    Ok(
        get_object(client, "v1", "ConfigMap", vars.var("rootNamespace"), name)
            .await?
            .map(|cm| cm["data"]["mesh"].as_str().unwrap_or_default().to_string()),
    )
}

async fn gateway_service(client: &Client, vars: &Vars) -> Result<Value, String> {
    must_get(
        client,
        "v1",
        "Service",
        vars.var("ingressNamespace"),
        vars.var("ingressGatewayService"),
    )
    .await
}

/// What makes a fixture state that state, as data: each state names its facts once, in
/// [`facts`], and [`check_fact`] reads each from the API server.
#[derive(Debug, Clone, Copy)]
enum Fact {
    /// istiod-{revision} has the profile's replicas, all ready; its pods run without a sidecar.
    IstiodReady,
    /// istiod-{revision} has the profile's replicas, none ready; its pods are Pending.
    IstiodPending,
    /// This mesh ConfigMap of the root namespace holds `mode: <mode>`.
    Mesh(MeshMap, &'static str),
    /// No such mesh ConfigMap.
    NoMesh(MeshMap),
    /// The app namespace's labels: each label with its value (`None`: absent).
    AppLabels(&'static [(&'static str, Option<Label>)]),
    /// The four app pods, none with a sidecar, all Ready.
    AppPodsPlain,
    /// The four app pods, each with the revision's sidecar, Ready and Running.
    AppPodsInjected,
    /// store-front with the other revision's sidecar (and annotation); the rest with the revision's.
    StoreFrontOnOtherRevision,
    /// Every pod of the app namespace (the client in the mesh too) has the revision's sidecar.
    AppNamespaceInjected,
    /// One client pod, outside the mesh, Ready.
    OneClientOutsideMesh,
    /// `pets-mtls` in this namespace has this mode (`None`: there is no such PeerAuthentication).
    PeerAuth(Ns, Option<&'static str>),
    /// `store-front-plaintext` in the root namespace disables TLS for port 80.
    DestinationRuleDisablesTls,
    /// The ingress gateway's Service is a LoadBalancer, with an IP (`true`) or still pending.
    GatewayIp(bool),
    /// `pets-gateway` selects `istio: <selector>`.
    GatewaySelects(Selector),
    /// The profile's number of gateway pods labelled with the lab's selector, each a Ready router.
    GatewayPods,
    /// No pod of the ingress namespace carries `istio: <value>`.
    NoGatewayPodsLabelled(&'static str),
    /// `pets-route` is bound to `pets-gateway` (`true`) or to no gateway at all.
    RouteBound(bool),
    /// The `allow-egress-host` ServiceEntry of the app namespace.
    ServiceEntry(Presence),
    /// Every namespace of the lab is gone.
    NamespacesGone,
}

#[derive(Debug, Clone, Copy)]
enum MeshMap {
    /// `istio-<revision>`.
    Revision,
    /// The lab's `meshConfigMap`.
    Lab,
    /// `istio-shared-configmap-<OTHER_REVISION>`.
    OtherRevision,
}

#[derive(Debug, Clone, Copy)]
enum Label {
    Revision,
    OtherRevision,
    Enabled,
}

#[derive(Debug, Clone, Copy)]
enum Ns {
    App,
    Literal(&'static str),
}

#[derive(Debug, Clone, Copy)]
enum Selector {
    Lab,
    Literal(&'static str),
}

#[derive(Debug, Clone, Copy)]
enum Presence {
    /// There, with the lab's egress host.
    WithLabHost,
    There,
    Absent,
}

const REV_LABEL: &str = "istio.io/rev";
const INJECTION_LABEL: &str = "istio-injection";

/// Each state's facts: the one table of spot-checks, for the states after each step and the
/// broken states alike.
fn facts(state: &State) -> Result<&'static [Fact], String> {
    use Fact::*;
    let name = match state {
        State::AfterStep(s) | State::Broken(s) => s.as_str(),
    };
    Ok(match name {
        // After each step.
        "enable-addon" => &[IstiodReady, Mesh(MeshMap::Revision, "ALLOW_ANY")],
        "deploy-app" => &[AppLabels(&[(REV_LABEL, None)]), AppPodsPlain],
        "onboard-mesh" => &[
            AppLabels(&[(REV_LABEL, Some(Label::Revision))]),
            AppPodsInjected,
        ],
        "strict-mtls" => &[
            PeerAuth(Ns::App, Some("STRICT")),
            OneClientOutsideMesh,
            AppNamespaceInjected,
        ],
        "ingress" => &[
            GatewayIp(true),
            GatewaySelects(Selector::Lab),
            GatewayPods,
            RouteBound(true),
        ],
        "egress" => &[
            ServiceEntry(Presence::WithLabHost),
            Mesh(MeshMap::Lab, "REGISTRY_ONLY"),
        ],
        "cleanup" => &[NamespacesGone],
        // Broken states.
        "istiod-not-ready" => &[IstiodPending],
        "injection-label-ignored" => &[
            AppLabels(&[(INJECTION_LABEL, Some(Label::Enabled)), (REV_LABEL, None)]),
            AppPodsPlain,
        ],
        "not-restarted" => &[
            AppLabels(&[(REV_LABEL, Some(Label::Revision))]),
            AppPodsPlain,
        ],
        "revision-not-installed" => &[
            AppLabels(&[(REV_LABEL, Some(Label::OtherRevision))]),
            AppPodsPlain,
        ],
        // Latent: the pods injected before the extra label still run their sidecar.
        "conflicting-injection-labels" => &[
            AppLabels(&[
                (REV_LABEL, Some(Label::Revision)),
                (INJECTION_LABEL, Some(Label::Enabled)),
            ]),
            AppPodsInjected,
        ],
        "sidecar-from-other-revision" => &[
            AppLabels(&[(REV_LABEL, Some(Label::Revision))]),
            StoreFrontOnOtherRevision,
        ],
        "destination-rule-disables-tls" => &[
            DestinationRuleDisablesTls,
            PeerAuth(Ns::App, Some("STRICT")),
        ],
        "policy-in-wrong-namespace" => &[
            PeerAuth(Ns::App, None),
            PeerAuth(Ns::Literal("istio-system"), Some("STRICT")),
        ],
        "mode-permissive" => &[PeerAuth(Ns::App, Some("PERMISSIVE"))],
        "virtualservice-not-bound" => &[RouteBound(false)],
        "gateway-selector-mismatch" => &[
            GatewaySelects(Selector::Literal("ingressgateway")),
            NoGatewayPodsLabelled("ingressgateway"),
        ],
        "gateway-ip-pending" => &[GatewayIp(false)],
        "configmap-wrong-revision" => &[
            Mesh(MeshMap::OtherRevision, "REGISTRY_ONLY"),
            NoMesh(MeshMap::Lab),
            ServiceEntry(Presence::There),
        ],
        "registry-only-without-serviceentry" => &[
            ServiceEntry(Presence::Absent),
            Mesh(MeshMap::Lab, "REGISTRY_ONLY"),
        ],
        other => return Err(format!("no spot-check for state {other}: write one")),
    })
}

/// Pods of `ns` labelled `istio: <value>` (the ingress gateway's).
async fn gateway_pods(client: &Client, ns: &str, value: &str) -> Result<Vec<Pod>, String> {
    Ok(pods(client, ns)
        .await?
        .into_iter()
        .filter(|p| {
            p.metadata
                .labels
                .as_ref()
                .and_then(|l| l.get("istio"))
                .map(String::as_str)
                == Some(value)
        })
        .collect())
}

/// Read one fact from the API server.
async fn check_fact(client: &Client, p: Profile, fact: Fact, vars: &Vars) -> Result<(), String> {
    let rev = vars.var("revision");
    let app_ns = vars.var("appNamespace");
    let root = vars.var("rootNamespace");
    let want = expected_istiod_replicas(p);
    let mesh_name = |m: MeshMap| match m {
        MeshMap::Revision => format!("istio-{rev}"),
        MeshMap::Lab => vars.var("meshConfigMap").to_owned(),
        MeshMap::OtherRevision => format!("istio-shared-configmap-{OTHER_REVISION}"),
    };
    let se = || {
        get_object(
            client,
            "networking.istio.io/v1",
            "ServiceEntry",
            app_ns,
            "allow-egress-host",
        )
    };
    match fact {
        Fact::IstiodReady | Fact::IstiodPending => {
            let name = format!("istiod-{rev}");
            let d = must_get(client, "apps/v1", "Deployment", root, &name).await?;
            let ready = d["status"]["readyReplicas"].as_i64().unwrap_or(0);
            let ready_wanted = if matches!(fact, Fact::IstiodReady) {
                want
            } else {
                0
            };
            ensure(
                ready == ready_wanted && d["spec"]["replicas"] == want,
                || {
                    format!(
                        "istiod: status {}, spec.replicas {}",
                        d["status"], d["spec"]["replicas"]
                    )
                },
            )?;
            let istiod: Vec<Pod> = pods(client, root)
                .await?
                .into_iter()
                .filter(|p| pod_name(p).starts_with(&format!("{name}-")))
                .collect();
            if matches!(fact, Fact::IstiodReady) {
                ensure(istiod.len() as i64 == want, || {
                    format!("{} istiod pods", istiod.len())
                })?;
                return none_injected_all_ready(&istiod);
            }
            ensure(!istiod.is_empty(), || "no istiod pods".into())?;
            for pod in &istiod {
                ensure(!is_ready(pod), || {
                    format!("istiod pod {} is Ready", pod_name(pod))
                })?;
                let phase = pod.status.as_ref().and_then(|s| s.phase.as_deref());
                ensure(phase == Some("Pending"), || {
                    format!("istiod pod {}: phase {phase:?}", pod_name(pod))
                })?;
            }
            Ok(())
        }
        Fact::Mesh(m, mode) => {
            let name = mesh_name(m);
            let mesh = mesh_config(client, vars, &name)
                .await?
                .ok_or(format!("no ConfigMap {name}"))?;
            ensure(mesh.contains(&format!("mode: {mode}")), || {
                format!("{name} mesh: {mesh}")
            })
        }
        Fact::NoMesh(m) => {
            let name = mesh_name(m);
            ensure(mesh_config(client, vars, &name).await?.is_none(), || {
                format!("ConfigMap {name} exists")
            })
        }
        Fact::AppLabels(wanted) => {
            let labels = namespace_labels(client, app_ns).await?;
            for (key, value) in wanted {
                let value = value.map(|v| match v {
                    Label::Revision => rev,
                    Label::OtherRevision => OTHER_REVISION,
                    Label::Enabled => "enabled",
                });
                ensure(labels.get(*key).map(String::as_str) == value, || {
                    format!("{app_ns} labels {labels:?}")
                })?;
            }
            Ok(())
        }
        Fact::AppPodsPlain => none_injected_all_ready(&app_pods(client, vars).await?),
        Fact::AppPodsInjected => all_injected_and_ready(&app_pods(client, vars).await?, rev),
        Fact::StoreFrontOnOtherRevision => {
            let (old, current): (Vec<Pod>, Vec<Pod>) = app_pods(client, vars)
                .await?
                .into_iter()
                .partition(|p| pod_name(p).starts_with("store-front-"));
            all_injected_and_ready(&old, OTHER_REVISION)?;
            let annotated = old[0]
                .metadata
                .annotations
                .as_ref()
                .and_then(|a| a.get("istio.io/rev"))
                .cloned();
            ensure(annotated.as_deref() == Some(OTHER_REVISION), || {
                format!("store-front istio.io/rev annotation {annotated:?}")
            })?;
            all_injected_and_ready(&current, rev)
        }
        Fact::AppNamespaceInjected => all_injected_and_ready(&pods(client, app_ns).await?, rev),
        Fact::OneClientOutsideMesh => {
            let client_pods = pods(client, vars.var("clientNamespace")).await?;
            ensure(client_pods.len() == 1, || {
                format!("{} client pods", client_pods.len())
            })?;
            none_injected_all_ready(&client_pods)
        }
        Fact::PeerAuth(ns, wanted) => {
            let ns = match ns {
                Ns::App => app_ns,
                Ns::Literal(ns) => ns,
            };
            let mode = peer_authentication_mode(client, ns).await?;
            ensure(mode.as_deref() == wanted, || {
                format!("{ns}/pets-mtls mode {mode:?}, want {wanted:?}")
            })
        }
        Fact::DestinationRuleDisablesTls => {
            let dr = must_get(
                client,
                "networking.istio.io/v1",
                "DestinationRule",
                root,
                "store-front-plaintext",
            )
            .await?;
            let port = &dr["spec"]["trafficPolicy"]["portLevelSettings"][0];
            ensure(
                port["tls"]["mode"] == "DISABLE" && port["port"]["number"] == 80,
                || format!("DestinationRule spec {}", dr["spec"]),
            )
        }
        Fact::GatewayIp(assigned) => {
            let svc = gateway_service(client, vars).await?;
            let ingress = svc["status"]["loadBalancer"].get("ingress");
            let ip = svc["status"]["loadBalancer"]["ingress"][0]["ip"]
                .as_str()
                .unwrap_or_default();
            let as_wanted = if assigned {
                !ip.is_empty()
            } else {
                ingress.is_none()
            };
            ensure(as_wanted && svc["spec"]["type"] == "LoadBalancer", || {
                format!(
                    "gateway Service: type {}, status {}",
                    svc["spec"]["type"], svc["status"]
                )
            })
        }
        Fact::GatewaySelects(selector) => {
            let selector = match selector {
                Selector::Lab => vars.var("ingressGatewaySelector"),
                Selector::Literal(s) => s,
            };
            let gw = must_get(
                client,
                "networking.istio.io/v1",
                "Gateway",
                app_ns,
                "pets-gateway",
            )
            .await?;
            ensure(
                gw["spec"]["selector"] == json!({ "istio": selector }),
                || format!("Gateway selector {}", gw["spec"]["selector"]),
            )
        }
        Fact::GatewayPods => {
            let selector = vars.var("ingressGatewaySelector");
            let gw_pods = gateway_pods(client, vars.var("ingressNamespace"), selector).await?;
            ensure(gw_pods.len() as i64 == want, || {
                format!("{} gateway pods labelled istio={selector}", gw_pods.len())
            })?;
            for pod in &gw_pods {
                // aks: injected with istiod's gateway template; kind: rendered by istioctl.
                let name = pod_name(pod);
                let proxy = pod
                    .spec
                    .iter()
                    .flat_map(|s| &s.containers)
                    .find(|c| c.name == "istio-proxy")
                    .ok_or_else(|| format!("gateway pod {name}: no istio-proxy"))?;
                let args = proxy.args.clone().unwrap_or_default();
                ensure(args.starts_with(&["proxy".into(), "router".into()]), || {
                    format!("gateway pod {name}: istio-proxy args {args:?}")
                })?;
                ensure(is_ready(pod), || {
                    format!("gateway pod {name}: not Ready ({})", ready_column(pod))
                })?;
            }
            Ok(())
        }
        Fact::NoGatewayPodsLabelled(value) => {
            let selected = gateway_pods(client, vars.var("ingressNamespace"), value).await?;
            ensure(selected.is_empty(), || {
                format!("{} pods labelled istio={value}", selected.len())
            })
        }
        Fact::RouteBound(bound) => {
            let vs = must_get(
                client,
                "networking.istio.io/v1",
                "VirtualService",
                app_ns,
                "pets-route",
            )
            .await?;
            let gateways = vs["spec"].get("gateways");
            let as_wanted = if bound {
                gateways == Some(&json!(["pets-gateway"]))
            } else {
                gateways.is_none()
            };
            ensure(as_wanted, || {
                format!("pets-route gateways {}", vs["spec"]["gateways"])
            })
        }
        Fact::ServiceEntry(presence) => {
            let found = se().await?;
            match (presence, found) {
                (Presence::Absent, None) | (Presence::There, Some(_)) => Ok(()),
                (Presence::WithLabHost, Some(se)) => ensure(
                    se["spec"]["hosts"] == json!([vars.var("egressHost")]),
                    || format!("ServiceEntry hosts {}", se["spec"]["hosts"]),
                ),
                (Presence::Absent, Some(_)) => Err("ServiceEntry allow-egress-host exists".into()),
                (_, None) => Err(format!(
                    "ServiceEntry {app_ns}/allow-egress-host does not exist"
                )),
            }
        }
        Fact::NamespacesGone => {
            let api: Api<Namespace> = Api::all(client.clone());
            for ns in vars.namespaces() {
                ensure(
                    api.get_opt(&ns).await.map_err(|e| e.to_string())?.is_none(),
                    || format!("namespace {ns} exists after cleanup"),
                )?;
            }
            Ok(())
        }
    }
}

/// Every fact of `state`, in order; the first that does not hold is the error.
async fn spot_check(client: &Client, p: Profile, state: &State, vars: &Vars) -> Result<(), String> {
    for fact in facts(state)? {
        check_fact(client, p, *fact, vars).await?;
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Running states

/// Applies `state` in fresh namespaces and checks it; for a state with literal namespaces, under
/// the lock, removing those objects again (and checking they are gone).
async fn apply_and_check(client: &Client, p: Profile, state: &State) -> Result<Duration, String> {
    let started = Instant::now();
    let vars = Vars::unique(p);
    let literal = !literal_namespaces(p, state).is_empty();
    let _guard = if literal {
        Some(literal_namespace_lock().await)
    } else {
        None
    };
    let result = async {
        try_apply_state(client, p, state, &vars).await?;
        check_as_written(client, p, state, &vars).await?;
        spot_check(client, p, state, &vars).await
    }
    .await;
    if literal {
        remove_literal_namespace_objects(client, p, state, &vars).await?;
        let left = peer_authentication_mode(client, "istio-system").await?;
        ensure(left.is_none(), || {
            format!("istio-system/pets-mtls left behind ({left:?})")
        })?;
    }
    result.map(|()| started.elapsed())
}

/// Runs every state concurrently; panics listing every state that failed.
async fn run_states(p: Profile, states: Vec<State>) {
    assert!(!states.is_empty(), "no states for {p}");
    let cp = fixture_control_plane().await;
    let client = cp.client(ADMIN).await;
    let started = Instant::now();
    let results = join_all(states.iter().map(|s| apply_and_check(&client, p, s))).await;
    let mut failures = Vec::new();
    for (state, result) in states.iter().zip(results) {
        match result {
            Ok(took) => eprintln!("fixture {p} {state}: ok ({took:.1?})"),
            Err(e) => failures.push(format!("{p} {state}: {e}")),
        }
    }
    eprintln!(
        "fixture {p}: {} states in {:.1?}",
        states.len(),
        started.elapsed()
    );
    assert!(
        failures.is_empty(),
        "{} of {} states failed:\n{}",
        failures.len(),
        states.len(),
        failures.join("\n")
    );
}

#[tokio::test]
async fn aks_every_step_state_is_on_the_api_server_as_written() {
    run_states(Profile::Aks, all_step_states(Profile::Aks)).await;
}

#[tokio::test]
async fn kind_every_step_state_is_on_the_api_server_as_written() {
    run_states(Profile::Kind, all_step_states(Profile::Kind)).await;
}

#[tokio::test]
async fn aks_every_broken_state_is_on_the_api_server_as_written() {
    run_states(Profile::Aks, broken_states(Profile::Aks)).await;
}

#[tokio::test]
async fn kind_every_broken_state_is_on_the_api_server_as_written() {
    run_states(Profile::Kind, broken_states(Profile::Kind)).await;
}

// ---------------------------------------------------------------------------------------------
// The checks above can fail

#[tokio::test]
async fn the_state_checks_reject_a_different_or_altered_state() {
    let cp = fixture_control_plane().await;
    let client = cp.client(ADMIN).await;
    let p = Profile::Aks;

    // deploy-app is not onboard-mesh: no sidecars, pods still the 1/1 ones.
    let vars = Vars::unique(p);
    let deploy_app = State::AfterStep("deploy-app".into());
    apply_state(&client, p, &deploy_app, &vars).await;
    check_as_written(&client, p, &deploy_app, &vars)
        .await
        .expect("deploy-app as written");
    let onboard = State::AfterStep("onboard-mesh".into());
    let e = spot_check(&client, p, &onboard, &vars)
        .await
        .expect_err("onboard-mesh spot-check on deploy-app");
    assert!(e.contains("labels"), "{e}");
    let app = app_pods(&client, &vars).await.expect("4 app pods");
    let e = all_injected_and_ready(&app, vars.var("revision")).expect_err("1/1 pods as injected");
    assert!(e.contains("no istio-proxy"), "{e}");
    let e = check_as_written(&client, p, &onboard, &vars)
        .await
        .expect_err("onboard-mesh objects on deploy-app");
    assert!(e.contains("Pod"), "{e}");

    // ingress with the gateway's IP taken away: both checks see it.
    let vars = Vars::unique(p);
    let ingress = State::AfterStep("ingress".into());
    apply_state(&client, p, &ingress, &vars).await;
    let svc_api: Api<k8s_openapi::api::core::v1::Service> =
        Api::namespaced(client.clone(), vars.var("ingressNamespace"));
    svc_api
        .patch_status(
            vars.var("ingressGatewayService"),
            &PatchParams::default(),
            &Patch::Merge(json!({ "status": { "loadBalancer": { "ingress": null } } })),
        )
        .await
        .expect("take the LB IP away");
    let e = check_as_written(&client, p, &ingress, &vars)
        .await
        .expect_err("as written without the IP");
    assert!(e.contains("status.loadBalancer.ingress"), "{e}");
    let e = spot_check(&client, p, &ingress, &vars)
        .await
        .expect_err("ingress spot-check without the IP");
    assert!(e.contains("gateway Service"), "{e}");

    // An extra pod in the app namespace is noticed.
    apply_yaml(
        &client,
        &format!(
            "apiVersion: v1\nkind: Pod\nmetadata: {{name: stray, namespace: {}}}\nspec: {{containers: [{{name: c, image: busybox}}]}}\n",
            vars.var("appNamespace")
        ),
    )
    .await;
    let e = check_as_written(&client, p, &ingress, &vars)
        .await
        .expect_err("stray pod");
    assert!(e.contains("stray"), "{e}");
}

// ---------------------------------------------------------------------------------------------
// apply_yaml's Delete pseudo-kind

#[tokio::test]
async fn the_delete_pseudo_kind_removes_bound_pods_at_once_and_rejects_missing_objects() {
    let cp = fixture_control_plane().await;
    let client = cp.client(ADMIN).await;
    let ns = crate::harness::unique_name("fx-delete");
    let pod = |image: &str| {
        format!(
            "apiVersion: v1\nkind: Pod\nmetadata: {{name: rabbitmq-0, namespace: {ns}, labels: {{app: rabbitmq}}}}\n\
             spec: {{nodeName: node-1, terminationGracePeriodSeconds: 30, containers: [{{name: rabbitmq, image: {image}}}]}}\n\
             status: {{phase: Running}}\n"
        )
    };
    let delete = format!(
        "apiVersion: v1\nkind: Delete\nitems:\n- {{apiVersion: v1, kind: Pod, namespace: {ns}, name: rabbitmq-0}}\n"
    );
    let first = apply_yaml(&client, &pod("rabbitmq:3.10")).await;
    let first_uid = first[0].metadata.uid.clone();

    // Delete then re-create under the same name in one file (what step onboard-mesh does).
    let out = apply_yaml(&client, &format!("{delete}---\n{}", pod("rabbitmq:3.11"))).await;
    assert_eq!(out.len(), 1, "a Delete document yields no object");
    let api: Api<Pod> = Api::namespaced(client.clone(), &ns);
    let now = api.get("rabbitmq-0").await.expect("re-created pod");
    assert_ne!(now.metadata.uid, first_uid, "the pod was not re-created");
    assert!(now.metadata.deletion_timestamp.is_none());
    assert_eq!(
        now.spec.unwrap().containers[0].image.as_deref(),
        Some("rabbitmq:3.11")
    );
    assert_eq!(now.status.unwrap().phase.as_deref(), Some("Running"));

    // Gone when apply_yaml returns, although bound to a node nobody runs.
    apply_yaml(&client, &delete).await;
    assert!(
        api.get_opt("rabbitmq-0").await.expect("get").is_none(),
        "pod still there"
    );

    // Deleting what is not there is an error (the fixtures and the harness disagree).
    let e = try_apply_yaml(&client, &delete)
        .await
        .expect_err("Delete of a missing pod");
    assert!(e.contains("not found") && e.contains("rabbitmq-0"), "{e}");
    // So is an unknown kind, and an item field the contract doesn't have.
    let e = try_apply_yaml(
        &client,
        &format!("apiVersion: v1\nkind: Delete\nitems: [{{apiVersion: v1, kind: Pod, namespace: {ns}, name: x, grace: 1}}]\n"),
    )
    .await
    .expect_err("unknown item field");
    assert!(e.contains("grace"), "{e}");
}

#[tokio::test]
async fn apply_yaml_replaces_the_status_of_an_existing_object_exactly() {
    let cp = fixture_control_plane().await;
    let client = cp.client(ADMIN).await;
    let ns = crate::harness::unique_name("fx-status");
    let deployment = |status: &str| {
        format!(
            "apiVersion: apps/v1\nkind: Deployment\nmetadata: {{name: d, namespace: {ns}}}\n\
             spec: {{replicas: 1, selector: {{matchLabels: {{app: d}}}}, template: {{metadata: {{labels: {{app: d}}}}, \
             spec: {{containers: [{{name: c, image: busybox}}]}}}}}}\nstatus: {status}\n"
        )
    };
    let first = apply_yaml(
        &client,
        &deployment("{replicas: 1, readyReplicas: 1, availableReplicas: 1}"),
    )
    .await;
    assert_eq!(first[0].data["status"]["readyReplicas"], 1);
    let second = apply_yaml(
        &client,
        &deployment("{replicas: 1, unavailableReplicas: 1}"),
    )
    .await;
    assert_eq!(
        second[0].data["status"],
        json!({ "replicas": 1, "unavailableReplicas": 1 }),
        "status fields of the first version left over"
    );
}

// ---------------------------------------------------------------------------------------------
// The index, the variables, rendering (no cluster)

#[test]
fn every_fixture_state_has_its_spot_check_facts() {
    for p in Profile::ALL {
        for state in all_step_states(p).into_iter().chain(broken_states(p)) {
            let facts = facts(&state).unwrap_or_else(|e| panic!("{p}: {e}"));
            assert!(!facts.is_empty(), "{p}: {state} has no facts");
        }
    }
}

#[test]
fn the_fixture_index_parses_and_names_every_fixture_file() {
    let index = FixtureIndex::load();
    let ids: Vec<&str> = index.steps.iter().map(|s| s.id.as_str()).collect();
    assert_eq!(
        ids,
        *crate::grade_offline::STEPS,
        "the index follows the lab's steps"
    );
    assert!(index.step("cleanup").reset);
    let named = index.files();
    let mut on_disk = BTreeSet::new();
    for sub in ["aks", "kind", "common", "broken"] {
        for entry in std::fs::read_dir(fixture_dir().join(sub)).expect("fixture dir") {
            let name = entry
                .expect("dir entry")
                .file_name()
                .into_string()
                .expect("utf-8");
            on_disk.insert(format!("{sub}/{name}"));
        }
    }
    assert_eq!(named, on_disk, "index.yaml and the fixture files disagree");
    assert_eq!(broken_states(Profile::Aks).len(), 14);
    assert_eq!(broken_states(Profile::Kind).len(), 13);
    assert!(
        !broken_states(Profile::Kind).contains(&State::Broken("configmap-wrong-revision".into()))
    );

    // deny_unknown_fields: a typo in the index is an error, not ignored.
    let text = std::fs::read_to_string(fixture_dir().join("index.yaml")).expect("index.yaml");
    let typo = text.replacen(
        "    diagnosis: istiod-not-ready",
        "    diagnose: istiod-not-ready",
        1,
    );
    assert_ne!(typo, text);
    let err = serde_saphyr::from_str::<FixtureIndex>(&typo).expect_err("unknown field accepted");
    assert!(err.to_string().contains("diagnose"), "{err}");
}

#[test]
fn the_index_variables_are_the_lab_defaults() {
    let lab: Value = serde_saphyr::from_str(
        &std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/labs/istio-aks/lab.yaml"
        ))
        .expect("lab.yaml"),
    )
    .expect("lab.yaml parses");
    for p in Profile::ALL {
        let vars = Vars::defaults(p);
        for (name, value) in vars.iter() {
            let default = lab["profiles"][p.as_str()]["variables"][name]
                .as_str()
                .or(lab["variables"][name]["default"].as_str())
                .unwrap_or_else(|| panic!("lab.yaml has no default for {name}"));
            let vars_map: &BTreeMap<String, String> = &vars;
            assert_eq!(&render(default, vars_map), value, "{p}: {name}");
        }
    }
    assert_eq!(
        Vars::defaults(Profile::Aks).var("meshConfigMap"),
        "istio-shared-configmap-asm-1-27"
    );
    assert_eq!(
        Vars::defaults(Profile::Kind).var("meshConfigMap"),
        "istio-asm-1-27"
    );
    assert_eq!(Vars::defaults(Profile::Kind).var("revision"), "asm-1-27");
}

#[test]
fn unique_vars_differ_only_in_the_namespaces() {
    for p in Profile::ALL {
        let (a, b, d) = (Vars::unique(p), Vars::unique(p), Vars::defaults(p));
        assert_eq!(a.keys().collect::<Vec<_>>(), d.keys().collect::<Vec<_>>());
        for (name, value) in d.iter() {
            if crate::harness::NAMESPACE_VARIABLES.contains(&name.as_str()) {
                assert_ne!(a[name], b[name], "{name}");
                assert!(
                    a[name].starts_with(value.as_str()) && a[name] != *value,
                    "{name}: {}",
                    a[name]
                );
                assert!(a[name].len() <= 63);
            } else {
                assert_eq!(&a[name], value, "{name}");
            }
        }
        assert_eq!(a.namespaces().len(), 4, "namespaces collide: {a:?}");
    }
}

#[test]
fn render_substitutes_placeholders_with_or_without_spaces() {
    let vars: BTreeMap<String, String> = [("revision", "asm-1-23"), ("appNamespace", "pets")]
        .map(|(k, v)| (k.into(), v.into()))
        .into();
    assert_eq!(
        render(
            "{{ revision }}/{{revision}}/{{  appNamespace\t}} # {{ revision }}",
            &vars
        ),
        "asm-1-23/asm-1-23/pets # asm-1-23"
    );
    let e = try_render("a: {{ nope }}", &vars).expect_err("unknown variable");
    assert!(e.contains("nope"), "{e}");
    let e = try_render("a: b\nc: {{ revision-x }}", &vars).expect_err("left-over placeholder");
    assert!(e.contains("line 2"), "{e}");
}

#[test]
#[should_panic(expected = "placeholder left")]
fn render_panics_on_a_placeholder_left() {
    render("x: {{ }}", &BTreeMap::new());
}

#[test]
fn every_fixture_file_renders_and_parses_into_documents_of_the_contract() {
    let index = FixtureIndex::load();
    for p in Profile::ALL {
        let vars = Vars::unique(p);
        for file in index.files() {
            let yaml = render_file(&file, &vars).unwrap_or_else(|e| panic!("{e}"));
            let docs = parse_documents(&yaml).unwrap_or_else(|e| panic!("{file}: {e}"));
            assert!(!docs.is_empty(), "{file}: no documents");
            for doc in docs {
                if crate::harness::is_delete(&doc) {
                    for item in doc["items"].as_array().expect("items") {
                        for field in ["apiVersion", "kind", "namespace", "name"] {
                            assert!(
                                item[field].is_string(),
                                "{file}: Delete item without {field}: {item}"
                            );
                        }
                    }
                } else {
                    assert!(
                        doc["apiVersion"].is_string() && doc["kind"].is_string(),
                        "{file}: {doc}"
                    );
                    assert!(
                        doc["metadata"]["name"].is_string(),
                        "{file}: no metadata.name"
                    );
                }
            }
        }
    }
}

#[test]
fn only_policy_in_wrong_namespace_writes_to_a_literal_namespace() {
    for p in Profile::ALL {
        for state in all_step_states(p).into_iter().chain(broken_states(p)) {
            let literal = literal_namespaces(p, &state);
            if state == State::Broken("policy-in-wrong-namespace".into()) {
                assert_eq!(
                    literal,
                    BTreeSet::from(["istio-system".to_string()]),
                    "{p} {state}"
                );
            } else {
                assert!(
                    literal.is_empty(),
                    "{p} {state}: literal namespaces {literal:?}"
                );
            }
        }
    }
    // A key is (group, kind, namespace, name).
    let key: ObjectKey = crate::harness::object_key(&json!({
        "apiVersion": "networking.istio.io/v1", "kind": "Gateway",
        "metadata": { "namespace": "n", "name": "g" }
    }));
    assert_eq!(
        key,
        (
            "networking.istio.io".into(),
            "Gateway".into(),
            "n".into(),
            "g".into()
        )
    );
}

#[test]
fn state_files_follow_the_index_order() {
    let p = Profile::Kind;
    assert_eq!(
        crate::harness::state_files(p, &State::AfterStep("onboard-mesh".into())),
        [
            "kind/01-enable-addon.yaml",
            "common/02-deploy-app.yaml",
            "kind/02-deploy-app.yaml",
            "common/03-onboard-mesh.yaml",
            "kind/03-onboard-mesh.yaml"
        ]
    );
    assert!(crate::harness::state_files(p, &State::AfterStep("cleanup".into())).is_empty());
    assert_eq!(
        crate::harness::state_files(p, &State::Broken("istiod-not-ready".into())),
        ["broken/istiod-not-ready-kind.yaml"]
    );
    let files = crate::harness::state_files(Profile::Aks, &State::Broken("not-restarted".into()));
    assert_eq!(
        files.last().map(String::as_str),
        Some("broken/not-restarted.yaml")
    );
    assert_eq!(files.len(), 4);
}
