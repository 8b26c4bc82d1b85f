//! Test control-plane harness: a real kube-apiserver + etcd (+ kube-controller-manager), built from
//! Debian's `kubernetes` 1.20 sources by `scripts/kube-bin.sh`, plus what a real AKS cluster with
//! the Istio add-on would add (Istio CRDs, a sidecar-injector webhook, a pod-status "kubelet").
//! See `docs/testing.md` for how it is built, cached, started and debugged.
#![allow(dead_code, unused_imports)]

mod apply;
mod audit;
mod bins;
mod control_plane;
mod crds;
mod delay_proxy;
mod fixtures;
mod injector;
mod kubectl;
mod pki;
mod pod_driver;
mod process;
mod runtime;
mod shared;
mod sidecar;
mod start;
mod users;

pub use apply::{apply_yaml, ensure_namespaces, is_delete, parse_documents, try_apply_yaml};
pub use audit::{
    AUDIT_POLICY, AuditEvent, AuditLog, assert_reads_listing_once, by_user, is_mutating,
    parse_audit_log,
};
pub use bins::{KUBE_VERSION, KubeBins, default_cache_dir};
pub use control_plane::{ControlPlane, ControlPlaneOptions};
pub use crds::{ISTIO_CRDS_YAML, ISTIO_KINDS, install_crds, wait_crd_established};
pub use delay_proxy::DelayProxy;
pub use fixtures::{
    BrokenFixture, ExpectedState, FixtureIndex, FixtureLab, FixtureRequires, IndexVariables,
    NAMESPACE_VARIABLES, ObjectKey, Profile, State, StepFixture, Vars, all_step_states,
    apply_finished_state, apply_state, broken_states, expected_state, fixture_control_plane,
    fixture_dir, literal_namespace_lock, literal_namespaces, object_key,
    remove_literal_namespace_objects, render, render_file, state_files, state_paths,
    try_apply_lab_state, try_apply_state, try_render,
};
pub use injector::SidecarInjector;
pub use kubectl::{Kubectl, KubectlOutput};
pub use pki::Ca;
pub use pod_driver::{PodStatusDriver, mark_workload_ready, ready_status};
pub use process::{free_port, keep_cluster, scratch_root};
pub use runtime::{harness_runtime, on_harness, unique_name, wait_until};
pub use sidecar::{injection_patch, proxy_image};
pub use users::{ADMIN, CONTEXT, LEARNER, LEARNER_POOL, NOBODY, client_from_kubeconfig};
