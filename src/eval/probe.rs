//! Probe checks: judge what one HTTP request got (a status and body, or a connection error)
//! against the expectation. Making the request is the prober's job (`src/probe/`); offline
//! grading and `--no-probes` report it unavailable, which skips the check.

use crate::eval::command::Verdict;
use crate::eval::facts::{Facts, ProbeFact};
use crate::eval::resource::Outcome;
use crate::spec::lab::{ConnError, Expect, HttpTarget, Probe, ProbeFrom};

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

pub fn evaluate(probe: &Probe, expect: &Expect, facts: &dyn Facts) -> Result<Verdict, String> {
    match facts.probe(probe) {
        ProbeFact::Ran(outcome) => Ok(Verdict::Judged(judge(probe, expect, &outcome))),
        ProbeFact::Unavailable(reason) => Ok(Verdict::Skipped(reason)),
        ProbeFact::Failed(why) => Err(format!("could not probe {}: {why}", request(probe))),
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

/// Pure: the outcome against the expectation.
pub fn judge(probe: &Probe, expect: &Expect, outcome: &ProbeOutcome) -> Outcome {
    let mut wants = Vec::new();
    if let Some(e) = expect.error {
        wants.push(format!("fails: {e}"));
    }
    if expect.fails {
        wants.push("fails (a connection error or HTTP status 400 or more)".into());
    }
    if let Some(s) = expect.status {
        wants.push(format!("HTTP {s}"));
    }
    if let Some(b) = &expect.body_contains {
        wants.push(format!("body contains {b:?}"));
    }
    if wants.is_empty() {
        wants.push("succeeds (HTTP status below 400)".into());
    }
    let expected = format!("{}: {}", request(probe), wants.join(", "));
    let mesh_required = matches!(&probe.from, ProbeFrom::Pod(p) if p.mesh);
    if mesh_required && outcome.sidecar == Some(false) {
        return Outcome {
            passed: false,
            expected,
            actual: "the probe pod got no istio-proxy sidecar, so it was not inside the mesh"
                .into(),
        };
    }
    let (passed, actual) = match &outcome.reply {
        Reply::Failed { error, detail } => {
            let passed = expect.fails || expect.error == Some(*error);
            (passed, failure_text(*error, detail))
        }
        Reply::Http { status, body } => {
            let status_ok = match expect.status {
                Some(want) => *status == want,
                None if expect.fails => *status >= 400,
                None => expect.error.is_none() && *status < 400,
            };
            let body_ok = expect
                .body_contains
                .as_ref()
                .is_none_or(|b| body.contains(b.as_str()));
            let mut actual = format!("HTTP {status}");
            if !body_ok || (!status_ok && !body.trim().is_empty()) {
                actual.push_str(&format!(", body {}", excerpt(body)));
            }
            (status_ok && body_ok, actual)
        }
    };
    Outcome {
        passed,
        expected,
        actual,
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
    use crate::spec::lab::{HttpRequest, ProbePod};
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

    fn http(status: u16, body: &str) -> ProbeOutcome {
        ProbeOutcome {
            reply: Reply::Http {
                status,
                body: body.into(),
            },
            sidecar: Some(false),
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

    fn expect(f: impl FnOnce(&mut Expect)) -> Expect {
        let mut e = Expect::default();
        f(&mut e);
        e
    }

    #[test]
    fn status_and_body() {
        let p = pod_probe(false);
        let e = expect(|e| {
            e.status = Some(200);
            e.body_contains = Some("Contoso Pet Store".into());
        });
        let ok = judge(&p, &e, &http(200, "<title>Contoso Pet Store</title>"));
        assert!(ok.passed);
        assert_eq!(ok.actual, "HTTP 200");
        assert_eq!(
            ok.expected,
            "GET http://product-service.pets:3002/ from a probe pod in default (outside the mesh): HTTP 200, body contains \"Contoso Pet Store\""
        );
        let wrong_body = judge(&p, &e, &http(200, "<h1>Welcome to nginx!</h1>\n"));
        assert!(!wrong_body.passed);
        assert_eq!(
            wrong_body.actual,
            "HTTP 200, body \"<h1>Welcome to nginx!</h1>\""
        );
        let wrong_status = judge(&p, &e, &http(503, "no healthy upstream"));
        assert!(!wrong_status.passed);
        assert_eq!(
            wrong_status.actual,
            "HTTP 503, body \"no healthy upstream\""
        );
        let refused = judge(&p, &e, &failed(ConnError::Refused));
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
        let e = expect(|e| e.fails = true);
        assert!(judge(&p, &e, &failed(ConnError::Reset)).passed);
        assert!(judge(&p, &e, &failed(ConnError::Timeout)).passed);
        assert!(judge(&p, &e, &http(502, "")).passed);
        let got_in = judge(&p, &e, &http(200, "ok"));
        assert!(!got_in.passed);
        assert_eq!(got_in.actual, "HTTP 200, body \"ok\"");
    }

    #[test]
    fn a_named_error_must_be_that_error() {
        let p = pod_probe(false);
        let e = expect(|e| e.error = Some(ConnError::Reset));
        assert!(judge(&p, &e, &failed(ConnError::Reset)).passed);
        assert!(!judge(&p, &e, &failed(ConnError::Refused)).passed);
        assert!(!judge(&p, &e, &http(502, "")).passed);
        assert_eq!(
            judge(&p, &e, &http(200, "")).expected,
            "GET http://product-service.pets:3002/ from a probe pod in default (outside the mesh): fails: connection reset"
        );
    }

    #[test]
    fn no_expectation_means_success() {
        let p = pod_probe(false);
        let e = Expect::default();
        assert!(judge(&p, &e, &http(301, "")).passed);
        assert!(!judge(&p, &e, &http(404, "")).passed);
        assert!(!judge(&p, &e, &failed(ConnError::Dns)).passed);
    }

    #[test]
    fn a_mesh_probe_without_sidecar_fails_whatever_it_got() {
        let p = pod_probe(true);
        let e = expect(|e| e.status = Some(200));
        let o = judge(&p, &e, &http(200, ""));
        assert!(!o.passed);
        assert!(o.actual.contains("no istio-proxy sidecar"), "{}", o.actual);
        let mut with = http(200, "");
        with.sidecar = Some(true);
        assert!(judge(&p, &e, &with).passed);
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
