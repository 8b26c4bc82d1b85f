//! CEL for checks and discovered variables: kube's CEL support (the Kubernetes CEL libraries on
//! the `cel` crate) plus labctl functions that encode Kubernetes semantics once, so labs do not
//! each re-derive them: `hasSidecar(pod)` and `isReady(obj)`, and Istio's in [`istio`]
//! (`hostMatches`, `tlsModes`). Neutral: `labfile` compiles expressions to lint a lab, `eval`
//! evaluates them.

pub mod error;
pub mod istio;

pub use error::CelError;

use kube::core::cel::KubeCelExt;
use kube::core::cel::cel::objects::{Key, Map};
use kube::core::cel::cel::{Context, Program, Value};
use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

/// A compiled expression; compile once per check, evaluate per object.
pub struct Expr {
    program: Arc<Program>,
    source: String,
}

/// Compile an expression, or say why it does not compile. Compiled programs are kept for the
/// process: a class report evaluates the same expressions for every learner.
pub fn compile(source: &str) -> Result<Expr, CelError> {
    static CACHE: OnceLock<Mutex<HashMap<String, Arc<Program>>>> = OnceLock::new();
    let cache = CACHE.get_or_init(Default::default);
    if let Some(program) = cache.lock().ok().and_then(|c| c.get(source).cloned()) {
        return Ok(Expr {
            program,
            source: source.to_owned(),
        });
    }
    let expr = compile_uncached(source)?;
    if let Ok(mut c) = cache.lock() {
        c.insert(source.to_owned(), expr.program.clone());
    }
    Ok(expr)
}

fn compile_uncached(source: &str) -> Result<Expr, CelError> {
    // The `cel` parser panics on some malformed inputs in older releases; never let a lab
    // file crash labctl.
    let compiled =
        std::panic::catch_unwind(|| Program::compile(source)).map_err(|_| CelError::Unreadable)?;
    compiled
        .map(|program| Expr {
            program: Arc::new(program),
            source: source.to_owned(),
        })
        .map_err(|e| CelError::Compile(e.to_string()))
}

impl Expr {
    pub fn source(&self) -> &str {
        &self.source
    }

    /// Evaluate with `object` bound to `object`.
    pub fn eval(&self, object: &serde_json::Value) -> Result<Value, CelError> {
        thread_local! {
            // The functions, registered once per thread; each evaluation binds `object` in a
            // scope of its own.
            static ROOT: Context<'static> = {
                let mut ctx = Context::default().with_all();
                ctx.add_function("hasSidecar", has_sidecar);
                ctx.add_function("isReady", is_ready);
                ctx.add_function("hostMatches", istio::host_matches);
                ctx.add_function("tlsModes", istio::tls_modes);
                ctx
            };
        }
        ROOT.with(|root| {
            let mut ctx = root.new_inner_scope();
            ctx.add_variable_from_value("object", to_cel(object));
            self.program.execute(&ctx).map_err(CelError::from)
        })
    }

    /// Evaluate a condition; anything but a boolean is an error of the lab, not a failure.
    pub fn eval_bool(&self, object: &serde_json::Value) -> Result<bool, CelError> {
        match self.eval(object)? {
            Value::Bool(b) => Ok(b),
            other => Err(CelError::WrongType {
                expr: self.source.clone(),
                got: type_name(&other),
                wanted: "true/false",
            }),
        }
    }

    /// Evaluate an `actual:` expression into the text shown to the learner.
    pub fn eval_string(&self, object: &serde_json::Value) -> Result<String, CelError> {
        match self.eval(object)? {
            Value::String(s) => Ok(s.to_string()),
            Value::Int(i) => Ok(i.to_string()),
            Value::UInt(i) => Ok(i.to_string()),
            Value::Bool(b) => Ok(b.to_string()),
            other => Err(CelError::WrongType {
                expr: self.source.clone(),
                got: type_name(&other),
                wanted: "a string",
            }),
        }
    }
}

/// JSON to CEL. Integers become CEL `int` (not `uint`, which the serde bridge would pick), so
/// that `object.spec.replicas == 2` compares as authors expect.
pub fn to_cel(v: &serde_json::Value) -> Value {
    match v {
        serde_json::Value::Null => Value::Null,
        serde_json::Value::Bool(b) => Value::Bool(*b),
        serde_json::Value::Number(n) => match (n.as_i64(), n.as_u64()) {
            (Some(i), _) => Value::Int(i),
            (None, Some(u)) => Value::UInt(u),
            _ => Value::Float(n.as_f64().unwrap_or(f64::NAN)),
        },
        serde_json::Value::String(s) => Value::String(Arc::new(s.clone())),
        serde_json::Value::Array(items) => {
            Value::List(Arc::new(items.iter().map(to_cel).collect()))
        }
        serde_json::Value::Object(m) => Value::Map(Map {
            map: Arc::new(
                m.iter()
                    .map(|(k, v)| (Key::String(Arc::new(k.clone())), to_cel(v)))
                    .collect(),
            ),
        }),
    }
}

fn type_name(v: &Value) -> &'static str {
    match v {
        Value::List(_) => "a list",
        Value::Map(_) => "a map",
        Value::Null => "null",
        Value::String(_) => "a string",
        Value::Bool(_) => "a bool",
        Value::Int(_) | Value::UInt(_) | Value::Float(_) => "a number",
        _ => "a value",
    }
}

pub(crate) fn field<'a>(v: &'a Value, name: &str) -> Option<&'a Value> {
    match v {
        Value::Map(Map { map }) => map.get(&Key::String(Arc::new(name.to_owned()))),
        _ => None,
    }
}

pub(crate) fn path<'a>(v: &'a Value, names: &[&str]) -> Option<&'a Value> {
    names.iter().try_fold(v, |v, n| field(v, n))
}

pub(crate) fn list(v: Option<&Value>) -> &[Value] {
    match v {
        Some(Value::List(items)) => items.as_slice(),
        _ => &[],
    }
}

fn str_is(v: Option<&Value>, expected: &str) -> bool {
    matches!(v, Some(Value::String(s)) if s.as_str() == expected)
}

fn int(v: Option<&Value>) -> Option<i64> {
    match v {
        Some(Value::Int(i)) => Some(*i),
        Some(Value::UInt(u)) => i64::try_from(*u).ok(),
        _ => None,
    }
}

/// A pod carries the Istio sidecar: a regular `istio-proxy` container, or a native sidecar
/// (an init container named `istio-proxy` with `restartPolicy: Always`, Kubernetes ≥ 1.28).
pub fn has_sidecar(object: Value) -> bool {
    let spec = field(&object, "spec");
    let regular = list(spec.and_then(|s| field(s, "containers")))
        .iter()
        .any(|c| str_is(field(c, "name"), "istio-proxy"));
    let native = list(spec.and_then(|s| field(s, "initContainers")))
        .iter()
        .any(|c| {
            str_is(field(c, "name"), "istio-proxy") && str_is(field(c, "restartPolicy"), "Always")
        });
    regular || native
}

/// Ready in the sense kubectl shows: a Pod's Ready condition; a workload's ready replicas
/// covering its desired replicas (at least one); otherwise a Ready or Available condition.
pub fn is_ready(object: Value) -> bool {
    let kind = match field(&object, "kind") {
        Some(Value::String(k)) => k.to_string(),
        _ => String::new(),
    };
    let status = field(&object, "status");
    let condition_true = |types: &[&str]| {
        list(status.and_then(|s| field(s, "conditions")))
            .iter()
            .any(|c| {
                types.iter().any(|t| str_is(field(c, "type"), t))
                    && str_is(field(c, "status"), "True")
            })
    };
    match kind.as_str() {
        "Pod" => condition_true(&["Ready"]),
        "Deployment" | "StatefulSet" | "ReplicaSet" => {
            let desired = int(path(&object, &["spec", "replicas"])).unwrap_or(1);
            let ready = int(status.and_then(|s| field(s, "readyReplicas"))).unwrap_or(0);
            desired >= 1 && ready >= desired
        }
        "DaemonSet" => {
            let desired = int(status.and_then(|s| field(s, "desiredNumberScheduled"))).unwrap_or(0);
            let ready = int(status.and_then(|s| field(s, "numberReady"))).unwrap_or(0);
            desired >= 1 && ready >= desired
        }
        _ => condition_true(&["Ready", "Available"]),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn yaml(text: &str) -> serde_json::Value {
        serde_saphyr::from_str(text).unwrap()
    }

    #[test]
    fn sidecar_regular_and_native() {
        let e = compile("hasSidecar(object)").unwrap();
        let regular =
            yaml("kind: Pod\nspec:\n  containers:\n  - {name: app}\n  - {name: istio-proxy}\n");
        let native = yaml(
            "kind: Pod\nspec:\n  initContainers:\n  - {name: istio-proxy, restartPolicy: Always}\n  containers:\n  - {name: app}\n",
        );
        let init_only = yaml(
            "kind: Pod\nspec:\n  initContainers:\n  - {name: istio-proxy}\n  containers:\n  - {name: app}\n",
        );
        let plain = yaml("kind: Pod\nspec:\n  containers:\n  - {name: app}\n");
        assert_eq!(e.eval_bool(&regular), Ok(true));
        assert_eq!(e.eval_bool(&native), Ok(true));
        assert_eq!(e.eval_bool(&init_only), Ok(false));
        assert_eq!(e.eval_bool(&plain), Ok(false));
    }

    #[test]
    fn readiness_per_kind() {
        let e = compile("isReady(object)").unwrap();
        let pod = yaml("kind: Pod\nstatus:\n  conditions:\n  - {type: Ready, status: 'True'}\n");
        let pending = yaml("kind: Pod\nstatus:\n  phase: Pending\n");
        let deploy = yaml("kind: Deployment\nspec: {replicas: 2}\nstatus: {readyReplicas: 2}\n");
        let half = yaml("kind: Deployment\nspec: {replicas: 2}\nstatus: {readyReplicas: 1}\n");
        let scaled_to_zero = yaml("kind: Deployment\nspec: {replicas: 0}\nstatus: {}\n");
        assert_eq!(e.eval_bool(&pod), Ok(true));
        assert_eq!(e.eval_bool(&pending), Ok(false));
        assert_eq!(e.eval_bool(&deploy), Ok(true));
        assert_eq!(e.eval_bool(&half), Ok(false));
        assert_eq!(e.eval_bool(&scaled_to_zero), Ok(false));
    }

    #[test]
    fn kubernetes_library_and_errors() {
        let obj = json!({"data": {"mesh": "accessLogFile: /dev/stdout\noutboundTrafficPolicy:\n  mode: REGISTRY_ONLY\n"}});
        let e = compile("object.data.mesh.matches('(?m)^\\\\s*mode:\\\\s*REGISTRY_ONLY')").unwrap();
        assert_eq!(e.eval_bool(&obj), Ok(true));
        assert!(compile("object.spec.(").is_err());
        let not_bool = compile("object.data").unwrap();
        assert!(
            not_bool
                .eval_bool(&obj)
                .unwrap_err()
                .to_string()
                .contains("instead of true/false")
        );
        let port =
            compile("object.spec.port.number == 80 && object.spec.port.number > 79").unwrap();
        assert_eq!(
            port.eval_bool(&json!({"spec": {"port": {"number": 80}}})),
            Ok(true)
        );
        let name = compile("'pod ' + object.data.mesh.split('\\n')[0]").unwrap();
        assert_eq!(
            name.eval_string(&obj).unwrap(),
            "pod accessLogFile: /dev/stdout"
        );
    }
}
