//! One check, start to finish: skip it when it needs a variable with no value, evaluate its
//! body, and on failure name the diagnoses that hold.

use crate::eval::command::Verdict;
use crate::eval::error::EvalError;
use crate::eval::facts::Facts;
use crate::eval::result::{CheckResult, Status};
use crate::eval::{command, diagnose, distribution, probe, resource};
use crate::labfile::lab::Body;
use crate::plan::resolve::PlannedCheck;
use std::time::Instant;

/// Evaluate a body with its kind's evaluator: the one dispatch over check kinds. `actual` is
/// the check's `actual:` expression (resource checks only).
pub fn evaluate_body(
    body: &Body,
    actual: Option<&str>,
    facts: &dyn Facts,
) -> Result<Verdict, EvalError> {
    match body {
        Body::Resource(b) => {
            resource::evaluate(&b.selector, &b.expect, actual, facts).map(Verdict::Judged)
        }
        Body::Command(b) => command::evaluate(&b.command, &b.expect, facts),
        Body::Probe(b) => probe::evaluate(&b.probe, &b.expect, facts),
        Body::Distribution(b) => distribution::evaluate(b, facts),
    }
}

pub fn evaluate(pc: &PlannedCheck, facts: &dyn Facts) -> CheckResult {
    let start = Instant::now();
    let check = &pc.check;
    let mut result = CheckResult::new(&check.id, &check.title, Status::Passed);
    result.fix = check.fix.as_ref().map(|f| f.trim().to_owned());
    if !pc.missing.is_empty() {
        let flags: Vec<String> = pc.missing.iter().map(|m| format!("--var {m}=…")).collect();
        result.status = Status::Skipped;
        result.message = Some(format!(
            "needs a value for {} (pass {})",
            pc.missing.join(", "),
            flags.join(" ")
        ));
        return result;
    }
    if let Some(reason) = diagnose::skip_reason(check, facts) {
        result.status = Status::Skipped;
        result.message = Some(reason);
        return result;
    }
    let outcome = match evaluate_body(&check.body, check.actual.as_deref(), facts) {
        Ok(Verdict::Judged(o)) => Ok(o),
        Ok(Verdict::Skipped(reason)) => {
            result.status = Status::Skipped;
            result.message = Some(reason);
            result.duration = start.elapsed();
            return result;
        }
        Err(e) => Err(e),
    };
    match outcome {
        Ok(o) => {
            result.expected = o.expected;
            result.actual = o.actual;
            if !o.passed {
                result.status = Status::Failed;
                result.diagnoses = diagnose::found(&check.diagnoses, facts);
            }
        }
        Err(e) => {
            result.status = Status::Error;
            result.message = Some(e.to_string());
        }
    }
    result.duration = start.elapsed();
    result
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::eval::facts::{PROBES_OFFLINE, ProbeFact, StaticFacts};
    use crate::eval::probe::{ProbeOutcome, Reply};
    use crate::labfile::lab::{
        Check, HttpRequest, HttpTarget, Probe, ProbeBody, ProbeExpect, ProbeFrom, ProbePod,
        Quantifier, ResourceBody, ResourceExpect, Selector, Skip,
    };
    use crate::view::objects::ObjectSet;
    use crate::view::query::Query;
    use std::time::Duration;

    fn probe() -> Probe {
        Probe {
            from: ProbeFrom::Pod(ProbePod {
                namespace: "default".into(),
                image: "curlimages/curl:8.11.1".into(),
                mesh: false,
            }),
            http: HttpRequest {
                target: HttpTarget::Url("http://store-front.pets/".into()),
                port: None,
                path: String::new(),
            },
            timeout: Duration::from_secs(60),
        }
    }

    /// "Plaintext is accepted", skipped once a STRICT PeerAuthentication exists in pets.
    fn plaintext_accepted() -> PlannedCheck {
        let strict = Body::Resource(ResourceBody {
            selector: Selector {
                api_version: "security.istio.io/v1".into(),
                kind: "PeerAuthentication".into(),
                namespace: Some("pets".into()),
                name: None,
                labels: None,
            },
            expect: ResourceExpect {
                quantifier: Quantifier::Any,
                cel: Some("object.spec.mtls.mode == 'STRICT'".into()),
                ..ResourceExpect::default()
            },
        });
        PlannedCheck {
            check: Check {
                id: "plaintext-accepted".into(),
                title: "plaintext accepted".into(),
                profiles: None,
                body: Body::Probe(ProbeBody {
                    probe: probe(),
                    expect: ProbeExpect::Reply {
                        status: Some(200),
                        body_contains: None,
                    },
                }),
                actual: None,
                fix: None,
                diagnoses: Vec::new(),
                skip: Some(Skip {
                    when: vec![strict],
                    reason: "STRICT is on by now".into(),
                }),
                origin: "lab.yaml:1".into(),
            },
            missing: Vec::new(),
        }
    }

    fn facts(mode: &str) -> StaticFacts {
        let q = Query {
            api_version: "security.istio.io/v1".into(),
            kind: "PeerAuthentication".into(),
            namespace: Some("pets".into()),
        };
        let pa = serde_json::json!({"metadata": {"name": "pets-mtls", "namespace": "pets"}, "spec": {"mtls": {"mode": mode}}});
        let mut set = ObjectSet::default();
        set.insert(q, Ok(vec![pa]));
        StaticFacts::offline(set, "offline")
    }

    #[test]
    fn a_check_is_skipped_when_its_skip_conditions_hold() {
        let r = evaluate(&plaintext_accepted(), &facts("STRICT"));
        assert_eq!(r.status, Status::Skipped);
        assert_eq!(r.message.as_deref(), Some("STRICT is on by now"));
    }

    #[test]
    fn otherwise_the_probe_is_judged_or_skipped_offline() {
        let mut f = facts("PERMISSIVE");
        let r = evaluate(&plaintext_accepted(), &f);
        assert_eq!(r.status, Status::Skipped);
        assert_eq!(r.message.as_deref(), Some(PROBES_OFFLINE));
        f.probes.insert(
            probe(),
            ProbeFact::Ran(ProbeOutcome {
                reply: Reply::Http {
                    status: 200,
                    body: String::new(),
                },
                sidecar: Some(false),
            }),
        );
        assert_eq!(evaluate(&plaintext_accepted(), &f).status, Status::Passed);
        f.probes.insert(
            probe(),
            ProbeFact::Failed("probe pod did not finish".into()),
        );
        let r = evaluate(&plaintext_accepted(), &f);
        assert_eq!(r.status, Status::Error);
        assert!(
            r.message.unwrap().contains("probe pod did not finish"),
            "could-not-grade says why"
        );
    }
}
