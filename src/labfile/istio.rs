//! Strict shapes of the Istio kinds labs use, for manifest validation only. They cover the
//! fields the labs write and reject anything else, so `mtsl:` or `gateway:` (for `gateways:`)
//! is an authoring error instead of an object the add-on silently ignores. Free-form corners of
//! the Istio API that labs do not use are kept as `Value`.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use serde::Deserialize;
use serde_json::Value;
use std::collections::BTreeMap;

type Labels = BTreeMap<String, String>;

macro_rules! istio_kind {
    ($name:ident, $spec:ty) => {
        #[derive(Debug, Deserialize)]
        #[serde(deny_unknown_fields, rename_all = "camelCase")]
        #[allow(dead_code)]
        pub struct $name {
            pub api_version: String,
            pub kind: String,
            pub metadata: ObjectMeta,
            pub spec: $spec,
        }
    };
}

istio_kind!(PeerAuthentication, PeerAuthenticationSpec);
istio_kind!(AuthorizationPolicy, AuthorizationPolicySpec);
istio_kind!(Gateway, GatewaySpec);
istio_kind!(VirtualService, VirtualServiceSpec);
istio_kind!(DestinationRule, DestinationRuleSpec);
istio_kind!(ServiceEntry, ServiceEntrySpec);
istio_kind!(IstioOperator, IstioOperatorSpec);
istio_kind!(Sidecar, SidecarSpec);
istio_kind!(Telemetry, TelemetrySpec);

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
#[allow(dead_code)]
pub struct WorkloadSelector {
    pub match_labels: Labels,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
#[allow(dead_code)]
pub struct PeerAuthenticationSpec {
    #[serde(default)]
    pub selector: Option<WorkloadSelector>,
    #[serde(default)]
    pub mtls: Option<Mtls>,
    #[serde(default)]
    pub port_level_mtls: Option<BTreeMap<String, Mtls>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
pub struct Mtls {
    pub mode: MtlsMode,
}

#[derive(Debug, Deserialize)]
#[allow(clippy::upper_case_acronyms)]
pub enum MtlsMode {
    UNSET,
    DISABLE,
    PERMISSIVE,
    STRICT,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
#[allow(dead_code)]
pub struct AuthorizationPolicySpec {
    #[serde(default)]
    pub selector: Option<WorkloadSelector>,
    #[serde(default)]
    pub action: Option<String>,
    #[serde(default)]
    pub rules: Option<Vec<Value>>,
    #[serde(default)]
    pub provider: Option<Value>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
#[allow(dead_code)]
pub struct GatewaySpec {
    pub selector: Labels,
    pub servers: Vec<Server>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
#[allow(dead_code)]
pub struct Server {
    pub port: Port,
    pub hosts: Vec<String>,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub tls: Option<Value>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
#[allow(dead_code)]
pub struct Port {
    pub number: u32,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub protocol: Option<String>,
    #[serde(default)]
    pub target_port: Option<u32>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
#[allow(dead_code)]
pub struct VirtualServiceSpec {
    #[serde(default)]
    pub hosts: Vec<String>,
    #[serde(default)]
    pub gateways: Vec<String>,
    #[serde(default)]
    pub http: Vec<HttpRoute>,
    #[serde(default)]
    pub tcp: Option<Vec<Value>>,
    #[serde(default)]
    pub tls: Option<Vec<Value>>,
    #[serde(default)]
    pub export_to: Option<Vec<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
#[allow(dead_code)]
pub struct HttpRoute {
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default, rename = "match")]
    pub match_: Vec<HttpMatch>,
    #[serde(default)]
    pub route: Vec<RouteDestination>,
    #[serde(default)]
    pub timeout: Option<String>,
    #[serde(default)]
    pub retries: Option<Value>,
    #[serde(default)]
    pub fault: Option<Value>,
    #[serde(default)]
    pub rewrite: Option<Value>,
    #[serde(default)]
    pub redirect: Option<Value>,
    #[serde(default)]
    pub headers: Option<Value>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
#[allow(dead_code)]
pub struct HttpMatch {
    #[serde(default)]
    pub uri: Option<StringMatch>,
    #[serde(default)]
    pub headers: Option<BTreeMap<String, StringMatch>>,
    #[serde(default)]
    pub method: Option<StringMatch>,
    #[serde(default)]
    pub port: Option<u32>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
pub struct StringMatch {
    #[serde(default)]
    pub exact: Option<String>,
    #[serde(default)]
    pub prefix: Option<String>,
    #[serde(default)]
    pub regex: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
#[allow(dead_code)]
pub struct RouteDestination {
    pub destination: Destination,
    #[serde(default)]
    pub weight: Option<u32>,
    /// Header manipulation for this destination only (e.g. a response header naming the subset).
    #[serde(default)]
    pub headers: Option<Value>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
pub struct Destination {
    pub host: String,
    #[serde(default)]
    pub subset: Option<String>,
    #[serde(default)]
    pub port: Option<PortSelector>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
pub struct PortSelector {
    pub number: u32,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
#[allow(dead_code)]
pub struct DestinationRuleSpec {
    pub host: String,
    #[serde(default)]
    pub traffic_policy: Option<Value>,
    #[serde(default)]
    pub subsets: Option<Vec<Value>>,
    #[serde(default)]
    pub export_to: Option<Vec<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
#[allow(dead_code)]
pub struct ServiceEntrySpec {
    pub hosts: Vec<String>,
    #[serde(default)]
    pub addresses: Option<Vec<String>>,
    #[serde(default)]
    pub ports: Vec<Port>,
    #[serde(default)]
    pub location: Option<ServiceEntryLocation>,
    #[serde(default)]
    pub resolution: Option<Resolution>,
    #[serde(default)]
    pub endpoints: Option<Vec<Value>>,
    #[serde(default)]
    pub export_to: Option<Vec<String>>,
}

#[derive(Debug, Deserialize)]
#[allow(clippy::upper_case_acronyms, non_camel_case_types)]
pub enum ServiceEntryLocation {
    MESH_EXTERNAL,
    MESH_INTERNAL,
}

#[derive(Debug, Deserialize)]
#[allow(clippy::upper_case_acronyms, non_camel_case_types)]
pub enum Resolution {
    NONE,
    STATIC,
    DNS,
    DNS_ROUND_ROBIN,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
#[allow(dead_code)]
pub struct IstioOperatorSpec {
    #[serde(default)]
    pub profile: Option<String>,
    #[serde(default)]
    pub revision: Option<String>,
    #[serde(default)]
    pub hub: Option<String>,
    #[serde(default)]
    pub tag: Option<Value>,
    #[serde(default)]
    pub namespace: Option<String>,
    #[serde(default)]
    pub mesh_config: Option<Value>,
    #[serde(default)]
    pub components: Option<Value>,
    #[serde(default)]
    pub values: Option<Value>,
}

/// `networking.istio.io` Sidecar: which hosts the proxies of its namespace (or `workloadSelector`)
/// are told about.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
#[allow(dead_code)]
pub struct SidecarSpec {
    #[serde(default)]
    pub workload_selector: Option<SidecarWorkloadSelector>,
    #[serde(default)]
    pub egress: Option<Vec<SidecarEgress>>,
    #[serde(default)]
    pub ingress: Option<Vec<Value>>,
    #[serde(default)]
    pub outbound_traffic_policy: Option<Value>,
}

/// A Sidecar selects by `labels` (not `matchLabels`, unlike the security kinds).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
pub struct SidecarWorkloadSelector {
    pub labels: Labels,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
#[allow(dead_code)]
pub struct SidecarEgress {
    pub hosts: Vec<String>,
    #[serde(default)]
    pub port: Option<Value>,
    #[serde(default)]
    pub bind: Option<String>,
    #[serde(default)]
    pub capture_mode: Option<String>,
}

/// `telemetry.istio.io` Telemetry: access logging, metrics and tracing for the workloads of its
/// namespace (or `selector`).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
#[allow(dead_code)]
pub struct TelemetrySpec {
    #[serde(default)]
    pub selector: Option<WorkloadSelector>,
    #[serde(default)]
    pub target_refs: Option<Vec<Value>>,
    #[serde(default)]
    pub access_logging: Option<Vec<AccessLogging>>,
    #[serde(default)]
    pub metrics: Option<Vec<Value>>,
    #[serde(default)]
    pub tracing: Option<Vec<Value>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
#[allow(dead_code)]
pub struct AccessLogging {
    #[serde(default)]
    pub providers: Option<Vec<ProviderRef>>,
    #[serde(default)]
    pub disabled: Option<bool>,
    #[serde(default)]
    pub filter: Option<Value>,
    #[serde(default, rename = "match")]
    pub match_: Option<Value>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
pub struct ProviderRef {
    pub name: String,
}
