//! Short-lived probe pods: the only objects labctl ever writes to a learner's cluster. A probe
//! pod runs a probe script once (one request for a probe, N for a distribution;
//! `restartPolicy: Never`, `activeDeadlineSeconds`), writes its report to its termination
//! message, and is deleted (grace 0) on every path: passed, failed,
//! timed out — and on Ctrl-C through the [`LivePods`](crate::probe::run::LivePods) registry.

use crate::eval::facts::ProbeFact;
use crate::eval::probe::ProbeOutcome;
use crate::labfile::lab::ProbePod;
use crate::probe::run::LivePods;
use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, DeleteParams, PostParams};
use serde_json::{Value, json};
use std::time::Duration;

// Every probe pod carries `MANAGED_BY` (and `labctl.dev/run`), so that leftovers are easy to
// find: `kubectl delete pod -A -l app.kubernetes.io/managed-by=labctl`.
pub use crate::view::watch::MANAGED_BY;
pub const RUN_LABEL: &str = "labctl.dev/run";
pub const CHECK_LABEL: &str = "labctl.dev/check";
/// The probe pod's one container (a sidecar may be injected next to it).
pub const CONTAINER: &str = "probe";

/// The pod object to create (pure). `deadline` becomes `activeDeadlineSeconds`.
pub fn manifest(
    pod: &ProbePod,
    script: &str,
    run_id: &str,
    check: &str,
    deadline: Duration,
) -> Value {
    let mut labels = json!({
        MANAGED_BY.0: MANAGED_BY.1,
        RUN_LABEL: run_id,
        CHECK_LABEL: label_value(check),
    });
    let mut annotations = json!({});
    if pod.mesh {
        // Start curl only once the sidecar can carry its request.
        annotations["proxy.istio.io/config"] =
            json!(r#"{"holdApplicationUntilProxyStarts": true}"#);
    } else {
        labels["sidecar.istio.io/inject"] = json!("false");
    }
    json!({
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "generateName": "labctl-probe-",
            "namespace": pod.namespace,
            "labels": labels,
            "annotations": annotations,
        },
        "spec": {
            "restartPolicy": "Never",
            "activeDeadlineSeconds": deadline.as_secs().max(1),
            "automountServiceAccountToken": false,
            "terminationGracePeriodSeconds": 0,
            "containers": [{
                "name": CONTAINER,
                "image": pod.image,
                "command": ["sh", "-c", script],
                "terminationMessagePolicy": "FallbackToLogsOnError",
                "resources": {
                    "requests": {"cpu": "10m", "memory": "16Mi"},
                    "limits": {"cpu": "200m", "memory": "64Mi"},
                },
                "securityContext": {
                    "allowPrivilegeEscalation": false,
                    "capabilities": {"drop": ["ALL"]},
                },
            }],
        },
    })
}

/// A label value: at most 63 characters of `[A-Za-z0-9._-]`.
fn label_value(s: &str) -> String {
    let v: String = s
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "._-".contains(c) {
                c
            } else {
                '-'
            }
        })
        .take(63)
        .collect();
    v.trim_matches(|c: char| !c.is_ascii_alphanumeric())
        .to_owned()
}

/// Whether the probe container is done (or the whole pod is).
pub fn finished(pod: &Pod) -> bool {
    let status = pod.status.as_ref();
    let phase = status.and_then(|s| s.phase.as_deref());
    matches!(phase, Some("Succeeded" | "Failed")) || termination(pod).is_some()
}

/// The probe container's termination message, once it has terminated.
fn termination(pod: &Pod) -> Option<String> {
    pod.status
        .as_ref()?
        .container_statuses
        .as_ref()?
        .iter()
        .find(|c| c.name == CONTAINER)?
        .state
        .as_ref()?
        .terminated
        .as_ref()
        .map(|t| t.message.clone().unwrap_or_default())
}

/// Whether an istio-proxy sidecar was injected (a container, or a native sidecar init container).
pub fn has_sidecar(pod: &Pod) -> bool {
    pod.spec.as_ref().is_some_and(|s| {
        s.containers
            .iter()
            .chain(s.init_containers.iter().flatten())
            .any(|c| c.name == "istio-proxy")
    })
}

/// What a finished probe pod left: its probe container's termination message (the script's
/// report) and whether it ran with a sidecar; `Err` (why) when it ended without one (pure).
pub fn report(pod: &Pod) -> Result<Finished, String> {
    let Some(message) = termination(pod) else {
        let status = pod.status.as_ref();
        return Err(format!(
            "probe pod {} ended {} without a result{}",
            name_of(pod),
            status.and_then(|s| s.phase.clone()).unwrap_or_default(),
            status
                .and_then(|s| s.reason.clone().or(s.message.clone()))
                .map(|r| format!(": {r}"))
                .unwrap_or_default()
        ));
    };
    Ok(Finished {
        message,
        sidecar: has_sidecar(pod),
        name: name_of(pod),
    })
}

/// A probe pod that finished with a report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finished {
    /// The termination message: the script's report.
    pub message: String,
    /// Whether an istio-proxy sidecar was injected.
    pub sidecar: bool,
    /// `namespace/name`, for messages.
    pub name: String,
}

/// The result a finished probe pod holds (pure).
pub fn outcome(pod: &Pod) -> ProbeFact {
    match report(pod) {
        Ok(done) => fact(&done),
        Err(why) => ProbeFact::Failed(why),
    }
}

/// A probe's report read back as its fact.
fn fact(done: &Finished) -> ProbeFact {
    match crate::probe::curl::parse(&done.message) {
        Ok(reply) => ProbeFact::Ran(ProbeOutcome {
            reply,
            sidecar: Some(done.sidecar),
        }),
        Err(why) => ProbeFact::Failed(format!("probe pod {}: {why}", done.name)),
    }
}

fn name_of(pod: &Pod) -> String {
    format!(
        "{}/{}",
        pod.metadata.namespace.as_deref().unwrap_or(""),
        pod.metadata.name.as_deref().unwrap_or("")
    )
}

/// Where a pod that did not finish got stuck: "Pending, ErrImagePull: …".
fn stuck(pod: Option<&Pod>) -> String {
    let Some(status) = pod.and_then(|p| p.status.as_ref()) else {
        return "not scheduled".into();
    };
    let mut parts = vec![status.phase.clone().unwrap_or_else(|| "Pending".into())];
    for c in status.container_statuses.iter().flatten() {
        if let Some(w) = c.state.as_ref().and_then(|s| s.waiting.as_ref()) {
            parts.push(format!(
                "{} {}{}",
                c.name,
                w.reason.clone().unwrap_or_default(),
                w.message
                    .as_deref()
                    .map(|m| format!(": {m}"))
                    .unwrap_or_default()
            ));
        }
    }
    parts.join(", ")
}

/// Create the probe pod, wait for its report, delete it. Never leaves it behind unless the
/// delete itself fails (then `live` keeps it, and the grade reports it).
pub async fn run(
    client: &kube::Client,
    manifest: &Value,
    timeout: Duration,
    live: &LivePods,
) -> ProbeFact {
    match run_script(client, manifest, timeout, live).await {
        Ok(done) => fact(&done),
        Err(why) => ProbeFact::Failed(why),
    }
}

/// [`run`] for any probe script: create the pod, wait until it finishes or `timeout`, delete it
/// on every path, and return what it left (`Err`: why there is nothing to read).
pub async fn run_script(
    client: &kube::Client,
    manifest: &Value,
    timeout: Duration,
    live: &LivePods,
) -> Result<Finished, String> {
    let namespace = manifest["metadata"]["namespace"]
        .as_str()
        .unwrap_or_default();
    let api: Api<Pod> = Api::namespaced(client.clone(), namespace);
    let pod: Pod = serde_json::from_value(manifest.clone())
        .map_err(|e| format!("internal error: probe pod manifest: {e}"))?;
    let created = match api.create(&PostParams::default(), &pod).await {
        Ok(p) => p,
        Err(kube::Error::Api(s)) if s.is_forbidden() => {
            return Err(format!(
                "creating a probe pod in {namespace} was forbidden: {}",
                s.message
            ));
        }
        Err(e) => return Err(format!("cannot create a probe pod in {namespace}: {e}")),
    };
    let name = created.metadata.name.clone().unwrap_or_default();
    live.add(namespace, &name);
    let waited = crate::view::watch::for_object(&api, &name, timeout, finished).await;
    let done = match waited {
        Ok(Some(pod)) => report(&pod),
        Ok(None) => {
            let last = api.get_opt(&name).await.ok().flatten();
            Err(format!(
                "probe pod {namespace}/{name} did not finish within {}s ({})",
                timeout.as_secs(),
                stuck(last.as_ref())
            ))
        }
        Err(e) => Err(format!("watching probe pod {namespace}/{name}: {e}")),
    };
    delete(client, namespace, &name, live).await;
    done
}

/// Delete a probe pod at once; it leaves the registry only when it is really gone.
pub async fn delete(client: &kube::Client, namespace: &str, name: &str, live: &LivePods) {
    let api: Api<Pod> = Api::namespaced(client.clone(), namespace);
    let params = DeleteParams {
        grace_period_seconds: Some(0),
        ..DeleteParams::default()
    };
    match api.delete(name, &params).await {
        Ok(_) => live.remove(namespace, name),
        Err(kube::Error::Api(s)) if s.is_not_found() => live.remove(namespace, name),
        Err(e) => live.failed(namespace, name, &e.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::eval::probe::Reply;

    fn pod(mesh: bool) -> ProbePod {
        ProbePod {
            namespace: "default".into(),
            image: "curlimages/curl:8.11.1".into(),
            mesh,
        }
    }

    #[test]
    fn the_manifest_is_labelled_bounded_and_has_no_token() {
        let m = manifest(
            &pod(false),
            "echo",
            "r1x",
            "plaintext-blocked",
            Duration::from_secs(60),
        );
        assert_eq!(
            m["metadata"]["labels"]["app.kubernetes.io/managed-by"],
            "labctl"
        );
        assert_eq!(m["metadata"]["labels"]["labctl.dev/run"], "r1x");
        assert_eq!(
            m["metadata"]["labels"]["labctl.dev/check"],
            "plaintext-blocked"
        );
        assert_eq!(m["metadata"]["labels"]["sidecar.istio.io/inject"], "false");
        assert_eq!(m["spec"]["activeDeadlineSeconds"], 60);
        assert_eq!(m["spec"]["restartPolicy"], "Never");
        assert_eq!(m["spec"]["automountServiceAccountToken"], false);
        assert_eq!(
            m["spec"]["containers"][0]["image"],
            "curlimages/curl:8.11.1"
        );
        // It is a valid Pod.
        serde_json::from_value::<Pod>(m).unwrap();
        let meshed = manifest(&pod(true), "echo", "r1x", "x", Duration::from_secs(5));
        assert!(
            meshed["metadata"]["labels"]
                .get("sidecar.istio.io/inject")
                .is_none()
        );
        assert!(
            meshed["metadata"]["annotations"]["proxy.istio.io/config"]
                .as_str()
                .unwrap()
                .contains("holdApplicationUntilProxyStarts")
        );
        assert_eq!(label_value("a b/c_"), "a-b-c");
    }

    #[test]
    fn a_finished_pod_gives_its_report() {
        let done: Pod = serde_json::from_value(json!({
            "metadata": {"name": "labctl-probe-x", "namespace": "pets"},
            "spec": {"containers": [{"name": "probe"}, {"name": "istio-proxy"}]},
            "status": {"phase": "Running", "containerStatuses": [{
                "name": "probe", "ready": false, "restartCount": 0, "image": "", "imageID": "",
                "state": {"terminated": {"exitCode": 0, "message": "labctl-probe 1\nexit 0\ncode 200\nerror \nbody\nhi"}}
            }]}
        }))
        .unwrap();
        assert!(finished(&done));
        assert_eq!(
            outcome(&done),
            ProbeFact::Ran(ProbeOutcome {
                reply: Reply::Http {
                    status: 200,
                    body: "hi".into()
                },
                sidecar: Some(true)
            })
        );
        let deadline: Pod = serde_json::from_value(json!({
            "metadata": {"name": "labctl-probe-y", "namespace": "default"},
            "status": {"phase": "Failed", "reason": "DeadlineExceeded"}
        }))
        .unwrap();
        assert!(finished(&deadline));
        assert_eq!(
            outcome(&deadline),
            ProbeFact::Failed(
                "probe pod default/labctl-probe-y ended Failed without a result: DeadlineExceeded"
                    .into()
            )
        );
        let pending: Pod = serde_json::from_value(json!({
            "metadata": {"name": "p"},
            "status": {"phase": "Pending", "containerStatuses": [{
                "name": "probe", "ready": false, "restartCount": 0, "image": "", "imageID": "",
                "state": {"waiting": {"reason": "ImagePullBackOff", "message": "no such image"}}
            }]}
        }))
        .unwrap();
        assert!(!finished(&pending));
        assert_eq!(
            stuck(Some(&pending)),
            "Pending, probe ImagePullBackOff: no such image"
        );
        assert_eq!(stuck(None), "not scheduled");
    }
}
