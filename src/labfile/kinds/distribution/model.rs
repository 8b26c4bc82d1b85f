//! A `distribution:` check as written (`DistributionDecl`) and validated (`DistributionBody`):
//! send `requests` requests the way a probe sends one, read each answer's version from a
//! response header or a body marker, and compare the counts with `expect.weights`.

use crate::labfile::kinds::probe::model::{HttpDecl, Probe, ProbeExecDecl, ProbePodDecl};
use serde::Deserialize;
use serde_saphyr::Spanned;
use std::collections::BTreeMap;

type S = Spanned<String>;

/// A distribution probe as written: where from and which request exactly as a `probe:`
/// (`pod`/`exec`/neither, `http`, `timeout`), plus how many requests, how an answer names its
/// version (`by`), and the split it must show (`expect.weights`).
#[derive(Debug, Deserialize, Clone)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct DistributionDecl {
    #[serde(default)]
    pub pod: Option<Spanned<ProbePodDecl>>,
    #[serde(default)]
    pub exec: Option<Spanned<ProbeExecDecl>>,
    pub http: Spanned<HttpDecl>,
    #[serde(default)]
    pub timeout: Option<S>,
    pub requests: Spanned<u32>,
    pub by: Spanned<MarkerDecl>,
    pub expect: Spanned<DistributionExpectDecl>,
}

/// `by: {header: x-version}` or `by: {body: 'version: (v\d+)'}`.
#[derive(Debug, Deserialize, Clone)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct MarkerDecl {
    #[serde(default)]
    pub header: Option<S>,
    #[serde(default)]
    pub body: Option<S>,
}

/// `expect: {weights: {v1: 90, v2: 10}}`: percent per version.
#[derive(Debug, Deserialize, Clone)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct DistributionExpectDecl {
    pub weights: Spanned<BTreeMap<String, Spanned<i64>>>,
}

/// A distribution check: `requests` times `probe`'s request, each answer's version read `by`,
/// the counts judged against `weights`. Ordered, so that live grading can key its results by
/// it (two checks with the same distribution send it once).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct DistributionBody {
    /// The request, where from, and the timeout of the whole run of requests.
    pub probe: Probe,
    pub requests: u32,
    pub by: Marker,
    /// Percent per version (they sum to 100), in the order written (sorted by name).
    pub weights: Vec<(String, u32)>,
}

/// Where an answer names its version.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Marker {
    /// The value of this response header.
    Header(String),
    /// The first group of this regular expression, matched on the body.
    Body(String),
}

impl std::fmt::Display for Marker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Marker::Header(h) => write!(f, "header {h}"),
            Marker::Body(re) => write!(f, "body marker /{re}/"),
        }
    }
}
