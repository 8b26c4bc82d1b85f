//! Class statistics: per step how many learners finished it and how many are on it, and among
//! those on it the most common failing check with its most common diagnosis — the thing to
//! explain to the room.

use super::report::{ClassReport, LearnerResult};
use crate::eval::result::{CheckResult, Found};
use serde::Serialize;
use std::collections::BTreeMap;

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Summary {
    pub learners: usize,
    pub graded: usize,
    pub unreachable: usize,
    pub errors: usize,
    /// Learners who finished every step.
    pub done: usize,
    pub steps: Vec<StepStats>,
    /// The step most learners are on, with its most common failure (if any learner is stuck).
    pub headline: Option<usize>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct StepStats {
    pub id: String,
    pub title: String,
    /// Learners for whom this step passes.
    pub finished: usize,
    /// Learners whose first unfinished step this is.
    pub current: usize,
    pub top_failure: Option<TopFailure>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TopFailure {
    pub check: String,
    pub title: String,
    /// Learners on this step that fail this check.
    pub learners: usize,
    /// The diagnosis found most often for it, and for how many of them.
    pub diagnosis: Option<Found>,
    pub diagnosed: usize,
    /// The learner whose failure is shown (texts name their namespaces).
    pub example: String,
    /// The check's own fix, for when no diagnosis matched.
    pub fix: Option<String>,
}

/// `1 learner`, `2 learners`.
pub fn learners(n: usize) -> String {
    if n == 1 {
        "1 learner".into()
    } else {
        format!("{n} learners")
    }
}

pub fn summarize(report: &ClassReport) -> Summary {
    let n = report.steps.len();
    let ls = &report.learners;
    let mut steps: Vec<StepStats> = report
        .steps
        .iter()
        .enumerate()
        .map(|(i, s)| {
            let on: Vec<&LearnerResult> = ls.iter().filter(|l| l.current() == Some(i)).collect();
            StepStats {
                id: s.id.clone(),
                title: s.title.clone(),
                finished: ls.iter().filter(|l| passes(l, i)).count(),
                current: on.len(),
                top_failure: top_failure(&on),
            }
        })
        .collect();
    steps.truncate(n);
    let headline = steps
        .iter()
        .enumerate()
        .filter(|(_, s)| s.current > 0 && s.top_failure.is_some())
        // Most learners on it; on a tie, the earlier step (it blocks more of the lab).
        .max_by(|(ia, a), (ib, b)| a.current.cmp(&b.current).then(ib.cmp(ia)))
        .map(|(i, _)| i);
    Summary {
        learners: ls.len(),
        graded: ls.iter().filter(|l| l.report().is_some()).count(),
        unreachable: ls
            .iter()
            .filter(|l| matches!(l.outcome, super::report::Outcome::Unreachable { .. }))
            .count(),
        errors: ls
            .iter()
            .filter(|l| matches!(l.outcome, super::report::Outcome::Error { .. }))
            .count(),
        done: ls.iter().filter(|l| l.is_done()).count(),
        steps,
        headline,
    }
}

fn passes(l: &LearnerResult, i: usize) -> bool {
    l.cells(i + 1).get(i) == Some(&super::report::Cell::Passed)
}

/// The key seen most often, then the one whose items say most (`weight`), then the first seen
/// (the lab's order of checks); with its count.
fn most_common<T, K: Ord + Clone>(
    items: &[T],
    key: impl Fn(&T) -> K,
    weight: impl Fn(&T) -> usize,
) -> Option<(K, usize)> {
    let mut counts: BTreeMap<K, (usize, usize, usize)> = BTreeMap::new();
    for (order, item) in items.iter().enumerate() {
        let e = counts
            .entry(key(item))
            .or_insert((0, 0, usize::MAX - order));
        e.0 += 1;
        e.1 += weight(item);
    }
    counts
        .into_iter()
        .max_by_key(|(_, c)| *c)
        .map(|(k, (n, _, _))| (k, n))
}

fn top_failure(on: &[&LearnerResult]) -> Option<TopFailure> {
    let blocking: Vec<(&str, &CheckResult)> = on
        .iter()
        .flat_map(|l| l.blocking().into_iter().map(|c| (l.name.as_str(), c)))
        .collect();
    // Of two checks that fail as often, the one with a known cause is the one to explain.
    let (check, learners) =
        most_common(&blocking, |(_, c)| c.id.clone(), |(_, c)| c.diagnoses.len())?;
    let failing: Vec<_> = blocking.iter().filter(|(_, c)| c.id == check).collect();
    let found: Vec<(&str, &Found)> = failing
        .iter()
        .flat_map(|(l, c)| c.diagnoses.iter().map(move |d| (*l, d)))
        .collect();
    let diag = most_common(&found, |(_, d)| d.id.clone(), |_| 0);
    let diagnosed = diag
        .as_ref()
        .and_then(|(id, _)| found.iter().find(|(_, d)| &d.id == id));
    // Texts name the learner's namespaces: show the check as the example learner sees it.
    let example = diagnosed.map_or(failing[0].0, |(l, _)| l);
    let (_, first) = failing
        .iter()
        .find(|(l, _)| *l == example)
        .unwrap_or(&failing[0]);
    Some(TopFailure {
        check,
        title: first.title.clone(),
        learners,
        diagnosis: diagnosed.map(|(_, d)| (*d).clone()),
        diagnosed: diag.map_or(0, |(_, n)| n),
        example: example.to_owned(),
        fix: first.fix.clone(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::class::report::Outcome;
    use crate::class::report::tests::{class, graded};
    use crate::eval::result::Status::{Failed as F, Passed as P};

    fn with_diagnosis(
        mut l: LearnerResult,
        step: usize,
        check: &str,
        diag: Option<&str>,
    ) -> LearnerResult {
        if let Outcome::Graded { report } = &mut l.outcome {
            let c = &mut std::sync::Arc::make_mut(report).steps[step].checks[0];
            c.id = check.into();
            c.diagnoses = diag
                .map(|d| Found {
                    id: d.into(),
                    cause: format!("cause of {d}"),
                    fix: format!("fix {d}"),
                })
                .into_iter()
                .collect();
        }
        l
    }

    #[test]
    fn counts_steps_and_finds_what_to_explain() {
        let report = class(vec![
            graded("done", &[P, P, P]),
            with_diagnosis(graded("a", &[P, F, F]), 1, "label", Some("wrong-label")),
            with_diagnosis(graded("b", &[P, F, F]), 1, "label", Some("wrong-label")),
            with_diagnosis(graded("c", &[P, F, F]), 1, "label", None),
            with_diagnosis(graded("d", &[F, F, F]), 0, "istiod", Some("pending")),
        ]);
        let s = summarize(&report);
        assert_eq!((s.learners, s.graded, s.done), (5, 5, 1));
        let finished: Vec<usize> = s.steps.iter().map(|x| x.finished).collect();
        let current: Vec<usize> = s.steps.iter().map(|x| x.current).collect();
        assert_eq!((finished, current), (vec![4, 1, 1], vec![1, 3, 0]));
        assert_eq!(s.headline, Some(1));
        let top = s.steps[1].top_failure.as_ref().unwrap();
        assert_eq!(
            (top.check.as_str(), top.learners, top.diagnosed),
            ("label", 3, 2)
        );
        assert_eq!(top.diagnosis.as_ref().unwrap().id, "wrong-label");
        assert_eq!(s.steps[2].top_failure, None);
    }
}
