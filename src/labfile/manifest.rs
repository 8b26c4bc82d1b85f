//! Validates Kubernetes manifests found in a lab (heredocs in solve blocks, ` ```yaml ` blocks,
//! local stand-ins of remote manifests): each document must parse as the kind it claims.
//! Core kinds go through k8s-openapi's types; because those ignore unknown fields, the document
//! is round-tripped and any field that did not survive is reported as unknown. Istio kinds use
//! the strict shapes in `istio.rs`.

use crate::labfile::diag::{Diagnostic, did_you_mean};
use crate::labfile::istio;
use crate::labfile::yaml::{self, Located, Seg, path_string};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;
use std::path::Path;

/// Where a manifest text sits inside a lab file, so positions can be reported in that file.
pub struct Origin<'a> {
    pub file: &'a Path,
    /// The whole file, for quoting the offending line.
    pub file_text: &'a str,
    /// 1-based line of the file on which the manifest text starts.
    pub first_line: u32,
}

/// A problem inside one document: where (a path into it) and what.
struct Problem {
    path: Vec<Seg>,
    message: String,
    label: Option<String>,
}

/// Validate every document of `text` (placeholders already substituted). `require_typed`
/// rejects kinds labctl has no type for; YAML blocks that are not manifests are skipped by the
/// caller before this is called.
pub fn validate(text: &str, origin: &Origin, diags: &mut Vec<Diagnostic>) {
    let docs = match yaml::parse_documents(text) {
        Ok(docs) => docs,
        Err(e) => {
            let (line, col) = e
                .location()
                .map(|l| (l.line() as u32, l.column() as u32))
                .unwrap_or((1, 1));
            diags.push(at(
                origin,
                line,
                col,
                format!(
                    "manifest is not valid YAML: {}",
                    strip_location(&e.without_snippet().to_string())
                ),
            ));
            return;
        }
    };
    for doc in &docs {
        validate_document(doc, origin, diags);
    }
}

/// Whether a text looks like Kubernetes manifests at all (some document has apiVersion and kind).
pub fn looks_like_manifest(text: &str) -> bool {
    yaml::parse_documents(text).is_ok_and(|docs| {
        docs.iter().any(|d| {
            d.get(&[Seg::Key("apiVersion".into())]).is_some()
                && d.get(&[Seg::Key("kind".into())]).is_some()
        })
    })
}

fn validate_document(doc: &Located, origin: &Origin, diags: &mut Vec<Diagnostic>) {
    let json = doc.to_json();
    let api_version = json.get("apiVersion").and_then(Value::as_str);
    let kind = json.get("kind").and_then(Value::as_str);
    let (Some(api_version), Some(kind)) = (api_version, kind) else {
        diags.push(at(
            origin,
            doc.line,
            doc.col,
            "manifest document has no `apiVersion` and `kind`",
        ));
        return;
    };
    let result = match (api_version, kind) {
        ("v1", "Namespace") => core::<k8s_openapi::api::core::v1::Namespace>(&json),
        ("v1", "ConfigMap") => core::<k8s_openapi::api::core::v1::ConfigMap>(&json),
        ("v1", "Service") => core::<k8s_openapi::api::core::v1::Service>(&json),
        ("v1", "Pod") => core::<k8s_openapi::api::core::v1::Pod>(&json),
        ("v1", "ServiceAccount") => core::<k8s_openapi::api::core::v1::ServiceAccount>(&json),
        ("apps/v1", "Deployment") => core::<k8s_openapi::api::apps::v1::Deployment>(&json),
        ("apps/v1", "StatefulSet") => core::<k8s_openapi::api::apps::v1::StatefulSet>(&json),
        ("apps/v1", "DaemonSet") => core::<k8s_openapi::api::apps::v1::DaemonSet>(&json),
        ("batch/v1", "Job") => core::<k8s_openapi::api::batch::v1::Job>(&json),
        ("security.istio.io/v1" | "security.istio.io/v1beta1", "PeerAuthentication") => {
            strict::<istio::PeerAuthentication>(&json)
        }
        ("security.istio.io/v1" | "security.istio.io/v1beta1", "AuthorizationPolicy") => {
            strict::<istio::AuthorizationPolicy>(&json)
        }
        (NETWORKING_V1 | NETWORKING_V1BETA1 | NETWORKING_V1ALPHA3, "Gateway") => {
            strict::<istio::Gateway>(&json)
        }
        (NETWORKING_V1 | NETWORKING_V1BETA1 | NETWORKING_V1ALPHA3, "VirtualService") => {
            strict::<istio::VirtualService>(&json)
        }
        (NETWORKING_V1 | NETWORKING_V1BETA1 | NETWORKING_V1ALPHA3, "DestinationRule") => {
            strict::<istio::DestinationRule>(&json)
        }
        (NETWORKING_V1 | NETWORKING_V1BETA1 | NETWORKING_V1ALPHA3, "ServiceEntry") => {
            strict::<istio::ServiceEntry>(&json)
        }
        (NETWORKING_V1 | NETWORKING_V1BETA1 | NETWORKING_V1ALPHA3, "Sidecar") => {
            strict::<istio::Sidecar>(&json)
        }
        ("telemetry.istio.io/v1" | "telemetry.istio.io/v1alpha1", "Telemetry") => {
            strict::<istio::Telemetry>(&json)
        }
        ("install.istio.io/v1alpha1", "IstioOperator") => strict::<istio::IstioOperator>(&json),
        _ => {
            let known: Vec<&str> = KNOWN.iter().map(|(_, k)| *k).collect();
            let kind_node = doc.get(&[Seg::Key("kind".into())]);
            let (line, col) = kind_node
                .map(|n| (n.line, n.col))
                .unwrap_or((doc.line, doc.col));
            let mut d = at(
                origin,
                line,
                col,
                format!("labctl cannot validate `{kind}` in `{api_version}`"),
            );
            d = d.underline_token();
            if let Some(s) = did_you_mean(kind, known.iter().copied()) {
                d = d.label(format!("did you mean `{s}`?"));
            } else if let Some((gv, _)) = KNOWN.iter().find(|(_, k)| *k == kind) {
                d = d.label(format!("`{kind}` is served as `{gv}`"));
            }
            diags.push(d.help(format!("known kinds: {}", known.join(", "))));
            return;
        }
    };
    if let Err(problem) = result {
        let (line, col) = doc.key_position(&problem.path);
        let where_ = if problem.path.is_empty() {
            String::new()
        } else {
            format!(" at `{}`", path_string(&problem.path))
        };
        let mut d = at(
            origin,
            line,
            col,
            format!("invalid {kind}{where_}: {}", problem.message),
        )
        .underline_token();
        if let Some(label) = problem.label {
            d = d.label(label);
        }
        diags.push(d);
    }
}

const NETWORKING_V1: &str = "networking.istio.io/v1";
const NETWORKING_V1BETA1: &str = "networking.istio.io/v1beta1";
const NETWORKING_V1ALPHA3: &str = "networking.istio.io/v1alpha3";

const KNOWN: &[(&str, &str)] = &[
    ("v1", "Namespace"),
    ("v1", "ConfigMap"),
    ("v1", "Service"),
    ("v1", "Pod"),
    ("v1", "ServiceAccount"),
    ("apps/v1", "Deployment"),
    ("apps/v1", "StatefulSet"),
    ("apps/v1", "DaemonSet"),
    ("batch/v1", "Job"),
    ("security.istio.io/v1", "PeerAuthentication"),
    ("security.istio.io/v1", "AuthorizationPolicy"),
    (NETWORKING_V1, "Gateway"),
    (NETWORKING_V1, "VirtualService"),
    (NETWORKING_V1, "DestinationRule"),
    (NETWORKING_V1, "ServiceEntry"),
    (NETWORKING_V1, "Sidecar"),
    ("telemetry.istio.io/v1", "Telemetry"),
    ("install.istio.io/v1alpha1", "IstioOperator"),
];

/// Deserialize into a k8s-openapi type, then report the first field that the type dropped.
fn core<T: DeserializeOwned + Serialize>(json: &Value) -> Result<(), Problem> {
    let typed: T = deserialize(json)?;
    let back = serde_json::to_value(&typed).map_err(|e| Problem {
        path: vec![],
        message: e.to_string(),
        label: None,
    })?;
    match first_dropped(json, &back, &mut Vec::new()) {
        Some(path) => {
            let field = match path.last() {
                Some(Seg::Key(k)) => k.clone(),
                _ => String::new(),
            };
            Err(Problem {
                path,
                message: format!("unknown field `{field}`"),
                label: Some("not a field of this kind".into()),
            })
        }
        None => Ok(()),
    }
}

/// Deserialize into one of labctl's strict Istio shapes.
fn strict<T: DeserializeOwned>(json: &Value) -> Result<(), Problem> {
    deserialize::<T>(json).map(|_| ())
}

fn deserialize<T: DeserializeOwned>(json: &Value) -> Result<T, Problem> {
    serde_path_to_error::deserialize::<_, T>(json.clone()).map_err(|err| {
        let mut path: Vec<Seg> = err
            .path()
            .iter()
            .filter_map(|seg| match seg {
                serde_path_to_error::Segment::Seq { index } => Some(Seg::Index(*index)),
                serde_path_to_error::Segment::Map { key } => Some(Seg::Key(key.clone())),
                _ => None,
            })
            .collect();
        let message = err.inner().to_string();
        let mut label = None;
        // serde reports an unknown field at its parent's path; point at the field itself.
        if let Some(field) = message
            .strip_prefix("unknown field `")
            .and_then(|r| r.split('`').next())
        {
            if path.last() != Some(&Seg::Key(field.to_owned())) {
                path.push(Seg::Key(field.to_owned()));
            }
            let expected: Vec<&str> = message.split('`').skip(3).step_by(2).collect();
            label = did_you_mean(field, expected.iter().copied())
                .map(|s| format!("did you mean `{s}`?"));
        }
        Problem {
            path,
            message,
            label,
        }
    })
}

/// The path of the first non-null value in `original` that is missing from `roundtrip`.
fn first_dropped(original: &Value, roundtrip: &Value, path: &mut Vec<Seg>) -> Option<Vec<Seg>> {
    match (original, roundtrip) {
        (Value::Object(a), Value::Object(b)) => {
            for (k, v) in a {
                path.push(Seg::Key(k.clone()));
                let found = match b.get(k) {
                    None if !v.is_null() && !is_empty(v) => Some(path.clone()),
                    None => None,
                    Some(bv) => first_dropped(v, bv, path),
                };
                path.pop();
                if found.is_some() {
                    return found;
                }
            }
            None
        }
        (Value::Array(a), Value::Array(b)) => {
            a.iter().zip(b).enumerate().find_map(|(i, (av, bv))| {
                path.push(Seg::Index(i));
                let found = first_dropped(av, bv, path);
                path.pop();
                found
            })
        }
        _ => None,
    }
}

fn is_empty(v: &Value) -> bool {
    matches!(v, Value::Object(m) if m.is_empty()) || matches!(v, Value::Array(a) if a.is_empty())
}

fn at(origin: &Origin, line: u32, col: u32, message: impl Into<String>) -> Diagnostic {
    Diagnostic::at(
        origin.file,
        origin.file_text,
        origin.first_line + line.max(1) - 1,
        col,
        message,
    )
}

/// serde-saphyr appends " at line N, column M" to messages; the diagnostic already says where.
pub fn strip_location(message: &str) -> String {
    // The first: a message may name more places ("… at line 3 (defined at line 1) (used at
    // line 9)"), all of them locations.
    match message.find(" at line ") {
        Some(i) => message[..i].to_owned(),
        None => message.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(text: &str) -> Vec<String> {
        let origin = Origin {
            file: Path::new("step.md"),
            file_text: text,
            first_line: 1,
        };
        let mut diags = Vec::new();
        validate(text, &origin, &mut diags);
        diags
            .iter()
            .map(|d| {
                format!(
                    "{}:{} {} {}",
                    d.line,
                    d.col,
                    d.message,
                    d.label.clone().unwrap_or_default()
                )
            })
            .collect()
    }

    #[test]
    fn accepts_the_seed_objects() {
        let text = "apiVersion: security.istio.io/v1\nkind: PeerAuthentication\nmetadata:\n  name: pets-mtls\n  namespace: pets\nspec:\n  mtls:\n    mode: STRICT\n---\napiVersion: apps/v1\nkind: Deployment\nmetadata: {name: curl}\nspec:\n  selector: {matchLabels: {app: curl}}\n  template:\n    metadata: {labels: {app: curl}}\n    spec:\n      containers:\n      - name: curl\n        image: curlimages/curl\n        command: [sleep, '3600']\n";
        assert_eq!(check(text), Vec::<String>::new());
    }

    #[test]
    fn finds_unknown_core_fields_by_round_trip() {
        let text = "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: curl}\nspec:\n  selector: {matchLabels: {app: curl}}\n  template:\n    spec:\n      contaienrs: []\n      containers:\n      - name: curl\n        imagee: x\n";
        let out = check(text);
        assert_eq!(out.len(), 1, "{out:?}");
        assert!(out[0].starts_with("11:9 invalid Deployment at `spec.template.spec.containers[0].imagee`: unknown field `imagee`"), "{out:?}");
    }

    #[test]
    fn strict_istio_shapes_suggest_the_right_field() {
        let text = "apiVersion: security.istio.io/v1\nkind: PeerAuthentication\nmetadata: {name: x}\nspec:\n  mtsl:\n    mode: STRICT\n";
        let out = check(text);
        assert_eq!(out, vec!["5:3 invalid PeerAuthentication at `spec.mtsl`: unknown field `mtsl`, expected one of `selector`, `mtls`, `portLevelMtls` did you mean `mtls`?".to_string()]);
        let bad_mode = "apiVersion: security.istio.io/v1\nkind: PeerAuthentication\nmetadata: {name: x}\nspec:\n  mtls:\n    mode: STRICTT\n";
        assert!(check(bad_mode)[0].contains("unknown variant `STRICTT`"));
    }

    #[test]
    fn unknown_kinds_are_named() {
        let out = check("apiVersion: apps/v1\nkind: Deplyment\nmetadata: {name: x}\n");
        assert_eq!(
            out,
            vec![
                "2:7 labctl cannot validate `Deplyment` in `apps/v1` did you mean `Deployment`?"
                    .to_string()
            ]
        );
    }
}
