//! Resolving and linting the `probe:` of a check (see `model::ProbeDecl`): where the request is
//! made from, what it asks for, and which `expect` fields make sense for it. Values may hold
//! `{{ variables }}`; they are checked with the lab's sample values, like label selectors.

use crate::labfile::diag::Diagnostic;
use crate::labfile::kinds::lint::Lint;
use crate::labfile::kinds::probe::model::{
    HttpDecl, HttpRequest, HttpTarget, PortDecl, Probe, ProbeDecl, ProbeExec, ProbeExpect,
    ProbeFrom, ProbePod,
};
use crate::labfile::model::ExpectDecl;
use serde_saphyr::Spanned;
use std::time::Duration;

/// The image a probe pod runs when the lab names none: small, with `sh` and `curl`.
pub const DEFAULT_IMAGE: &str = "curlimages/curl:8.11.1";
/// How long a probe may take, probe pod start-up (image pull) included.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(60);

impl Lint<'_> {
    /// Resolve a probe; `timeout` is the already-parsed `timeout:` (or the default).
    pub fn probe(&mut self, decl: &Spanned<ProbeDecl>, timeout: Duration) -> Option<Probe> {
        let p = &decl.value;
        let from = match (&p.pod, &p.exec) {
            (Some(_), Some(exec)) => {
                // A block mapping's span starts at its first key; point at `exec:` itself.
                let (line, col) =
                    key_at_or_before(self.text, exec.referenced.line() as u32, "exec").unwrap_or((
                        exec.referenced.line() as u32,
                        exec.referenced.column() as u32,
                    ));
                let d = Diagnostic::at(
                    self.file,
                    self.text,
                    line,
                    col,
                    "a probe runs from `pod` or from `exec`, not both",
                )
                .underline_token();
                self.diags.push(d.help(
                    "`pod`: a short-lived pod labctl creates; `exec`: a pod that already runs; neither: labctl itself",
                ));
                return None;
            }
            (Some(pod), None) => ProbeFrom::Pod(ProbePod {
                namespace: pod.value.namespace.clone(),
                image: pod
                    .value
                    .image
                    .clone()
                    .unwrap_or_else(|| DEFAULT_IMAGE.to_owned()),
                mesh: pod.value.mesh,
            }),
            (None, Some(exec)) => {
                let labels = &exec.value.labels;
                if let Err(e) = crate::labfile::selector::parse(&self.sample(&labels.value)) {
                    let d = self.at(labels, format!("invalid label selector: {e}"));
                    self.diags.push(d);
                }
                ProbeFrom::Exec(ProbeExec {
                    namespace: exec.value.namespace.clone(),
                    labels: labels.value.clone(),
                    container: exec.value.container.clone(),
                })
            }
            (None, None) => ProbeFrom::Labctl,
        };
        if timeout.is_zero() {
            let d = self.at(decl, "a probe's `timeout` must be at least 1s");
            self.diags.push(d);
        }
        let http = self.http(&p.http, &from)?;
        Some(Probe {
            from,
            http,
            timeout,
        })
    }

    fn http(&mut self, decl: &Spanned<HttpDecl>, from: &ProbeFrom) -> Option<HttpRequest> {
        let h = &decl.value;
        let target = match (&h.url, &h.service) {
            (Some(url), None) => {
                let sample = self.sample(&url.value);
                let scheme_ok = sample.starts_with("http://")
                    || (sample.starts_with("https://") && *from != ProbeFrom::Labctl);
                if !scheme_ok {
                    let help = if *from == ProbeFrom::Labctl {
                        "labctl's own requests are plain HTTP: write http://HOST[:PORT]/PATH"
                    } else {
                        "write http://HOST[:PORT]/PATH or https://…"
                    };
                    let d = self.at(url, format!("`{}` is not an HTTP URL", url.value));
                    self.diags.push(d.help(help));
                }
                HttpTarget::Url(url.value.clone())
            }
            (None, Some(svc)) => HttpTarget::Service {
                namespace: svc.namespace.clone(),
                name: svc.name.clone(),
            },
            _ => {
                let d = self.at(decl, "`http` takes exactly one of `url` and `service`");
                self.diags.push(d.help(
                    "`url: http://…` names the address; `service: {namespace, name}` uses a LoadBalancer Service's external address",
                ));
                return None;
            }
        };
        let port = match &h.port {
            None => None,
            Some(PortDecl::Number(n)) => Some(n.to_string()),
            Some(PortDecl::Text(t)) => {
                if self.sample(t).parse::<u16>().is_err() {
                    let d = self.at(decl, format!("`port: {t}` is not a port number"));
                    self.diags.push(d.help("write a number from 1 to 65535"));
                }
                Some(t.clone())
            }
        };
        let path = match &h.path {
            Some(p) if !p.value.starts_with('/') => {
                let d = self
                    .at(p, format!("path `{}` must start with `/`", p.value))
                    .underline_token();
                self.diags.push(d);
                p.value.clone()
            }
            Some(p) => p.value.clone(),
            None => String::new(),
        };
        if matches!(target, HttpTarget::Url(_)) && !path.is_empty() {
            let d = self.at(decl, "`path` goes with `service`; put it in the `url`");
            self.diags.push(d);
        }
        Some(HttpRequest { target, port, path })
    }

    /// `probe:` with its `timeout:` (or the default).
    pub fn probe_target(&mut self, decl: &Spanned<ProbeDecl>) -> Option<Probe> {
        let timeout = self.duration(decl.value.timeout.as_ref(), DEFAULT_TIMEOUT);
        self.probe(decl, timeout)
    }

    /// The probe fields of `expect:` (see [`expect_fields`]), linted.
    pub fn probe_expect(&mut self, line: u32, col: u32, e: Option<&ExpectDecl>) -> ProbeExpect {
        let Some(e) = e else {
            return ProbeExpect::default();
        };
        self.expect(line, col, e);
        // Combinations were reported above; the first that is set wins.
        if e.reached == Some(true) {
            ProbeExpect::Reached
        } else if let Some(errs) = &e.error {
            ProbeExpect::Error(errs.0.clone())
        } else if e.fails == Some(true) {
            ProbeExpect::Fails
        } else {
            ProbeExpect::Reply {
                status: e.status.as_ref().map(|s| s.value),
                body_contains: e.body_contains.clone(),
            }
        }
    }

    /// Probe expectations that contradict each other.
    fn expect(&mut self, line: u32, col: u32, e: &ExpectDecl) {
        let fails = e.fails == Some(true);
        // Point at `status:` when it is part of the contradiction, else at the check.
        let (line, col) = e.status.as_ref().map_or((line, col), |s| {
            (s.referenced.line() as u32, s.referenced.column() as u32)
        });
        let mut push = |msg: &str, help: &str| {
            let d = Diagnostic::at(self.file, self.text, line, col, msg);
            self.diags.push(d.help(help.to_owned()));
        };
        if fails && (e.status.is_some() || e.body_contains.is_some()) {
            push(
                "`fails: true` cannot be combined with `status` or `bodyContains`",
                "`fails: true` passes on any connection error or a status of 400 or more; to require one status (e.g. 502), write only `status: 502`",
            );
        }
        if e.error.is_some() && (e.status.is_some() || e.body_contains.is_some() || fails) {
            push(
                "`error` cannot be combined with `status`, `bodyContains` or `fails`",
                "`error: reset` already says the request must fail, and how",
            );
        }
        if e.reached == Some(true)
            && (e.status.is_some() || e.body_contains.is_some() || fails || e.error.is_some())
        {
            push(
                "`reached: true` cannot be combined with `status`, `bodyContains`, `fails` or `error`",
                "`reached: true` passes on any HTTP status or a certificate the client does not trust; to require a status, write only `status: 200`",
            );
        }
        if e.error.as_ref().is_some_and(|errs| errs.0.is_empty()) {
            push(
                "`error` names no failure kind",
                "name the failure the mechanism produces, e.g. `error: [reset, empty]`",
            );
        }
        if let Some(s) = &e.status
            && !(100..=599).contains(&s.value)
        {
            let d = self.at(s, format!("`{}` is not an HTTP status", s.value));
            self.diags.push(d.underline_token());
        }
    }
}

/// The `expect:` fields a probe check takes, in the order the help lists them.
pub const EXPECT_HELP: &str = "status, bodyContains, error, reached, fails";

/// Which of a probe check's `expect:` fields are set, by name (for "does not apply").
pub fn expect_fields(e: &ExpectDecl) -> [(bool, &'static str); 5] {
    [
        (e.status.is_some(), "status"),
        (e.body_contains.is_some(), "bodyContains"),
        (e.fails.is_some(), "fails"),
        (e.error.is_some(), "error"),
        (e.reached.is_some(), "reached"),
    ]
}

/// The line and column of `key:` on `line` or the closest line above it.
fn key_at_or_before(text: &str, line: u32, key: &str) -> Option<(u32, u32)> {
    let lines: Vec<&str> = text.lines().collect();
    (0..(line as usize).min(lines.len())).rev().find_map(|i| {
        let l = lines[i];
        let trimmed = l.trim_start();
        trimmed
            .strip_prefix(key)
            .is_some_and(|rest| rest.starts_with(':'))
            .then(|| (i as u32 + 1, (l.len() - trimmed.len()) as u32 + 1))
    })
}
