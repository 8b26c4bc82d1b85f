//! Probes from a pod that already runs: pick it from the listed pods, run the curl script in it
//! through `pods/exec` over kube's WebSocket client, and fall back to `kubectl exec` (same
//! kubeconfig and context, passed by name: no credentials are written anywhere) when the
//! connection cannot be upgraded to the exec WebSocket protocol.
//!
//! kube 5 offers `v5.channel.k8s.io, v4.channel.k8s.io`; API servers before 1.30 answer v4
//! (1.20 included), which works too (v5 only adds closing stdin). What kube's client cannot get
//! past is a server or proxy that refuses WebSocket upgrades altogether, or only speaks SPDY
//! ("Upgrade request required"): that is when kubectl, which speaks SPDY, takes over.

use crate::eval::facts::CommandFact;
use crate::labfile::lab::ProbeExec;
use crate::probe::error::ProbeError;
use crate::process::run_with_timeout;
use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, AttachParams};
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;
use tokio::io::AsyncReadExt;

/// The most of an exec's stdout that is read (a probe's or a distribution's report is a few KiB).
pub const STDOUT_BYTES: u64 = 256 * 1024;

/// How to run kubectl against the same cluster labctl talks to.
#[derive(Debug, Clone, Default)]
pub struct Kubectl {
    pub kubeconfig: Option<PathBuf>,
    /// `None` for the in-cluster service account (kubectl finds it itself).
    pub context: Option<String>,
}

impl Kubectl {
    fn args(&self) -> Vec<String> {
        let mut args = Vec::new();
        if let Some(k) = &self.kubeconfig {
            args.extend(["--kubeconfig".to_owned(), k.display().to_string()]);
        }
        if let Some(c) = &self.context {
            args.extend(["--context".to_owned(), c.clone()]);
        }
        args
    }
}

/// The running pod to exec into: the first by name that matches, is Running and not deleting.
pub fn pick_pod(exec: &ProbeExec, pods: &[Value]) -> Result<String, ProbeError> {
    let selector =
        crate::labfile::selector::parse(&exec.labels).map_err(|e| ProbeError::Selector {
            labels: exec.labels.clone(),
            reason: e.to_string(),
        })?;
    let mut names: Vec<&str> = pods
        .iter()
        .filter(|p| {
            let labels: BTreeMap<String, String> = p
                .pointer("/metadata/labels")
                .and_then(|l| serde_json::from_value(l.clone()).ok())
                .unwrap_or_default();
            crate::labfile::selector::matches(&selector, &labels)
                && p.pointer("/status/phase") == Some(&Value::from("Running"))
                && p.pointer("/metadata/deletionTimestamp").is_none()
        })
        .filter_map(|p| p.pointer("/metadata/name").and_then(Value::as_str))
        .collect();
    names.sort_unstable();
    names
        .first()
        .map(|n| (*n).to_owned())
        .ok_or_else(|| ProbeError::NoPod {
            labels: exec.labels.clone(),
            namespace: exec.namespace.clone(),
        })
}

/// Whether an exec error means "this server will not speak kube's WebSocket exec" (then kubectl
/// may still get through), rather than a real answer (forbidden, pod not running, not found).
pub fn needs_kubectl(err: &kube::Error) -> bool {
    match err {
        kube::Error::UpgradeConnection(_) => true,
        kube::Error::Api(status) => {
            status.code == 400
                && status
                    .message
                    .to_lowercase()
                    .contains("upgrade request required")
        }
        _ => false,
    }
}

/// Run `script` in the pod and return what it printed on stdout.
pub async fn run(
    client: &kube::Client,
    kubectl: &Kubectl,
    exec: &ProbeExec,
    pod: &str,
    script: &str,
    timeout: Duration,
) -> Result<String, ProbeError> {
    let ws = tokio::time::timeout(timeout, over_websocket(client, exec, pod, script)).await;
    match ws {
        Ok(Ok(stdout)) => Ok(stdout),
        Ok(Err(e)) if needs_kubectl(&e) => {
            let kubectl = kubectl.clone();
            let (exec, pod, script) = (exec.clone(), pod.to_owned(), script.to_owned());
            tokio::task::spawn_blocking(move || {
                with_kubectl(&kubectl, &exec, &pod, &script, timeout)
            })
            .await
            .map_err(|e| ProbeError::KubectlUnfinished(e.to_string()))?
        }
        Ok(Err(e)) => Err(ProbeError::Exec {
            pod: pod.to_owned(),
            namespace: exec.namespace.clone(),
            reason: describe(&e),
        }),
        Err(_) => Err(ProbeError::ExecTimeout {
            pod: pod.to_owned(),
            namespace: exec.namespace.clone(),
            timeout,
        }),
    }
}

fn describe(e: &kube::Error) -> String {
    match e {
        kube::Error::Api(s) => format!("{} ({})", s.message, s.code),
        other => other.to_string(),
    }
}

async fn over_websocket(
    client: &kube::Client,
    exec: &ProbeExec,
    pod: &str,
    script: &str,
) -> Result<String, kube::Error> {
    let api: Api<Pod> = Api::namespaced(client.clone(), &exec.namespace);
    let mut params = AttachParams::default()
        .stdin(false)
        .stdout(true)
        .stderr(true);
    if let Some(c) = &exec.container {
        params = params.container(c.as_str());
    }
    let mut attached = api.exec(pod, ["sh", "-c", script], &params).await?;
    let status = attached.take_status();
    // The pod is the learner's: read at most STDOUT_BYTES of whatever it prints (a report is a
    // few KiB), and let the rest go.
    let mut bytes = Vec::new();
    if let Some(out) = attached.stdout() {
        let _ = out.take(STDOUT_BYTES).read_to_end(&mut bytes).await;
    }
    let stdout = String::from_utf8_lossy(&bytes).into_owned();
    if let Some(status) = status
        && let Some(s) = status.await
        && s.status.as_deref() == Some("Failure")
        && !has_report(&stdout)
    {
        // e.g. `exec: "sh": executable file not found`: say so instead of "no report".
        return Err(kube::Error::Api(
            kube::core::Status::failure(&s.message.unwrap_or_default(), "ExecFailed")
                .with_code(500)
                .boxed(),
        ));
    }
    Ok(stdout)
}

/// Whether a script printed its report (a probe's or a distribution's), whatever else happened.
fn has_report(stdout: &str) -> bool {
    stdout.contains(crate::probe::curl::MAGIC) || stdout.contains(crate::probe::distribution::MAGIC)
}

fn with_kubectl(
    kubectl: &Kubectl,
    exec: &ProbeExec,
    pod: &str,
    script: &str,
    timeout: Duration,
) -> Result<String, ProbeError> {
    let mut args = kubectl.args();
    args.extend([
        "exec".into(),
        "-n".into(),
        exec.namespace.clone(),
        pod.into(),
    ]);
    if let Some(c) = &exec.container {
        args.extend(["-c".into(), c.clone()]);
    }
    args.extend(["--".into(), "sh".into(), "-c".into(), script.into()]);
    match run_with_timeout(duct::cmd("kubectl", args), timeout) {
        CommandFact::Ran { stdout, .. } if has_report(&stdout) => Ok(stdout),
        CommandFact::Ran { stderr, .. } => Err(ProbeError::KubectlFailed(stderr.trim().to_owned())),
        CommandFact::Failed(why) | CommandFact::Unavailable(why) => Err(ProbeError::Kubectl(why)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use kube::client::UpgradeConnectionError;
    use serde_json::json;

    fn exec() -> ProbeExec {
        ProbeExec {
            namespace: "default".into(),
            labels: "app=curl".into(),
            container: None,
        }
    }

    #[test]
    fn picks_a_running_matching_pod() {
        let pods = vec![
            json!({"metadata": {"name": "c-2", "labels": {"app": "curl"}}, "status": {"phase": "Running"}}),
            json!({"metadata": {"name": "c-1", "labels": {"app": "curl"}, "deletionTimestamp": "x"}, "status": {"phase": "Running"}}),
            json!({"metadata": {"name": "c-0", "labels": {"app": "curl"}}, "status": {"phase": "Pending"}}),
            json!({"metadata": {"name": "a-0", "labels": {"app": "other"}}, "status": {"phase": "Running"}}),
        ];
        assert_eq!(pick_pod(&exec(), &pods), Ok("c-2".into()));
        assert_eq!(
            pick_pod(&exec(), &pods[1..]),
            Err(ProbeError::NoPod {
                labels: "app=curl".into(),
                namespace: "default".into()
            })
        );
    }

    #[test]
    fn falls_back_to_kubectl_only_when_the_upgrade_fails() {
        let upgrade = |e| kube::Error::UpgradeConnection(e);
        assert!(needs_kubectl(&upgrade(
            UpgradeConnectionError::ProtocolSwitch(http::StatusCode::OK)
        )));
        assert!(needs_kubectl(&upgrade(
            UpgradeConnectionError::SecWebSocketProtocolMismatch
        )));
        let api = |code, msg: &str| {
            kube::Error::Api(
                kube::core::Status::failure(msg, "BadRequest")
                    .with_code(code)
                    .boxed(),
            )
        };
        assert!(needs_kubectl(&api(400, "Upgrade request required")));
        // Real answers: kubectl would get the same.
        assert!(!needs_kubectl(&api(
            400,
            "pod curl-0 does not have a host assigned"
        )));
        assert!(!needs_kubectl(&api(403, "pods \"curl-0\" is forbidden")));
        assert!(!needs_kubectl(&api(404, "pods \"curl-0\" not found")));
    }

    #[test]
    fn both_reports_count_as_printed() {
        assert!(has_report("noise\nlabctl-probe 1\nexit 0\n"));
        assert!(has_report("labctl-distribution 1\nsent 0\n"));
        assert!(!has_report("sh: curl: not found"));
    }

    #[test]
    fn kubectl_gets_the_same_kubeconfig_and_context() {
        let k = Kubectl {
            kubeconfig: Some("/home/l/.kube/config".into()),
            context: Some("aks-lab".into()),
        };
        assert_eq!(
            k.args(),
            [
                "--kubeconfig",
                "/home/l/.kube/config",
                "--context",
                "aks-lab"
            ]
        );
        assert!(Kubectl::default().args().is_empty());
    }
}
