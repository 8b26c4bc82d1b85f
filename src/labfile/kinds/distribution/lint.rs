//! Linting a `distribution:` check (see `model::DistributionDecl`): the request as a probe's,
//! and a split that can be measured: integer weights that sum to 100, 1 to 1000 requests, and
//! at least [`MIN_EXPECTED`] expected answers for every version that should get any (below
//! that, chance alone decides the count and the test says nothing).

use crate::labfile::kinds::distribution::model::{DistributionBody, DistributionDecl, Marker};
use crate::labfile::kinds::lint::Lint;
use crate::labfile::kinds::probe::model::ProbeDecl;
use serde_saphyr::Spanned;
use std::time::Duration;

/// The most requests one check may send (it runs in one exec or probe pod).
pub const MAX_REQUESTS: u32 = 1000;
/// The fewest answers a version with a positive weight must expect (`requests × weight / 100`):
/// the usual rule for the normal approximation to the binomial that the evaluation uses.
pub const MIN_EXPECTED: u32 = 5;
/// How long the whole run of requests may take, probe pod start-up included.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(120);

/// `distribution:` linted into a body; `None` when the request itself cannot be made.
pub fn distribution(lint: &mut Lint, decl: &Spanned<DistributionDecl>) -> Option<DistributionBody> {
    let d = &decl.value;
    let requests = d.requests.value;
    if !(1..=MAX_REQUESTS).contains(&requests) {
        let diag = lint.at(
            &d.requests,
            format!("`requests: {requests}` must be from 1 to {MAX_REQUESTS}"),
        );
        lint.diags.push(diag.underline_token());
    }
    let by = marker(lint, d);
    let weights = weights(lint, d, requests);
    // The request is a probe's: same forms, same lints.
    let timeout = lint.duration(d.timeout.as_ref(), DEFAULT_TIMEOUT);
    let as_probe = Spanned::new(
        ProbeDecl {
            pod: d.pod.clone(),
            exec: d.exec.clone(),
            http: d.http.clone(),
            timeout: d.timeout.clone(),
        },
        decl.referenced,
        decl.defined,
    );
    let probe = lint.probe(&as_probe, timeout)?;
    Some(DistributionBody {
        probe,
        requests,
        by: by?,
        weights,
    })
}

/// `by:`: exactly one of `header` and `body`; a body marker is a regular expression with one
/// group (the version).
fn marker(lint: &mut Lint, d: &DistributionDecl) -> Option<Marker> {
    match (&d.by.value.header, &d.by.value.body) {
        (Some(h), None) => {
            // An HTTP field name is a token (RFC 9110, 5.1); anything else cannot come back.
            let name = lint.sample(&h.value);
            let token = |c: char| c.is_ascii_alphanumeric() || "!#$%&'*+-.^_`|~".contains(c);
            if name.is_empty() || !name.chars().all(token) {
                let diag = lint.at(h, format!("`header: {}` is not a header name", h.value));
                lint.diags
                    .push(diag.help("write the name alone, e.g. `header: x-version`"));
            }
            Some(Marker::Header(h.value.clone()))
        }
        (None, Some(re)) => {
            match regex::Regex::new(&lint.sample(&re.value)) {
                Ok(r) if r.captures_len() == 2 => {}
                Ok(_) => {
                    let diag = lint.at(re, "`body` needs exactly one group `( … )`: the version");
                    lint.diags
                        .push(diag.help("e.g. `body: 'version: (v[0-9]+)'`"));
                }
                Err(e) => {
                    let diag = lint.at(re, "`body` is not a regular expression");
                    lint.diags.push(diag.help(e.to_string()));
                }
            }
            Some(Marker::Body(re.value.clone()))
        }
        _ => {
            let diag = lint.at(&d.by, "`by` takes exactly one of `header` and `body`");
            lint.diags.push(diag.help(
                "`header: x-version` reads a response header; `body: 'version: (v[0-9]+)'` reads the group of a regular expression",
            ));
            None
        }
    }
}

/// `expect.weights`: percentages from 0 to 100 that sum to 100, each measurable.
fn weights(lint: &mut Lint, d: &DistributionDecl, requests: u32) -> Vec<(String, u32)> {
    let written = &d.expect.value.weights;
    if written.value.is_empty() {
        let diag = lint.at(written, "`weights` names no version");
        lint.diags
            .push(diag.help("e.g. `weights: {v1: 90, v2: 10}`"));
        return Vec::new();
    }
    let mut out = Vec::new();
    for (version, w) in &written.value {
        let Some(pct) = u32::try_from(w.value).ok().filter(|p| *p <= 100) else {
            let diag = lint.at(
                w,
                format!("weight `{version}: {}` is not a percentage", w.value),
            );
            lint.diags
                .push(diag.help("write a whole number from 0 to 100"));
            continue;
        };
        // `requests × pct / 100 < MIN_EXPECTED`, in integers.
        if pct > 0 && (1..=MAX_REQUESTS).contains(&requests) && requests * pct < MIN_EXPECTED * 100
        {
            let needed = (MIN_EXPECTED * 100).div_ceil(pct);
            let diag = lint.at(
                w,
                format!(
                    "`{version}: {pct}` expects {} of {requests} answers, fewer than {MIN_EXPECTED}: the split cannot be measured",
                    expected_count(requests, pct)
                ),
            );
            lint.diags.push(diag.help(format!(
                "send at least {needed} requests (`requests: {needed}`)"
            )));
        }
        out.push((version.clone(), pct));
    }
    let sum: i64 = written.value.values().map(|w| w.value).sum();
    if sum != 100 {
        let diag = lint.at(written, format!("weights sum to {sum}, not 100"));
        lint.diags.push(
            diag.help("weights are percentages of the requests, as in the VirtualService's route"),
        );
    }
    out
}

/// `requests × pct / 100` in words: "2" or "2.5".
fn expected_count(requests: u32, pct: u32) -> String {
    let tenths = requests * pct / 10;
    if tenths.is_multiple_of(10) {
        (tenths / 10).to_string()
    } else {
        format!("{}.{}", tenths / 10, tenths % 10)
    }
}
