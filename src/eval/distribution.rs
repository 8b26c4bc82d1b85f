//! Distribution checks: judge N recorded answers against the weights of a traffic split (a
//! canary's 90/10). Pure over the answers; sending the requests is the live grader's job
//! (`probe::distribution`, run by `probe::run::Prober` with the probes), and a grader that does
//! not send (a snapshot, `--no-probes`, a class report) reports them unavailable, which skips.
//!
//! The tolerance: each version's count is binomial(n, p) with p its weight. With the normal
//! approximation, the observed share p̂ passes when
//!
//! |p̂ − p| ≤ z·√(p(1−p)/n) + 1/(2n)
//!
//! (the last term is the continuity correction: counts are whole numbers). `z` is chosen so a
//! correctly configured split fails by chance at most [`FALSE_FAILURE`] of the time across all
//! m versions together (Bonferroni: each version's two-sided test gets FALSE_FAILURE / m, so
//! 1 − Φ(z) = FALSE_FAILURE / (2m); z ≈ 3.29 for m = 1, 3.48 for m = 2). The lint requires
//! n·p ≥ 5 for every positive weight, the usual condition for the approximation. A weight of 0
//! has no spread: the version must not answer (up to the continuity term). Answers without a
//! marker, from a version not in the weights, and failed requests are counted in n and in no
//! version, so they count against the pass; they are reported.

use crate::eval::command::Verdict;
use crate::eval::error::EvalError;
use crate::eval::facts::Facts;
use crate::eval::probe::request;
use crate::eval::resource::Outcome;
use crate::labfile::kinds::distribution::model::DistributionBody;
use std::collections::BTreeMap;

/// The chance that a correct split fails the check, across all its versions.
pub const FALSE_FAILURE: f64 = 0.001;

/// Why a distribution is skipped by a grader that does not send its requests and says nothing
/// more specific (snapshots, `--no-probes` and class reports give their probes' reasons).
pub const NOT_RUN: &str = "distribution probes are not run by this grader";

/// What one request got.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Answer {
    /// An answer naming this version (the header's value, the body marker's group).
    Marked(String),
    /// An answer without the header or body marker.
    Unmarked,
    /// The request failed (a connection error, a status of 400 or more): why.
    Failed(String),
}

/// What a distribution probe found: the answers, skipped on purpose, or could not be made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DistributionFact {
    Ran(Vec<Answer>),
    /// Not run on purpose; the reason is shown as a skip.
    Unavailable(String),
    /// Could not send the requests (no pod to exec into…): the check cannot be evaluated.
    Failed(String),
}

pub fn evaluate(body: &DistributionBody, facts: &dyn Facts) -> Result<Verdict, EvalError> {
    match facts.distribution(body) {
        DistributionFact::Ran(answers) if !answers.is_empty() => {
            Ok(Verdict::Judged(judge(body, &answers)))
        }
        DistributionFact::Ran(_) => Err(EvalError::ProbeFailed {
            request: request(&body.probe),
            why: "no answer was recorded".into(),
        }),
        DistributionFact::Unavailable(reason) => Ok(Verdict::Skipped(reason)),
        DistributionFact::Failed(why) => Err(EvalError::ProbeFailed {
            request: request(&body.probe),
            why,
        }),
    }
}

/// Pure: the answers against the weights (see the module docs for the tolerance).
pub fn judge(body: &DistributionBody, answers: &[Answer]) -> Outcome {
    let n = answers.len() as f64;
    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
    let (mut unmarked, mut failed, mut first_failure) = (0, 0, None);
    for a in answers {
        match a {
            Answer::Marked(v) => *counts.entry(v.as_str()).or_default() += 1,
            Answer::Unmarked => unmarked += 1,
            Answer::Failed(why) => {
                failed += 1;
                first_failure.get_or_insert(why.as_str());
            }
        }
    }
    let z = z_for(body.weights.len());
    let mut passed = true;
    let mut lines = Vec::new();
    for (version, pct) in &body.weights {
        let p = f64::from(*pct) / 100.0;
        let count = counts.get(version.as_str()).copied().unwrap_or(0);
        let share = count as f64 / n;
        let tol = tolerance(p, n, z);
        let ok = (share - p).abs() <= tol;
        passed &= ok;
        lines.push(format!(
            "{version}: {count} of {} = {:.1}% (wants {pct}% ± {:.1}){}",
            answers.len(),
            share * 100.0,
            tol * 100.0,
            if ok { "" } else { " ✗" }
        ));
    }
    let others: Vec<String> = counts
        .iter()
        .filter(|(v, _)| !body.weights.iter().any(|(w, _)| w == *v))
        .map(|(v, c)| format!("{v}: {c}"))
        .collect();
    if !others.is_empty() {
        lines.push(format!(
            "versions not in the weights: {}",
            others.join(", ")
        ));
    }
    if unmarked > 0 {
        lines.push(format!("answers without the {}: {unmarked}", body.by));
    }
    if let Some(why) = first_failure {
        lines.push(format!("failed requests: {failed} (first: {why})"));
    }
    let positive = body.weights.iter().filter(|(_, w)| *w > 0).count();
    let marked: usize = counts.values().sum();
    if !passed && positive > 1 && counts.len() == 1 && marked > 0 {
        let (only, _) = counts.iter().next().expect("one version");
        lines.insert(
            0,
            format!(
                "all {marked} marked answers came from {}: the weights are not applied (check that the VirtualService is bound to this host and its host matches)",
                only
            ),
        );
    } else if marked == 0 && unmarked > 0 {
        lines.insert(
            0,
            format!(
                "no answer carried the {}: check that every version sets it",
                body.by
            ),
        );
    }
    let weights: Vec<String> = body
        .weights
        .iter()
        .map(|(v, w)| format!("{v} {w}%"))
        .collect();
    Outcome {
        passed,
        expected: format!(
            "{} ×{}, versions by {}: {} (each share within z·√(p(1−p)/n) + 1/(2n), z = {z:.2})",
            request(&body.probe),
            body.requests,
            body.by,
            weights.join(", ")
        ),
        actual: lines.join("\n"),
    }
}

/// The allowed distance of a share from `p` over `n` answers (see the module docs).
pub fn tolerance(p: f64, n: f64, z: f64) -> f64 {
    z * (p * (1.0 - p) / n).sqrt() + 1.0 / (2.0 * n)
}

/// `z` with 1 − Φ(z) = FALSE_FAILURE / (2m) for `m` versions, by bisection on the normal tail.
pub fn z_for(m: usize) -> f64 {
    let target = FALSE_FAILURE / (2.0 * m.max(1) as f64);
    let (mut lo, mut hi) = (0.0_f64, 10.0_f64);
    for _ in 0..100 {
        let mid = (lo + hi) / 2.0;
        if upper_tail(mid) > target {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    (lo + hi) / 2.0
}

/// 1 − Φ(z) = erfc(z/√2)/2.
fn upper_tail(z: f64) -> f64 {
    erfc(z / std::f64::consts::SQRT_2) / 2.0
}

/// The complementary error function (Chebyshev fit, relative error below 1.2e-7: Press et al.,
/// Numerical Recipes, `erfcc`), plenty for choosing `z`.
fn erfc(x: f64) -> f64 {
    let t = 1.0 / (1.0 + 0.5 * x.abs());
    let poly = -x * x - 1.265_512_23
        + t * (1.000_023_68
            + t * (0.374_091_96
                + t * (0.096_784_18
                    + t * (-0.186_288_06
                        + t * (0.278_868_07
                            + t * (-1.135_203_98
                                + t * (1.488_515_87 + t * (-0.822_152_23 + t * 0.170_872_77))))))));
    let r = t * poly.exp();
    if x >= 0.0 { r } else { 2.0 - r }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::labfile::kinds::body::Body;
    use crate::labfile::kinds::body::tests::lint_yaml;

    const CANARY: &str = "id: canary\ndistribution:\n  pod: {namespace: pets}\n  http: {url: 'http://store-front.pets/'}\n  requests: 100\n  by: {header: x-version}\n  expect: {weights: {v1: 90, v2: 10}}\n";

    fn canary() -> DistributionBody {
        match lint_yaml(CANARY) {
            (Some(Body::Distribution(d)), m) if m.is_empty() => d,
            other => panic!("a distribution body: {other:?}"),
        }
    }

    fn answers(split: &[(&str, usize)]) -> Vec<Answer> {
        split
            .iter()
            .flat_map(|(v, n)| std::iter::repeat_n(Answer::Marked((*v).into()), *n))
            .collect()
    }

    #[test]
    fn z_is_computed_from_the_false_failure_rate() {
        assert!((z_for(1) - 3.2905).abs() < 1e-3, "{}", z_for(1));
        assert!((z_for(2) - 3.4808).abs() < 1e-3, "{}", z_for(2));
    }

    #[test]
    fn a_split_within_tolerance_passes() {
        let o = judge(&canary(), &answers(&[("v1", 88), ("v2", 12)]));
        assert!(o.passed, "{}", o.actual);
        assert!(o.actual.contains("v2: 12 of 100 = 12.0%"), "{}", o.actual);
    }

    /// Issue 14: "a fair split passes". A 50/50 canary answered 50/50, and the way chance
    /// spreads it: 43/57 is about 1.4 standard deviations out at N=100 (σ = 5 points).
    #[test]
    fn a_fair_split_passes() {
        let mut body = canary();
        body.weights = vec![("v1".into(), 50), ("v2".into(), 50)];
        for (v1, v2) in [(50, 50), (43, 57), (57, 43)] {
            let o = judge(&body, &answers(&[("v1", v1), ("v2", v2)]));
            assert!(o.passed, "{v1}/{v2}: {}", o.actual);
        }
        // And a 90/10 answered 90/10.
        let o = judge(&canary(), &answers(&[("v1", 90), ("v2", 10)]));
        assert!(o.passed, "{}", o.actual);
        // Far out of it fails: 30/70 is 4 σ.
        let o = judge(&body, &answers(&[("v1", 30), ("v2", 70)]));
        assert!(!o.passed, "{}", o.actual);
    }

    /// Issue 14: "a 50/50 split against 90/10 fails at N=100", with the counts in `actual`.
    #[test]
    fn an_even_split_against_90_10_fails() {
        assert_eq!(canary().requests, 100);
        let o = judge(&canary(), &answers(&[("v1", 50), ("v2", 50)]));
        assert!(!o.passed);
        assert!(
            o.actual.contains("v1: 50 of 100 = 50.0%") && o.actual.contains("v2: 50 of 100"),
            "{}",
            o.actual
        );
        assert!(
            !o.actual.contains("weights are not applied"),
            "{}",
            o.actual
        );
    }

    #[test]
    fn one_version_only_fails_with_the_diagnosis() {
        // At 100 requests a 10% version's tolerance (±10.9 points) cannot tell 10% from 0%;
        // at 200 (±7.6) it can.
        let at_100 = judge(&canary(), &answers(&[("v1", 100)]));
        assert!(at_100.passed, "{}", at_100.actual);
        let mut body = canary();
        body.requests = 200;
        let o = judge(&body, &answers(&[("v1", 200)]));
        assert!(!o.passed);
        assert!(
            o.actual
                .starts_with("all 200 marked answers came from v1: the weights are not applied"),
            "{}",
            o.actual
        );
    }

    #[test]
    fn unmarked_and_failed_answers_count_against_the_pass() {
        let mut a = answers(&[("v1", 70), ("v2", 10)]);
        a.extend(std::iter::repeat_n(Answer::Unmarked, 15));
        a.extend(std::iter::repeat_n(
            Answer::Failed("connection reset".into()),
            5,
        ));
        let o = judge(&canary(), &a);
        assert!(!o.passed, "{}", o.actual);
        assert!(
            o.actual
                .contains("answers without the header x-version: 15")
        );
        assert!(
            o.actual
                .contains("failed requests: 5 (first: connection reset)")
        );
    }

    #[test]
    fn a_grader_that_does_not_send_skips() {
        let facts = crate::eval::facts::StaticFacts::offline(Default::default(), "offline");
        assert_eq!(
            evaluate(&canary(), &facts),
            Ok(Verdict::Skipped(crate::eval::facts::PROBES_OFFLINE.into()))
        );
        // A source of facts that says nothing about distributions skips them too.
        struct Silent;
        impl Facts for Silent {
            fn list(
                &self,
                _: &crate::view::query::Query,
            ) -> Result<&[serde_json::Value], crate::view::objects::FetchError> {
                Ok(&[])
            }
            fn run(&self, _: &crate::labfile::lab::Command) -> crate::eval::facts::CommandFact {
                crate::eval::facts::CommandFact::Unavailable(String::new())
            }
            fn probe(&self, _: &crate::labfile::lab::Probe) -> crate::eval::facts::ProbeFact {
                crate::eval::facts::ProbeFact::Unavailable(String::new())
            }
        }
        assert_eq!(
            evaluate(&canary(), &Silent),
            Ok(Verdict::Skipped(NOT_RUN.into()))
        );
    }

    #[test]
    fn lint_wants_a_measurable_split() {
        let bad = CANARY
            .replace("v1: 90, v2: 10", "v1: 90, v2: 5")
            .replace("requests: 100", "requests: 50");
        let (_, msgs) = lint_yaml(&bad);
        assert_eq!(
            msgs,
            [
                "`v2: 5` expects 2.5 of 50 answers, fewer than 5: the split cannot be measured",
                "weights sum to 95, not 100"
            ]
        );
        let (_, msgs) = lint_yaml(&CANARY.replace("requests: 100", "requests: 0"));
        assert!(
            msgs[0].starts_with("`requests: 0` must be from 1 to 1000"),
            "{msgs:?}"
        );
        let (_, msgs) =
            lint_yaml(&CANARY.replace("{header: x-version}", "{header: 'x-version: v2'}"));
        assert_eq!(msgs, ["`header: x-version: v2` is not a header name"]);
        let (_, msgs) = lint_yaml(&CANARY.replace("{header: x-version}", "{body: 'v[0-9]+'}"));
        assert_eq!(
            msgs,
            ["`body` needs exactly one group `( … )`: the version"]
        );
    }
}
