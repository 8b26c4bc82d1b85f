//! [`ControlPlane`]: etcd + kube-apiserver (+ kube-controller-manager) on free loopback ports, in a
//! scratch directory of their own, ready when `start` returns.
//!
//! Layout of the scratch directory (`target/tmp/labctl-kube/<pid>-<n>/`, kept with
//! `LABCTL_KEEP_CLUSTER=1`): `etcd.log`, `kube-apiserver.log`, `kube-controller-manager.log`,
//! `audit.log`, `kubeconfig-<user>.yaml`, `tokens.csv`, `pki/`, `etcd-data/`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::AtomicUsize;

use super::audit::AuditLog;
use super::bins::KubeBins;
use super::process::Processes;
use super::start::start_once;

/// What to start.
#[derive(Clone, Debug)]
pub struct ControlPlaneOptions {
    /// Run kube-controller-manager (`--controllers=*,-serviceaccount-token`): Deployments become
    /// ReplicaSets become Pods, namespaces get their `default` ServiceAccount.
    pub controller_manager: bool,
    /// Install the Istio CRDs of `tests/crds/istio.yaml` (and wait until Established).
    pub istio_crds: bool,
}

impl Default for ControlPlaneOptions {
    fn default() -> Self {
        ControlPlaneOptions {
            controller_manager: true,
            istio_crds: false,
        }
    }
}

/// A running control plane. Dropping it kills its processes (and deletes its directory unless
/// `LABCTL_KEEP_CLUSTER=1`).
pub struct ControlPlane {
    pub(super) server: String,
    pub(super) ca_pem: String,
    pub(super) tokens: BTreeMap<String, String>,
    pub(super) dir: PathBuf,
    pub(super) audit: AuditLog,
    pub(super) next_learner: AtomicUsize,
    pub(super) procs: Mutex<Processes>,
}

impl ControlPlane {
    /// Starts a private control plane (retrying with new ports if one was taken meanwhile).
    pub async fn start(opts: ControlPlaneOptions) -> ControlPlane {
        let bins = KubeBins::locate();
        let mut last = String::new();
        for _attempt in 0..3 {
            match start_once(&bins, &opts).await {
                Ok(cp) => return cp,
                Err((retry, msg)) if retry => last = msg,
                Err((_, msg)) => panic!("control plane failed to start: {msg}"),
            }
        }
        panic!("control plane failed to start three times (ports taken?); last error: {last}")
    }

    /// `https://127.0.0.1:<port>`
    pub fn server_url(&self) -> &str {
        &self.server
    }

    /// PEM of the CA that signed the API server's serving certificate.
    pub fn ca_pem(&self) -> &str {
        &self.ca_pem
    }

    /// The scratch directory (logs, kubeconfigs, audit log).
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The audit log of this API server.
    pub fn audit_log(&self) -> &AuditLog {
        &self.audit
    }

    /// Path of a component's log: `"kube-apiserver"`, `"etcd"`, `"kube-controller-manager"`.
    pub fn log_path(&self, component: &str) -> PathBuf {
        self.dir.join(format!("{component}.log"))
    }

    /// Panics (with the log tail) if a component has exited; call it when a test sees oddities.
    pub fn assert_alive(&self) {
        if let Some(msg) = self.procs.lock().expect("processes lock").exited() {
            panic!("control plane at {} is down: {msg}", self.dir.display());
        }
    }
}
