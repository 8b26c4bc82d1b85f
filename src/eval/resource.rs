//! Resource checks: select objects (kind, namespace, name, labels) from the listed ones, then
//! test each with `match` and `cel`, and combine with the quantifier and count.

use crate::cel;
use crate::eval::error::EvalError;
use crate::eval::facts::Facts;
use crate::eval::matcher;
use crate::labfile::lab::{Quantifier, ResourceExpect, Selector};
use crate::view::query::Query;
use serde_json::Value;

/// The outcome of one body (a check's or a diagnosis condition's).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    pub passed: bool,
    pub expected: String,
    pub actual: String,
}

/// The listed objects a selector picks by name and labels (kind and namespace chose the list).
pub fn select<'a>(sel: &Selector, listed: &'a [Value]) -> Result<Vec<&'a Value>, EvalError> {
    let label_selector = match &sel.labels {
        Some(l) => Some(crate::labfile::selector::parse(l).map_err(EvalError::Selector)?),
        None => None,
    };
    Ok(listed
        .iter()
        .filter(|o| sel.name.as_deref().is_none_or(|n| name(o) == n))
        .filter(|o| {
            label_selector
                .as_ref()
                .is_none_or(|s| crate::labfile::selector::matches(s, &labels(o)))
        })
        .collect())
}

/// Evaluate a resource selection; `Err` means "could not evaluate" (fetch failed, CEL broken).
pub fn evaluate(
    sel: &Selector,
    expect: &ResourceExpect,
    actual_expr: Option<&str>,
    facts: &dyn Facts,
) -> Result<Outcome, EvalError> {
    let query = Query {
        api_version: sel.api_version.clone(),
        kind: sel.kind.clone(),
        namespace: sel.namespace.clone(),
    };
    let listed = facts.list(&query)?;
    let selected = select(sel, listed)?;
    let what = describe_selection(sel);
    let expected = describe_expectation(&what, expect);

    if expect.absent {
        let passed = selected.is_empty();
        let actual = if passed {
            format!("no {what}")
        } else {
            format!("found {}", names(&selected, sel))
        };
        return Ok(Outcome {
            passed,
            expected,
            actual,
        });
    }
    if selected.is_empty() && expect.quantifier != Quantifier::None {
        return Ok(Outcome {
            passed: false,
            expected,
            // "no Deployment x in ns exists" / "nothing found: Pod objects in ns matching …"
            actual: if sel.name.is_some() {
                format!("no {what} exists")
            } else {
                format!("nothing found: {what}")
            },
        });
    }

    let compile = |e: &str| cel::compile(e).map_err(EvalError::CelCompile);
    let cel_expr = expect.cel.as_deref().map(compile).transpose()?;
    let actual_expr = actual_expr.map(compile).transpose()?;
    // At most this many offending objects are described (a class report grades the same check
    // for hundreds of learners: describing objects nobody sees is most of the work).
    const SHOWN: usize = 10;
    let mut satisfying = Vec::new();
    let mut offending: Vec<String> = Vec::new();
    let mut offending_total = 0;
    for obj in &selected {
        let verdict = judge(obj, expect, cel_expr.as_ref())?;
        let good = verdict.is_ok();
        if good {
            satisfying.push(*obj);
        }
        // For `none`, the offending objects are the ones that satisfy.
        if good == (expect.quantifier == Quantifier::None) {
            offending_total += 1;
            if offending.len() < SHOWN {
                offending.push(match &actual_expr {
                    Some(e) => e.eval_string(obj).unwrap_or_else(|err| {
                        format!("{}: (actual: {err})", display_name(obj, sel))
                    }),
                    None => match &verdict {
                        Ok(()) => format!("{}: satisfies the expectation", display_name(obj, sel)),
                        Err(why) => format!("{}: {why}", display_name(obj, sel)),
                    },
                });
            }
        }
    }
    let n = satisfying.len();
    let total = selected.len();
    let quantified = match expect.quantifier {
        Quantifier::All => n == total && total > 0,
        Quantifier::Any => n > 0,
        Quantifier::None => n == 0,
    };
    let counted = expect.count.is_none_or(|c| c.holds(n));
    let passed = quantified && counted;
    let mut actual = format!("{n} of {total} selected satisfy");
    if !passed && !offending.is_empty() {
        for line in &offending {
            actual.push('\n');
            actual.push_str(line);
        }
        if offending_total > SHOWN {
            actual.push_str(&format!("\n… and {} more", offending_total - SHOWN));
        }
    }
    Ok(Outcome {
        passed,
        expected,
        actual,
    })
}

/// Whether one object satisfies `match` and `cel`: `Ok(Ok(()))` yes, `Ok(Err(why))` no,
/// `Err` when the CEL cannot be evaluated on it.
fn judge(
    obj: &Value,
    expect: &ResourceExpect,
    cel_expr: Option<&cel::Expr>,
) -> Result<Result<(), String>, EvalError> {
    if let Some(m) = &expect.match_
        && let Err(mismatch) = matcher::contains(m, obj)
    {
        return Ok(Err(mismatch.detail));
    }
    if let Some(e) = cel_expr {
        match e.eval_bool(obj) {
            Ok(true) => {}
            Ok(false) => return Ok(Err(format!("`{}` is false", e.source()))),
            // A missing field is the object not satisfying the check, not a broken check.
            Err(err @ cel::CelError::NoSuchKey(_)) => {
                return Ok(Err(format!("`{}` cannot be evaluated: {err}", e.source())));
            }
            Err(err) => {
                return Err(EvalError::CelFailed {
                    expr: e.source().to_owned(),
                    object: name(obj).to_owned(),
                    why: err,
                });
            }
        }
    }
    Ok(Ok(()))
}

fn name(o: &Value) -> &str {
    o.pointer("/metadata/name")
        .and_then(Value::as_str)
        .unwrap_or("?")
}

fn display_name(o: &Value, sel: &Selector) -> String {
    match (
        sel.namespace.as_ref(),
        o.pointer("/metadata/namespace").and_then(Value::as_str),
    ) {
        (None, Some(ns)) => format!("{ns}/{}", name(o)),
        _ => name(o).to_owned(),
    }
}

fn names(objs: &[&Value], sel: &Selector) -> String {
    objs.iter()
        .map(|o| display_name(o, sel))
        .collect::<Vec<_>>()
        .join(", ")
}

fn labels(o: &Value) -> std::collections::BTreeMap<String, String> {
    o.pointer("/metadata/labels")
        .and_then(Value::as_object)
        .map(|m| {
            m.iter()
                .filter_map(|(k, v)| v.as_str().map(|v| (k.clone(), v.to_owned())))
                .collect()
        })
        .unwrap_or_default()
}

/// "Deployment istiod-asm-1-23 in aks-istio-system", "Pods in pets matching app=x".
pub fn describe_selection(sel: &Selector) -> String {
    let mut s = match &sel.name {
        Some(n) => format!("{} {n}", sel.kind),
        None => format!("{} objects", sel.kind),
    };
    match &sel.namespace {
        Some(ns) => s.push_str(&format!(" in {ns}")),
        None if sel.kind != "Namespace" && sel.name.is_none() => s.push_str(" in any namespace"),
        None => {}
    }
    if let Some(l) = &sel.labels {
        s.push_str(&format!(" matching `{l}`"));
    }
    s
}

fn describe_expectation(what: &str, e: &ResourceExpect) -> String {
    if e.absent {
        return format!("no {what}");
    }
    let mut conds = Vec::new();
    if let Some(m) = &e.match_ {
        conds.push(format!("contain {}", matcher::short(m)));
    }
    if let Some(c) = &e.cel {
        conds.push(format!("`{c}`"));
    }
    let cond = if conds.is_empty() {
        "exist".to_owned()
    } else {
        conds.join(" and ")
    };
    let count = e.count.map(|c| format!(" ({c})")).unwrap_or_default();
    match e.quantifier {
        Quantifier::All => format!("{what}: all{count} {cond}"),
        Quantifier::Any => format!(
            "{what}: at least one{count} {}",
            if conds.is_empty() {
                "exists".into()
            } else {
                cond
            }
        ),
        Quantifier::None => format!(
            "{what}: none {}",
            if conds.is_empty() {
                "exists".into()
            } else {
                cond
            }
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::eval::facts::StaticFacts;
    use crate::labfile::lab::Count;
    use crate::view::objects::{FetchError, ObjectSet};

    fn facts(q: Query, yaml_docs: &str) -> StaticFacts {
        let items: Vec<Value> = serde_saphyr::from_multiple(yaml_docs).unwrap();
        let mut set = ObjectSet::default();
        set.insert(q, Ok(items));
        StaticFacts::offline(set, "offline")
    }

    fn pods_in(ns: &str) -> Query {
        Query {
            api_version: "v1".into(),
            kind: "Pod".into(),
            namespace: Some(ns.into()),
        }
    }

    fn sel(ns: &str, labels: Option<&str>) -> Selector {
        Selector {
            api_version: "v1".into(),
            kind: "Pod".into(),
            namespace: Some(ns.into()),
            name: None,
            labels: labels.map(Into::into),
        }
    }

    const PODS: &str = "kind: Pod\nmetadata: {name: store-front-1, labels: {app: store-front}}\nspec: {containers: [{name: store-front}, {name: istio-proxy}]}\n---\nkind: Pod\nmetadata: {name: rabbitmq-0, labels: {app: rabbitmq}}\nspec: {containers: [{name: rabbitmq}]}\n---\nkind: Pod\nmetadata: {name: curl-1, labels: {app: curl}}\nspec: {containers: [{name: curl}]}\n";

    fn expect_cel(cel: &str) -> ResourceExpect {
        ResourceExpect {
            cel: Some(cel.into()),
            ..ResourceExpect::default()
        }
    }

    #[test]
    fn all_fails_naming_the_offending_objects_with_actual_text() {
        let f = facts(pods_in("pets"), PODS);
        let s = sel("pets", Some("app in (store-front, rabbitmq)"));
        let out = evaluate(
            &s,
            &expect_cel("hasSidecar(object)"),
            Some("object.metadata.name + ': no istio-proxy'"),
            &f,
        )
        .unwrap();
        assert!(!out.passed);
        assert_eq!(
            out.actual,
            "1 of 2 selected satisfy\nrabbitmq-0: no istio-proxy"
        );
        assert_eq!(
            out.expected,
            "Pod objects in pets matching `app in (store-front, rabbitmq)`: all `hasSidecar(object)`"
        );
    }

    #[test]
    fn any_none_and_count() {
        let f = facts(pods_in("pets"), PODS);
        let s = sel("pets", None);
        let any = ResourceExpect {
            quantifier: Quantifier::Any,
            ..expect_cel("object.spec.containers.exists(c, c.name == 'istio-proxy')")
        };
        let out = evaluate(&s, &any, None, &f).unwrap();
        assert!(out.passed);
        // The expectation quotes the CEL verbatim (no word games on "exists").
        assert!(
            out.expected.ends_with(
                "at least one `object.spec.containers.exists(c, c.name == 'istio-proxy')`"
            ),
            "{}",
            out.expected
        );
        let none = ResourceExpect {
            quantifier: Quantifier::None,
            ..expect_cel("hasSidecar(object)")
        };
        let out = evaluate(&s, &none, None, &f).unwrap();
        assert!(!out.passed);
        assert!(
            out.actual
                .ends_with("store-front-1: satisfies the expectation"),
            "{}",
            out.actual
        );
        let at_least_two = ResourceExpect {
            quantifier: Quantifier::Any,
            count: Count::parse(">= 2"),
            ..expect_cel("hasSidecar(object)")
        };
        assert!(!evaluate(&s, &at_least_two, None, &f).unwrap().passed);
    }

    #[test]
    fn all_on_an_empty_selection_fails_and_absent_passes() {
        let f = facts(pods_in("pets"), PODS);
        let s = sel("pets", Some("app=order-service"));
        let out = evaluate(&s, &ResourceExpect::default(), None, &f).unwrap();
        assert_eq!(
            (out.passed, out.actual.as_str()),
            (
                false,
                "nothing found: Pod objects in pets matching `app=order-service`"
            )
        );
        assert!(
            evaluate(
                &s,
                &ResourceExpect {
                    absent: true,
                    ..ResourceExpect::default()
                },
                None,
                &f
            )
            .unwrap()
            .passed
        );
        let by_name = Selector {
            name: Some("curl-1".into()),
            ..sel("pets", None)
        };
        let out = evaluate(
            &by_name,
            &ResourceExpect {
                absent: true,
                ..ResourceExpect::default()
            },
            None,
            &f,
        )
        .unwrap();
        assert_eq!((out.passed, out.actual.as_str()), (false, "found curl-1"));
    }

    #[test]
    fn match_mismatch_is_the_actual() {
        let q = Query {
            api_version: "security.istio.io/v1".into(),
            kind: "PeerAuthentication".into(),
            namespace: Some("pets".into()),
        };
        let f = facts(
            q,
            "kind: PeerAuthentication\nmetadata: {name: pets-mtls}\nspec: {mtls: {mode: PERMISSIVE}}\n",
        );
        let s = Selector {
            api_version: "security.istio.io/v1".into(),
            kind: "PeerAuthentication".into(),
            namespace: Some("pets".into()),
            name: Some("pets-mtls".into()),
            labels: None,
        };
        let e = ResourceExpect {
            match_: Some(serde_json::json!({"spec": {"mtls": {"mode": "STRICT"}}})),
            ..ResourceExpect::default()
        };
        let out = evaluate(&s, &e, None, &f).unwrap();
        assert!(!out.passed);
        assert_eq!(
            out.actual,
            "0 of 1 selected satisfy\npets-mtls: `spec.mtls.mode` is \"PERMISSIVE\", expected \"STRICT\""
        );
    }

    #[test]
    fn fetch_failures_are_errors_not_failures() {
        let mut set = ObjectSet::default();
        set.insert(
            pods_in("pets"),
            Err(FetchError::Forbidden {
                verb: "list".into(),
                resource: "pods".into(),
                namespace: Some("pets".into()),
                message: String::new(),
            }),
        );
        let f = StaticFacts::offline(set, "offline");
        let err = evaluate(&sel("pets", None), &ResourceExpect::default(), None, &f).unwrap_err();
        assert_eq!(
            err.to_string(),
            "forbidden: cannot list pods in namespace pets"
        );
        let mut set = ObjectSet::default();
        set.insert(
            pods_in("pets"),
            Err(FetchError::NotServed {
                api_version: "v1".into(),
                kind: "Pod".into(),
            }),
        );
        let f = StaticFacts::offline(set, "offline");
        assert!(
            !evaluate(&sel("pets", None), &ResourceExpect::default(), None, &f)
                .unwrap()
                .passed
        );
    }
}
