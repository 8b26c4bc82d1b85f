//! Probe checks: judge what one HTTP request got (a status and body, or a connection error)
//! against the expectation. Making the request is the prober's job (`src/probe/`); offline
//! grading and `--no-probes` report it unavailable, which skips the check.

use crate::eval::command::Verdict;
use crate::eval::error::EvalError;
use crate::eval::facts::{Facts, ProbeFact};
use crate::eval::resource::Outcome;
use crate::labfile::lab::{ConnError, ConnErrors, HttpTarget, Probe, ProbeExpect, ProbeFrom};

/// What came back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reply {
    Http { status: u16, body: String },
    Failed { error: ConnError, detail: String },
}

/// A probe's result as data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProbeOutcome {
    pub reply: Reply,
    /// For a probe pod: whether it ran with an istio-proxy sidecar (`None`: not a probe pod).
    pub sidecar: Option<bool>,
}

pub fn evaluate(
    probe: &Probe,
    expect: &ProbeExpect,
    facts: &dyn Facts,
) -> Result<Verdict, EvalError> {
    match facts.probe(probe) {
        ProbeFact::Ran(outcome) => judge(probe, expect, &outcome).map(Verdict::Judged),
        ProbeFact::Unavailable(reason) => Ok(Verdict::Skipped(reason)),
        ProbeFact::Failed(why) => Err(EvalError::ProbeFailed {
            request: request(probe),
            why,
        }),
    }
}

/// The request in words: "GET http://store-front.pets/ from a probe pod in default (outside the mesh)".
pub fn request(probe: &Probe) -> String {
    let to = match &probe.http.target {
        HttpTarget::Url(url) => url.clone(),
        HttpTarget::Service { namespace, name } => format!(
            "the external address of Service {name} in {namespace}{}{}",
            probe
                .http
                .port
                .as_deref()
                .map(|p| format!(", port {p}"))
                .unwrap_or_default(),
            if probe.http.path.is_empty() {
                String::new()
            } else {
                format!(", path {}", probe.http.path)
            }
        ),
    };
    let from = match &probe.from {
        ProbeFrom::Labctl => "from labctl".to_owned(),
        ProbeFrom::Pod(p) if p.mesh => format!("from a probe pod in {} (in the mesh)", p.namespace),
        ProbeFrom::Pod(p) => format!("from a probe pod in {} (outside the mesh)", p.namespace),
        ProbeFrom::Exec(e) => format!("from a pod {} in {}", e.labels, e.namespace),
    };
    format!("GET {to} {from}")
}

/// Pure: the outcome against the expectation. `Err` when the answer can prove neither way
/// what the check is about — a negative probe expects the failure its mechanism produces
/// (`error:`), and a DNS failure, a timeout or a refused connection is not that failure; a
/// positive `reached:` probe cannot tell "blocked" from "no network" on those either. That is
/// "could not grade" (exit 2), never a pass and not a failure of the learner's work.
pub fn judge(
    probe: &Probe,
    expect: &ProbeExpect,
    outcome: &ProbeOutcome,
) -> Result<Outcome, EvalError> {
    let errors = ConnErrors(expect.errors().to_vec());
    let mut wants = Vec::new();
    if !errors.0.is_empty() {
        wants.push(format!("fails: {errors}"));
    }
    if expect.fails() {
        wants.push("fails (a connection error or HTTP status 400 or more)".into());
    }
    if expect.reached() {
        wants.push(
            "reaches the host (any HTTP status, or a certificate the client does not trust)".into(),
        );
    }
    if let Some(s) = expect.status() {
        wants.push(format!("HTTP {s}"));
    }
    if let Some(b) = expect.body_contains() {
        wants.push(format!("body contains {b:?}"));
    }
    if wants.is_empty() {
        wants.push("succeeds (HTTP status below 400)".into());
    }
    let expected = format!("{}: {}", request(probe), wants.join(", "));
    let mesh_required = matches!(&probe.from, ProbeFrom::Pod(p) if p.mesh);
    if mesh_required && outcome.sidecar == Some(false) {
        return Ok(Outcome {
            passed: false,
            expected,
            actual: "the probe pod got no istio-proxy sidecar, so it was not inside the mesh"
                .into(),
        });
    }
    let (passed, actual) = match &outcome.reply {
        Reply::Failed { error, detail } => {
            let actual = failure_text(*error, detail);
            let passed = if !errors.0.is_empty() {
                if errors.0.contains(error) {
                    true
                } else if error.reached() {
                    false
                } else {
                    return Err(unproven(
                        probe,
                        &format!("should fail this way: {errors}"),
                        &actual,
                        *error,
                    ));
                }
            } else if expect.reached() {
                if error.before_any_answer() {
                    return Err(unproven(probe, "should reach the host", &actual, *error));
                }
                error.reached()
            } else {
                expect.fails()
            };
            (passed, actual)
        }
        Reply::Http { status, body } => {
            let status_ok = match expect.status() {
                Some(want) => *status == want,
                None if expect.reached() => true,
                None if expect.fails() => *status >= 400,
                None => errors.0.is_empty() && *status < 400,
            };
            let body_ok = expect
                .body_contains()
                .is_none_or(|b| body.contains(b.as_str()));
            let mut actual = format!("HTTP {status}");
            if !body_ok || (!status_ok && !body.trim().is_empty()) {
                actual.push_str(&format!(", body {}", excerpt(body)));
            }
            (status_ok && body_ok, actual)
        }
    };
    Ok(Outcome {
        passed,
        expected,
        actual,
    })
}

/// "could not prove …": what the probe should have shown, what it got, and why that says
/// nothing either way.
fn unproven(probe: &Probe, should: &str, actual: &str, error: ConnError) -> EvalError {
    let why = match error {
        ConnError::Dns => {
            "The host name did not resolve (a typo in the host, or the cluster's DNS), so the request never got as far as the mesh"
        }
        ConnError::Timeout => {
            "Nothing answered in time: something dropped the packets (a NetworkPolicy, a firewall, a cluster without outbound access) before the mesh could answer"
        }
        ConnError::Refused => {
            "Nothing accepted the connection (a Service without ready endpoints, a wrong port), so the request never got as far as the mesh"
        }
        ConnError::Other => "The request failed for a reason that says nothing about the mesh",
        ConnError::Reset | ConnError::Empty | ConnError::Tls => {
            "The connection was cut, but not the way this mechanism cuts it"
        }
        ConnError::Untrusted => "The host answered with a certificate the client does not trust",
    };
    EvalError::Unproven {
        request: request(probe),
        should: should.to_owned(),
        actual: actual.to_owned(),
        why,
    }
}

fn failure_text(error: ConnError, detail: &str) -> String {
    let detail = detail.trim();
    if detail.is_empty() {
        error.to_string()
    } else {
        format!("{error}: {detail}")
    }
}

/// The start of a body, on one line, for messages.
fn excerpt(body: &str) -> String {
    let flat: String = body.split_whitespace().collect::<Vec<_>>().join(" ");
    crate::eval::command::quote_at_most(&flat, 160)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::labfile::lab::{HttpRequest, ProbePod};
    use std::time::Duration;

    fn pod_probe(mesh: bool) -> Probe {
        Probe {
            from: ProbeFrom::Pod(ProbePod {
                namespace: "default".into(),
                image: "curlimages/curl:8.11.1".into(),
                mesh,
            }),
            http: HttpRequest {
                target: HttpTarget::Url("http://product-service.pets:3002/".into()),
                port: None,
                path: String::new(),
            },
            timeout: Duration::from_secs(60),
        }
    }

    fn mesh_probe(url: &str) -> Probe {
        let mut p = pod_probe(true);
        p.http.target = HttpTarget::Url(url.into());
        p
    }

    fn http(status: u16, body: &str) -> ProbeOutcome {
        ProbeOutcome {
            reply: Reply::Http {
                status,
                body: body.into(),
            },
            sidecar: Some(false),
        }
    }

    /// An HTTP answer to a probe pod that ran inside the mesh.
    fn meshed(status: u16, body: &str) -> ProbeOutcome {
        ProbeOutcome {
            sidecar: Some(true),
            ..http(status, body)
        }
    }

    fn failed(error: ConnError) -> ProbeOutcome {
        ProbeOutcome {
            reply: Reply::Failed {
                error,
                detail: "curl exit 56: Recv failure: Connection reset by peer".into(),
            },
            sidecar: Some(false),
        }
    }

    /// A judgement that must be a pass or a failure, not "could not prove".
    fn ok(p: &Probe, e: &ProbeExpect, o: &ProbeOutcome) -> Outcome {
        judge(p, e, o).expect("judged")
    }

    fn failed_with(error: ConnError, detail: &str) -> ProbeOutcome {
        ProbeOutcome {
            reply: Reply::Failed {
                error,
                detail: detail.into(),
            },
            sidecar: Some(true),
        }
    }

    #[test]
    fn status_and_body() {
        let p = pod_probe(false);
        let e = ProbeExpect::Reply {
            status: Some(200),
            body_contains: Some("Contoso Pet Store".into()),
        };
        let good = ok(&p, &e, &http(200, "<title>Contoso Pet Store</title>"));
        assert!(good.passed);
        assert_eq!(good.actual, "HTTP 200");
        assert_eq!(
            good.expected,
            "GET http://product-service.pets:3002/ from a probe pod in default (outside the mesh): HTTP 200, body contains \"Contoso Pet Store\""
        );
        let wrong_body = ok(&p, &e, &http(200, "<h1>Welcome to nginx!</h1>\n"));
        assert!(!wrong_body.passed);
        assert_eq!(
            wrong_body.actual,
            "HTTP 200, body \"<h1>Welcome to nginx!</h1>\""
        );
        let wrong_status = ok(&p, &e, &http(503, "no healthy upstream"));
        assert!(!wrong_status.passed);
        assert_eq!(
            wrong_status.actual,
            "HTTP 503, body \"no healthy upstream\""
        );
        let refused = ok(&p, &e, &failed(ConnError::Refused));
        assert!(!refused.passed);
        assert!(
            refused
                .actual
                .starts_with("connection refused: curl exit 56")
        );
    }

    #[test]
    fn must_fail_passes_on_errors_and_error_statuses() {
        let p = pod_probe(false);
        let e = ProbeExpect::Fails;
        assert!(ok(&p, &e, &failed(ConnError::Reset)).passed);
        assert!(ok(&p, &e, &failed(ConnError::Timeout)).passed);
        assert!(ok(&p, &e, &http(502, "")).passed);
        let got_in = ok(&p, &e, &http(200, "ok"));
        assert!(!got_in.passed);
        assert_eq!(got_in.actual, "HTTP 200, body \"ok\"");
    }

    #[test]
    fn a_named_error_must_be_that_error() {
        let p = pod_probe(false);
        let e = ProbeExpect::Error(vec![ConnError::Reset]);
        assert!(ok(&p, &e, &failed(ConnError::Reset)).passed);
        assert!(!ok(&p, &e, &http(502, "")).passed);
        assert_eq!(
            ok(&p, &e, &http(200, "")).expected,
            "GET http://product-service.pets:3002/ from a probe pod in default (outside the mesh): fails: connection reset"
        );
    }

    /// STRICT refusing a client outside the mesh: the server's sidecar resets the plaintext
    /// connection or closes it without a reply. Anything else proves nothing either way.
    #[test]
    fn strict_signature_reset_or_empty_reply() {
        let p = pod_probe(false);
        let e = ProbeExpect::Error(vec![ConnError::Reset, ConnError::Empty]);
        assert!(ok(&p, &e, &failed(ConnError::Reset)).passed);
        assert!(ok(&p, &e, &failed(ConnError::Empty)).passed);
        let through = ok(&p, &e, &http(200, "<title>Contoso Pet Store</title>"));
        assert!(!through.passed, "plaintext got an answer: STRICT is not on");
        assert!(
            through
                .expected
                .ends_with("fails: connection reset or empty reply")
        );
        assert!(
            !ok(&p, &e, &http(503, "")).passed,
            "any HTTP answer got through"
        );
        for other in [
            ConnError::Dns,
            ConnError::Timeout,
            ConnError::Refused,
            ConnError::Other,
        ] {
            let why = judge(
                &p,
                &e,
                &failed_with(other, "curl exit 28: Operation timed out"),
            )
            .expect_err("a failure of another kind cannot prove STRICT")
            .to_string();
            assert!(why.starts_with("could not prove it: GET http://product-service.pets:3002/ from a probe pod in default (outside the mesh) should fail this way: connection reset or empty reply, but got "), "{why}");
            assert!(why.contains("curl exit 28: Operation timed out"), "{why}");
        }
        let timeout = judge(&p, &e, &failed_with(ConnError::Timeout, ""))
            .unwrap_err()
            .to_string();
        assert!(
            timeout.contains("NetworkPolicy"),
            "names the likely cause: {timeout}"
        );
    }

    /// REGISTRY_ONLY refusing HTTPS: the sidecar cuts the TLS handshake (curl exit 35). A
    /// certificate the client does not trust means the host answered: egress is open.
    #[test]
    fn registry_only_signature_handshake_cut() {
        let p = mesh_probe("https://www.bing.com/");
        let e = ProbeExpect::Error(vec![ConnError::Tls]);
        let cut = failed_with(
            ConnError::Tls,
            "curl exit 35: Recv failure: Connection reset by peer",
        );
        assert!(ok(&p, &e, &cut).passed);
        let untrusted = ok(
            &p,
            &e,
            &failed_with(
                ConnError::Untrusted,
                "curl exit 60: SSL certificate problem",
            ),
        );
        assert!(!untrusted.passed, "the host was reached");
        assert_eq!(
            untrusted.actual,
            "certificate not trusted: curl exit 60: SSL certificate problem"
        );
        assert!(!ok(&p, &e, &meshed(200, "")).passed);
        let no_dns = judge(
            &p,
            &e,
            &failed_with(
                ConnError::Dns,
                "curl exit 6: Could not resolve host: www.bing.com",
            ),
        );
        assert!(no_dns.unwrap_err().to_string().contains("did not resolve"));
        assert!(
            judge(&p, &e, &failed_with(ConnError::Timeout, "")).is_err(),
            "a cluster without egress proves nothing"
        );
        assert!(
            judge(&p, &e, &failed_with(ConnError::Reset, "")).is_err(),
            "not a handshake"
        );
    }

    /// The positive egress probe: the host was reached, whatever it answered — a certificate
    /// the client does not trust included. A cut connection is what a block looks like.
    #[test]
    fn reached_means_any_answer_or_an_untrusted_certificate() {
        let p = mesh_probe("https://example.com/");
        let e = ProbeExpect::Reached;
        assert!(ok(&p, &e, &meshed(200, "")).passed);
        assert!(ok(&p, &e, &meshed(404, "")).passed);
        assert!(ok(&p, &e, &failed_with(ConnError::Untrusted, "curl exit 60")).passed);
        let blocked = ok(
            &p,
            &e,
            &failed_with(ConnError::Tls, "curl exit 35: Connection reset by peer"),
        );
        assert!(!blocked.passed);
        assert!(
            blocked.expected.ends_with(
                "reaches the host (any HTTP status, or a certificate the client does not trust)"
            ),
            "{}",
            blocked.expected
        );
        assert!(!ok(&p, &e, &failed_with(ConnError::Reset, "")).passed);
        assert!(!ok(&p, &e, &failed_with(ConnError::Empty, "")).passed);
        for other in [
            ConnError::Dns,
            ConnError::Timeout,
            ConnError::Refused,
            ConnError::Other,
        ] {
            let why = judge(&p, &e, &failed_with(other, ""))
                .expect_err("proves nothing")
                .to_string();
            assert!(why.contains("should reach the host, but got"), "{why}");
        }
    }

    #[test]
    fn no_expectation_means_success() {
        let p = pod_probe(false);
        let e = ProbeExpect::default();
        assert!(ok(&p, &e, &http(301, "")).passed);
        assert!(!ok(&p, &e, &http(404, "")).passed);
        assert!(!ok(&p, &e, &failed(ConnError::Dns)).passed);
    }

    #[test]
    fn a_mesh_probe_without_sidecar_fails_whatever_it_got() {
        let p = pod_probe(true);
        let e = ProbeExpect::Reply {
            status: Some(200),
            body_contains: None,
        };
        let o = ok(&p, &e, &http(200, ""));
        assert!(!o.passed);
        assert!(o.actual.contains("no istio-proxy sidecar"), "{}", o.actual);
        let mut with = http(200, "");
        with.sidecar = Some(true);
        assert!(ok(&p, &e, &with).passed);
    }

    #[test]
    fn service_targets_read_well() {
        let p = Probe {
            from: ProbeFrom::Labctl,
            http: HttpRequest {
                target: HttpTarget::Service {
                    namespace: "aks-istio-ingress".into(),
                    name: "gw".into(),
                },
                port: Some("80".into()),
                path: "/".into(),
            },
            timeout: Duration::from_secs(10),
        };
        assert_eq!(
            request(&p),
            "GET the external address of Service gw in aks-istio-ingress, port 80, path / from labctl"
        );
    }
}
