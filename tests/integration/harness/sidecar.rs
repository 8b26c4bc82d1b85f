//! What the simulated injector does to a pod: the JSONPatch istiod would return, trimmed to what
//! graders look at — an `istio-proxy` container (`proxy sidecar`, port 15090 `http-envoy-prom`),
//! an `istio-init` init container, their volumes, the `sidecar.istio.io/status` annotation, the
//! `prometheus.io/*` scrape annotations (metrics merging, Istio's default: port 15020) and the
//! `service.istio.io/canonical-*` / `security.istio.io/tlsMode` labels.

use kube::core::DynamicObject;
use serde_json::{Value, json};

/// The proxy image of a revision, AKS style: `asm-1-23` → `mcr.microsoft.com/oss/istio/proxyv2:1.23.0-distroless`.
pub fn proxy_image(rev: &str) -> String {
    let mut nums = rev.rsplit('-').take(2).collect::<Vec<_>>();
    nums.reverse();
    let version = match nums.as_slice() {
        [major, minor] if major.parse::<u32>().is_ok() && minor.parse::<u32>().is_ok() => {
            format!("{major}.{minor}.0")
        }
        _ => "1.23.0".to_string(),
    };
    format!("mcr.microsoft.com/oss/istio/proxyv2:{version}-distroless")
}

/// JSON pointer escaping of one path segment.
fn esc(key: &str) -> String {
    key.replace('~', "~0").replace('/', "~1")
}

/// The JSONPatch (as a JSON array) injecting revision `rev` into `pod`, or `None` when istiod
/// would leave the pod alone (already injected, opted out, host network).
pub fn injection_patch(pod: &DynamicObject, namespace: Option<&str>, rev: &str) -> Option<Value> {
    let annotations = pod.metadata.annotations.clone().unwrap_or_default();
    let labels = pod.metadata.labels.clone().unwrap_or_default();
    let spec = &pod.data["spec"];
    if annotations.contains_key("sidecar.istio.io/status")
        || annotations
            .get("sidecar.istio.io/inject")
            .is_some_and(|v| v == "false")
        || labels
            .get("sidecar.istio.io/inject")
            .is_some_and(|v| v == "false")
        || spec["hostNetwork"] == json!(true)
    {
        return None;
    }
    let image = proxy_image(rev);
    let ns = namespace
        .or(pod.metadata.namespace.as_deref())
        .unwrap_or("default");
    let proxy = json!({
        "name": "istio-proxy",
        "image": image,
        "args": ["proxy", "sidecar", "--domain", format!("{ns}.svc.cluster.local"),
                 "--proxyLogLevel=warning", "--log_output_level=default:info"],
        "ports": [{ "containerPort": 15090, "name": "http-envoy-prom", "protocol": "TCP" }],
        "env": [
            { "name": "POD_NAMESPACE", "valueFrom": { "fieldRef": { "fieldPath": "metadata.namespace" } } },
            { "name": "ISTIO_META_CLUSTER_ID", "value": "Kubernetes" },
            { "name": "PROXY_CONFIG", "value": format!("{{\"discoveryAddress\":\"istiod-{rev}.aks-istio-system.svc:15012\"}}") },
        ],
        "readinessProbe": { "httpGet": { "path": "/healthz/ready", "port": 15021 },
                            "periodSeconds": 15, "failureThreshold": 4 },
        "resources": { "requests": { "cpu": "100m", "memory": "128Mi" },
                       "limits": { "cpu": "2", "memory": "1Gi" } },
        "securityContext": { "runAsUser": 1337, "runAsGroup": 1337, "runAsNonRoot": true,
                             "readOnlyRootFilesystem": true, "allowPrivilegeEscalation": false,
                             "privileged": false, "capabilities": { "drop": ["ALL"] } },
        "volumeMounts": [{ "name": "istio-envoy", "mountPath": "/etc/istio/proxy" },
                         { "name": "istio-data", "mountPath": "/var/lib/istio/data" }],
    });
    let init = json!({
        "name": "istio-init",
        "image": image,
        "args": ["istio-iptables", "-p", "15001", "-z", "15006", "-u", "1337", "-m", "REDIRECT",
                 "-i", "*", "-x", "", "-b", "*", "-d", "15090,15021,15020"],
        "securityContext": { "runAsUser": 0, "runAsNonRoot": false, "allowPrivilegeEscalation": false,
                             "capabilities": { "add": ["NET_ADMIN", "NET_RAW"], "drop": ["ALL"] } },
    });
    let volumes = [
        json!({ "name": "istio-envoy", "emptyDir": { "medium": "Memory" } }),
        json!({ "name": "istio-data", "emptyDir": {} }),
    ];
    let status = json!({
        "initContainers": ["istio-init"], "containers": ["istio-proxy"],
        "volumes": ["istio-envoy", "istio-data"], "imagePullSecrets": null, "revision": rev,
    })
    .to_string();

    let mut ops = Vec::new();
    let mut append = |path: &str, exists: bool, item: Value| {
        if exists {
            ops.push(json!({ "op": "add", "path": format!("{path}/-"), "value": item }));
        } else {
            ops.push(json!({ "op": "add", "path": path, "value": [item] }));
        }
    };
    append(
        "/spec/initContainers",
        spec["initContainers"].is_array(),
        init,
    );
    append("/spec/containers", spec["containers"].is_array(), proxy);
    let mut have_volumes = spec["volumes"].is_array();
    for v in volumes {
        append("/spec/volumes", have_volumes, v);
        have_volumes = true;
    }

    let first_app = spec["containers"][0]["name"]
        .as_str()
        .unwrap_or("app")
        .to_string();
    // The injecting revision, as istiod's injection template records it next to "revision" in
    // sidecar.istio.io/status (an annotation since Istio 1.2x, a pod label before).
    let mut new_annotations = vec![
        ("sidecar.istio.io/status".to_string(), status),
        ("istio.io/rev".to_string(), rev.to_string()),
    ];
    if !annotations.contains_key("kubectl.kubernetes.io/default-container") {
        new_annotations.push(("kubectl.kubernetes.io/default-container".into(), first_app));
    }
    // Metrics merging (enablePrometheusMerge, on by default): the sidecar serves the app's and
    // its own metrics on 15020, and the injector points Prometheus there, unless the pod says
    // otherwise.
    for (k, v) in [
        ("prometheus.io/scrape", "true"),
        ("prometheus.io/port", "15020"),
        ("prometheus.io/path", "/stats/prometheus"),
    ] {
        if !annotations.contains_key(k) {
            new_annotations.push((k.into(), v.into()));
        }
    }
    let mut new_labels = vec![("security.istio.io/tlsMode".to_string(), "istio".to_string())];
    if !labels.contains_key("service.istio.io/canonical-name") {
        new_labels.push((
            "service.istio.io/canonical-name".into(),
            canonical_name(pod),
        ));
    }
    if !labels.contains_key("service.istio.io/canonical-revision") {
        let v = labels
            .get("app.kubernetes.io/version")
            .or(labels.get("version"));
        new_labels.push((
            "service.istio.io/canonical-revision".into(),
            v.cloned().unwrap_or("latest".into()),
        ));
    }
    for (field, present, entries) in [
        (
            "annotations",
            pod.metadata.annotations.is_some(),
            new_annotations,
        ),
        ("labels", pod.metadata.labels.is_some(), new_labels),
    ] {
        if present {
            for (k, v) in entries {
                ops.push(json!({ "op": "add", "path": format!("/metadata/{field}/{}", esc(&k)), "value": v }));
            }
        } else {
            let map: serde_json::Map<String, Value> =
                entries.into_iter().map(|(k, v)| (k, json!(v))).collect();
            ops.push(json!({ "op": "add", "path": format!("/metadata/{field}"), "value": map }));
        }
    }
    Some(Value::Array(ops))
}

/// istiod's canonical service name: the `app.kubernetes.io/name` or `app` label, else the workload
/// name (pod name, or `generateName` less the ReplicaSet hash).
fn canonical_name(pod: &DynamicObject) -> String {
    let labels = pod.metadata.labels.clone().unwrap_or_default();
    if let Some(v) = labels.get("app.kubernetes.io/name").or(labels.get("app")) {
        return v.clone();
    }
    if let Some(name) = pod.metadata.name.as_deref().filter(|n| !n.is_empty()) {
        return name.to_string();
    }
    let generated = pod
        .metadata
        .generate_name
        .as_deref()
        .unwrap_or("unknown")
        .trim_end_matches('-');
    let from_rs = pod
        .metadata
        .owner_references
        .iter()
        .flatten()
        .any(|o| o.kind == "ReplicaSet");
    match generated.rsplit_once('-') {
        Some((workload, _hash)) if from_rs => workload.to_string(),
        _ => generated.to_string(),
    }
}
