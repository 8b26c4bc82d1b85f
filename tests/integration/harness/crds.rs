//! The Istio CRDs of `tests/crds/istio.yaml` (small structural CRDs written for these tests, see
//! the file's header) and waiting for CRDs to be usable.

use std::time::Duration;

use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::core::GroupVersionKind;
use kube::{Api, Client};

/// `tests/crds/istio.yaml`, compiled in.
pub const ISTIO_CRDS_YAML: &str = include_str!("../../crds/istio.yaml");

/// Every kind `tests/crds/istio.yaml` defines, as (group, storage version, kind).
pub const ISTIO_KINDS: &[(&str, &str, &str)] = &[
    ("security.istio.io", "v1", "PeerAuthentication"),
    ("security.istio.io", "v1", "AuthorizationPolicy"),
    ("networking.istio.io", "v1", "Gateway"),
    ("networking.istio.io", "v1", "VirtualService"),
    ("networking.istio.io", "v1", "DestinationRule"),
    ("networking.istio.io", "v1", "ServiceEntry"),
    ("networking.istio.io", "v1", "Sidecar"),
    ("telemetry.istio.io", "v1", "Telemetry"),
    ("install.istio.io", "v1alpha1", "IstioOperator"),
];

/// Creates (or replaces) the Istio CRDs, then waits until they are Established and served.
pub async fn install_crds(client: &Client) {
    super::apply_yaml(client, ISTIO_CRDS_YAML).await;
    for (group, version, kind) in ISTIO_KINDS {
        let gvk = GroupVersionKind::gvk(group, version, kind);
        super::wait_until(
            &format!("{kind}.{group}/{version} in discovery"),
            Duration::from_secs(30),
            || async {
                kube::discovery::pinned_kind(client, &gvk)
                    .await
                    .map(|_| ())
                    .map_err(|e| e.to_string())
            },
        )
        .await;
    }
}

/// Waits (30 s at most) until the CRD `name` has condition `Established=True`.
pub async fn wait_crd_established(client: &Client, name: &str) {
    let crds: Api<CustomResourceDefinition> = Api::all(client.clone());
    super::wait_until(
        &format!("CRD {name} Established"),
        Duration::from_secs(30),
        || async {
            let crd = crds.get(name).await.map_err(|e| e.to_string())?;
            let conditions = crd.status.and_then(|s| s.conditions).unwrap_or_default();
            if conditions
                .iter()
                .any(|c| c.type_ == "Established" && c.status == "True")
            {
                Ok(())
            } else {
                Err(format!("conditions: {conditions:?}"))
            }
        },
    )
    .await
}
