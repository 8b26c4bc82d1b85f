//! Partial-object matching (`expect.match`): the expected document must be contained in the
//! actual object. Maps match when every expected key matches; a list matches when every
//! expected element matches *some* actual element (order does not matter); scalars compare by
//! value. The first mismatch is reported with its path, as a learner would look it up.

use serde_json::Value;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mismatch {
    /// Dotted path, e.g. `spec.mtls.mode`.
    pub path: String,
    /// One sentence about what differs.
    pub detail: String,
}

/// `Ok` when `expected` is contained in `actual`.
pub fn contains(expected: &Value, actual: &Value) -> Result<(), Mismatch> {
    walk(expected, Some(actual), &mut String::new())
}

fn walk(expected: &Value, actual: Option<&Value>, path: &mut String) -> Result<(), Mismatch> {
    let here = |detail: String, path: &str| Mismatch {
        path: path.to_owned(),
        detail,
    };
    match (expected, actual) {
        (Value::Null, None | Some(Value::Null)) => Ok(()),
        (_, None) => Err(here(
            format!(
                "{} is missing (expected {})",
                show_path(path),
                short(expected)
            ),
            path,
        )),
        (Value::Object(exp), Some(Value::Object(act))) => {
            for (k, v) in exp {
                let len = path.len();
                if !path.is_empty() {
                    path.push('.');
                }
                path.push_str(k);
                let r = walk(v, act.get(k), path);
                path.truncate(len);
                r?;
            }
            Ok(())
        }
        (Value::Array(exp), Some(Value::Array(act))) => {
            for e in exp {
                if !act
                    .iter()
                    .any(|a| walk(e, Some(a), &mut path.clone()).is_ok())
                {
                    return Err(here(
                        format!(
                            "{} has no element matching {} (has {})",
                            show_path(path),
                            short(e),
                            short_list(act)
                        ),
                        path,
                    ));
                }
            }
            Ok(())
        }
        (exp, Some(act)) if scalar_eq(exp, act) => Ok(()),
        (exp, Some(act)) => Err(here(
            format!(
                "{} is {}, expected {}",
                show_path(path),
                short(act),
                short(exp)
            ),
            path,
        )),
    }
}

fn scalar_eq(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x.as_f64() == y.as_f64(),
        _ => a == b,
    }
}

fn show_path(path: &str) -> String {
    if path.is_empty() {
        "the object".into()
    } else {
        format!("`{path}`")
    }
}

/// A short rendering of a value for messages (long values are cut).
pub fn short(v: &Value) -> String {
    let s = v.to_string();
    if s.chars().count() > 80 {
        format!("{}…", s.chars().take(79).collect::<String>())
    } else {
        s
    }
}

fn short_list(items: &[Value]) -> String {
    if items.is_empty() {
        return "none".into();
    }
    let names: Vec<String> = items
        .iter()
        .take(5)
        .map(|i| match i.get("name") {
            Some(Value::String(n)) => n.clone(),
            _ => short(i),
        })
        .collect();
    let more = if items.len() > 5 {
        format!(", … {} more", items.len() - 5)
    } else {
        String::new()
    };
    format!("{}{more}", names.join(", "))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn y(text: &str) -> Value {
        serde_saphyr::from_str(text).unwrap()
    }

    #[test]
    fn subset_of_maps_and_some_element_of_lists() {
        let pod = y(
            "metadata:\n  labels: {app: store-front, pod-template-hash: abc}\nspec:\n  containers:\n  - {name: store-front, image: x}\n  - {name: istio-proxy, image: y}\n",
        );
        assert_eq!(
            contains(&y("spec:\n  containers:\n  - name: istio-proxy\n"), &pod),
            Ok(())
        );
        assert_eq!(
            contains(&y("metadata: {labels: {app: store-front}}"), &pod),
            Ok(())
        );
        let err = contains(&y("spec:\n  containers:\n  - name: istio-init\n"), &pod).unwrap_err();
        assert_eq!(
            err.detail,
            "`spec.containers` has no element matching {\"name\":\"istio-init\"} (has store-front, istio-proxy)"
        );
    }

    #[test]
    fn reports_the_first_difference_with_its_path() {
        let pa = y("spec: {mtls: {mode: PERMISSIVE}}");
        let err = contains(&y("spec: {mtls: {mode: STRICT}}"), &pa).unwrap_err();
        assert_eq!(
            err,
            Mismatch {
                path: "spec.mtls.mode".into(),
                detail: "`spec.mtls.mode` is \"PERMISSIVE\", expected \"STRICT\"".into()
            }
        );
        let err = contains(
            &y("metadata: {labels: {istio.io/rev: asm-1-23}}"),
            &y("metadata: {name: pets}"),
        )
        .unwrap_err();
        assert_eq!(
            err.detail,
            "`metadata.labels` is missing (expected {\"istio.io/rev\":\"asm-1-23\"})"
        );
    }

    #[test]
    fn numbers_compare_by_value_and_null_means_absent() {
        assert!(contains(&y("port: 80"), &y("port: 80.0")).is_ok());
        assert!(contains(&y("spec: {gateways: null}"), &y("spec: {hosts: ['*']}")).is_ok());
        assert!(contains(&y("spec: {gateways: null}"), &y("spec: {gateways: [g]}")).is_err());
    }
}
