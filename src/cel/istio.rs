//! Istio semantics as CEL functions, written once so that labs do not re-derive them in long
//! expressions (and a resource check and its diagnosis cannot drift apart):
//! `hostMatches(object, fqdn)` — does an Istio config object's host name this service — and
//! `tlsModes(destinationRule)` — every `tls.mode` a DestinationRule sets, wherever it sets it.

use crate::cel::{field, list, path};
use kube::core::cel::cel::Value;
use std::sync::Arc;

/// The cluster's DNS suffix. AKS and kind both use the Kubernetes default.
const DOMAIN: &str = "cluster.local";

/// Whether `spec.host` (DestinationRule) or any of `spec.hosts` (VirtualService, ServiceEntry)
/// names the service `fqdn` (`store-front.pets.svc.cluster.local`), as Istio reads hosts: a
/// name without a dot is short for `<name>.<the object's namespace>.svc.cluster.local` (the
/// object's namespace, not the service's); `*` and `*.<suffix>` are wildcards; anything else
/// must be the full name.
pub fn host_matches(object: Value, fqdn: Arc<String>) -> bool {
    let namespace = match path(&object, &["metadata", "namespace"]) {
        Some(Value::String(ns)) => ns.to_string(),
        _ => String::new(),
    };
    let spec = field(&object, "spec");
    let single = spec.and_then(|s| field(s, "host")).into_iter();
    let many = list(spec.and_then(|s| field(s, "hosts"))).iter();
    single.chain(many).any(|h| match h {
        Value::String(h) => names(h, &namespace, &fqdn),
        _ => false,
    })
}

fn names(host: &str, namespace: &str, fqdn: &str) -> bool {
    if host == "*" {
        return true;
    }
    if let Some(suffix) = host.strip_prefix('*') {
        return fqdn.ends_with(suffix) && suffix.starts_with('.');
    }
    if host.contains('.') {
        return host == fqdn;
    }
    format!("{host}.{namespace}.svc.{DOMAIN}") == fqdn
}

/// Every `tls.mode` a DestinationRule sets: in `trafficPolicy`, its `portLevelSettings`, and
/// the same inside each subset. A mode set anywhere applies to some of the traffic.
pub fn tls_modes(object: Value) -> Arc<Vec<Value>> {
    let mut modes = Vec::new();
    let spec = field(&object, "spec");
    let subsets = list(spec.and_then(|s| field(s, "subsets")));
    let policies = spec
        .and_then(|s| field(s, "trafficPolicy"))
        .into_iter()
        .chain(subsets.iter().filter_map(|s| field(s, "trafficPolicy")));
    for policy in policies {
        let ports = list(field(policy, "portLevelSettings")).iter();
        for holder in std::iter::once(policy).chain(ports) {
            if let Some(mode @ Value::String(_)) = path(holder, &["tls", "mode"]) {
                modes.push(mode.clone());
            }
        }
    }
    Arc::new(modes)
}

#[cfg(test)]
mod tests {
    use crate::cel::compile;

    fn dr(text: &str) -> serde_json::Value {
        serde_saphyr::from_str(text).unwrap()
    }

    #[test]
    fn hosts_as_istio_reads_them() {
        let e = compile("hostMatches(object, 'store-front.pets.svc.cluster.local')").unwrap();
        let at = |ns: &str, host: &str| {
            e.eval_bool(&dr(&format!(
                "metadata: {{namespace: {ns}}}\nspec: {{host: '{host}'}}\n"
            )))
            .unwrap()
        };
        assert!(
            at("pets", "store-front"),
            "short name in the service's namespace"
        );
        assert!(
            !at("default", "store-front"),
            "short name: the DR's namespace counts"
        );
        assert!(at("default", "store-front.pets.svc.cluster.local"));
        assert!(
            !at("pets", "store-front.pets"),
            "partial names are not expanded"
        );
        assert!(at("aks-istio-system", "*"));
        assert!(at("aks-istio-system", "*.local"));
        assert!(at("default", "*.pets.svc.cluster.local"));
        assert!(!at("default", "*.shop.svc.cluster.local"));
        assert!(!at("pets", "order-service"));
        let hosts = dr("metadata: {namespace: pets}\nspec: {hosts: [example.com, store-front]}\n");
        assert_eq!(
            e.eval_bool(&hosts),
            Ok(true),
            "VirtualService/ServiceEntry hosts"
        );
        assert_eq!(e.eval_bool(&dr("metadata: {namespace: pets}\n")), Ok(false));
    }

    #[test]
    fn tls_modes_wherever_they_are_set() {
        let all = dr(r#"
spec:
  host: store-front
  trafficPolicy:
    tls: {mode: ISTIO_MUTUAL}
    portLevelSettings:
    - port: {number: 80}
      tls: {mode: DISABLE}
    - port: {number: 81}
  subsets:
  - name: v1
    trafficPolicy:
      tls: {mode: SIMPLE}
      portLevelSettings:
      - port: {number: 82}
        tls: {mode: MUTUAL}
  - name: v2
"#);
        let modes = compile("tlsModes(object).join(',')").unwrap();
        assert_eq!(
            modes.eval_string(&all).unwrap(),
            "ISTIO_MUTUAL,DISABLE,SIMPLE,MUTUAL"
        );
        let none = compile("size(tlsModes(object)) == 0").unwrap();
        assert_eq!(none.eval_bool(&dr("spec: {host: x}\n")), Ok(true));
        assert_eq!(none.eval_bool(&all), Ok(false));
        let off = compile("tlsModes(object).exists(m, m != 'ISTIO_MUTUAL')").unwrap();
        assert_eq!(off.eval_bool(&all), Ok(true));
    }
}
