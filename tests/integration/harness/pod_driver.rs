//! The kubelet these clusters don't have: [`PodStatusDriver`] watches pods in some namespaces and
//! reports every one of them scheduled, Running and Ready through `pods/status` — a ready, running
//! `containerStatuses` entry per container, `initContainerStatuses` terminated with `Completed`,
//! a `podIP`, `hostIP` and `startTime`. With the controller manager running, ReplicaSets and
//! Deployments then compute their own ready/available status from those pods.
//!
//! Pods are never bound to a node (`spec.nodeName` stays empty), so deleting one is immediate —
//! `kubectl rollout restart` replaces pods as on a real cluster. For a control plane started
//! without the controller manager, [`mark_workload_ready`] writes a workload's status directly.

use std::path::PathBuf;
use std::sync::atomic::{AtomicU32, Ordering};

use futures::StreamExt;
use k8s_openapi::api::core::v1::Pod;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use kube::api::{Api, DynamicObject, Patch, PatchParams};
use kube::core::ApiResource;
use kube::runtime::{WatchStreamExt, watcher};
use serde_json::{Value, json};

use super::ControlPlane;

/// Background pod "kubelet" for some namespaces; stops when dropped.
pub struct PodStatusDriver {
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl PodStatusDriver {
    /// Starts driving pods of `namespaces` (on the harness runtime, as `admin`).
    pub fn start(cp: &ControlPlane, namespaces: &[&str]) -> PodStatusDriver {
        let kubeconfig = cp.kubeconfig_path(super::users::ADMIN);
        let tasks = namespaces
            .iter()
            .map(|ns| super::harness_runtime().spawn(drive(kubeconfig.clone(), ns.to_string())))
            .collect();
        PodStatusDriver { tasks }
    }
}

impl Drop for PodStatusDriver {
    fn drop(&mut self) {
        for t in &self.tasks {
            t.abort();
        }
    }
}

async fn drive(kubeconfig: PathBuf, ns: String) {
    let client = super::client_from_kubeconfig(&kubeconfig).await;
    let pods: Api<Pod> = Api::namespaced(client, &ns);
    let stream = watcher(pods.clone(), watcher::Config::default())
        .default_backoff()
        .applied_objects();
    futures::pin_mut!(stream);
    while let Some(item) = stream.next().await {
        let Ok(pod) = item else { continue };
        if !needs_status(&pod) {
            continue;
        }
        let name = pod.metadata.name.clone().unwrap_or_default();
        let patch = json!({ "status": ready_status(&pod) });
        if let Err(e) = pods
            .patch_status(&name, &PatchParams::default(), &Patch::Merge(&patch))
            .await
            && !matches!(&e, kube::Error::Api(s) if s.is_not_found())
        {
            eprintln!("PodStatusDriver: pod {ns}/{name}: {e}");
        }
    }
}

fn needs_status(pod: &Pod) -> bool {
    if pod.metadata.deletion_timestamp.is_some() {
        return false;
    }
    let spec = pod.spec.as_ref().map(|s| s.containers.len()).unwrap_or(0);
    let Some(status) = &pod.status else {
        return true;
    };
    let ready = status
        .conditions
        .iter()
        .flatten()
        .any(|c| c.type_ == "Ready" && c.status == "True");
    let reported = status
        .container_statuses
        .as_ref()
        .map(|c| c.len())
        .unwrap_or(0);
    status.phase.as_deref() != Some("Running") || !ready || reported != spec
}

fn now() -> Value {
    serde_json::to_value(Time(k8s_openapi::jiff::Timestamp::now())).expect("serialize Time")
}

/// The `status` of `pod` as a kubelet would report it once everything runs and is ready.
pub fn ready_status(pod: &Pod) -> Value {
    static N: AtomicU32 = AtomicU32::new(10);
    let n = N.fetch_add(1, Ordering::Relaxed);
    let ip = format!("10.244.{}.{}", (n / 250) % 250, n % 250 + 2);
    let now = now();
    let id = |name: &str| {
        format!(
            "containerd://{:064x}",
            fxhash(&format!("{:?}{name}{n}", pod.metadata.uid))
        )
    };
    let image_id = |image: &str| {
        format!(
            "{}@sha256:{:064x}",
            image.split(':').next().unwrap_or(image),
            fxhash(image)
        )
    };
    let spec = pod.spec.clone().unwrap_or_default();
    let containers: Vec<Value> = spec
        .containers
        .iter()
        .map(|c| {
            let image = c.image.clone().unwrap_or_default();
            json!({ "name": c.name, "image": image, "imageID": image_id(&image), "containerID": id(&c.name),
                    "ready": true, "started": true, "restartCount": 0,
                    "state": { "running": { "startedAt": now } }, "lastState": {} })
        })
        .collect();
    let inits: Vec<Value> = spec
        .init_containers
        .iter()
        .flatten()
        .map(|c| {
            let image = c.image.clone().unwrap_or_default();
            json!({ "name": c.name, "image": image, "imageID": image_id(&image), "containerID": id(&c.name),
                    "ready": true, "restartCount": 0, "lastState": {},
                    "state": { "terminated": { "exitCode": 0, "reason": "Completed", "startedAt": now,
                                               "finishedAt": now, "containerID": id(&c.name) } } })
        })
        .collect();
    let cond = |t: &str| json!({ "type": t, "status": "True", "lastProbeTime": null, "lastTransitionTime": now });
    json!({
        "phase": "Running",
        "conditions": [cond("Initialized"), cond("Ready"), cond("ContainersReady"), cond("PodScheduled")],
        "hostIP": "10.224.0.4",
        "podIP": ip,
        "podIPs": [{ "ip": ip }],
        "startTime": now,
        "containerStatuses": containers,
        "initContainerStatuses": inits,
    })
}

fn fxhash(s: &str) -> u128 {
    s.bytes().fold(0xcbf29ce484222325u128, |h, b| {
        (h ^ b as u128).wrapping_mul(0x100000001b3)
    })
}

/// Writes a ready `status` for a Deployment or StatefulSet (for control planes without the
/// controller manager, whose controllers would otherwise compute it from the pods).
pub async fn mark_workload_ready(client: &kube::Client, kind: &str, ns: &str, name: &str) {
    let ar = match kind {
        "Deployment" => ApiResource::erase::<k8s_openapi::api::apps::v1::Deployment>(&()),
        "StatefulSet" => ApiResource::erase::<k8s_openapi::api::apps::v1::StatefulSet>(&()),
        other => panic!("mark_workload_ready: unsupported kind {other}"),
    };
    let api: Api<DynamicObject> = Api::namespaced_with(client.clone(), ns, &ar);
    let obj = api
        .get(name)
        .await
        .unwrap_or_else(|e| panic!("get {kind} {ns}/{name}: {e}"));
    let replicas = obj.data["spec"]["replicas"].as_i64().unwrap_or(1);
    let generation = obj.metadata.generation.unwrap_or(1);
    let now = now();
    let status = if kind == "Deployment" {
        json!({ "observedGeneration": generation, "replicas": replicas, "readyReplicas": replicas,
                "availableReplicas": replicas, "updatedReplicas": replicas,
                "conditions": [
                    { "type": "Available", "status": "True", "reason": "MinimumReplicasAvailable",
                      "message": "Deployment has minimum availability.", "lastUpdateTime": now, "lastTransitionTime": now },
                    { "type": "Progressing", "status": "True", "reason": "NewReplicaSetAvailable",
                      "message": format!("ReplicaSet \"{name}\" has successfully progressed."),
                      "lastUpdateTime": now, "lastTransitionTime": now } ] })
    } else {
        json!({ "observedGeneration": generation, "replicas": replicas, "readyReplicas": replicas,
                "currentReplicas": replicas, "updatedReplicas": replicas, "availableReplicas": replicas,
                "currentRevision": format!("{name}-0"), "updateRevision": format!("{name}-0") })
    };
    api.patch_status(
        name,
        &PatchParams::default(),
        &Patch::Merge(json!({ "status": status })),
    )
    .await
    .unwrap_or_else(|e| panic!("patch status of {kind} {ns}/{name}: {e}"));
}
