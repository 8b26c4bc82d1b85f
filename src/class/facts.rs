//! What one learner's checks see in a class report: the objects fetched for their cluster —
//! and, on a cluster shared by several learners, no other learner's work. A lab's cluster-wide
//! query (a diagnosis such as "store-front landed in another namespace") would otherwise find
//! every other learner's store-front, and each learner would pay for scanning all of them. So a
//! learner's all-namespaces lists hold the objects of their own namespaces and of namespaces
//! that belong to no learner (`kube-system`, `istio-system`, ...), nothing else. Command checks
//! and probes are not run (see [`NOT_RUN`], [`PROBES_NOT_RUN`]).
//!
//! The class's objects are held as text ([`fetch`](super::fetch)); a learner's facts parse their
//! own lists when they are made and free them when dropped, after the learner is graded, so only
//! the learners being graded (one per grading thread) have parsed objects at any time.

use super::fetch::{Fetched, RawObject};
use crate::eval::facts::{CommandFact, Facts, ProbeFact};
use crate::view::objects::{FetchError, ObjectSet};
use crate::view::query::Query;
use serde_json::Value;
use std::collections::BTreeSet;

/// Why command checks are skipped in a class report: they would run on the instructor's
/// machine, against the wrong cluster, and need the learners' credentials.
pub const NOT_RUN: &str = "not run in class reports";
/// Why probes are skipped: a class report only reads (probe pods would write to 200 clusters
/// at once, and `labctl grade` on one learner runs them).
pub const PROBES_NOT_RUN: &str = "probes are not run in class reports";

/// A learner's lists, parsed from the class's fetched text for their grading only (see
/// [`fetch`](super::fetch)): a few learners' objects are parsed at a time, never the class's.
pub struct LearnerFacts {
    /// The learner's queries; all-namespaces lists with other learners' namespaces left out.
    set: ObjectSet,
}

impl LearnerFacts {
    /// `shared`: every namespace the learners on this cluster query, when there are several.
    pub fn new(
        fetched: &Fetched,
        queries: &BTreeSet<Query>,
        shared: Option<&BTreeSet<String>>,
    ) -> Self {
        let mine: BTreeSet<&str> = queries
            .iter()
            .filter_map(|q| q.namespace.as_deref())
            .collect();
        let foreign = |ns: &str| shared.is_some_and(|all| all.contains(ns) && !mine.contains(ns));
        let mut set = ObjectSet::default();
        for q in queries {
            let visible = |o: &&RawObject| match (&*o.namespace, q.namespace.as_deref()) {
                (_, Some(_)) => true,
                // Cluster-scoped: a Namespace object is another learner's if its name is.
                ("", None) if q.kind == "Namespace" => !foreign(&o.name),
                ("", None) => true,
                (ns, None) => !foreign(ns),
            };
            let res = fetched
                .get(q)
                .and_then(|items| items.iter().filter(visible).map(RawObject::parse).collect());
            set.insert(q.clone(), res);
        }
        LearnerFacts { set }
    }
}

impl Facts for LearnerFacts {
    fn list(&self, query: &Query) -> Result<&[Value], FetchError> {
        self.set.get(query)
    }
    fn run(&self, _: &crate::labfile::lab::Command) -> CommandFact {
        CommandFact::Unavailable(NOT_RUN.to_owned())
    }
    fn probe(&self, _: &crate::labfile::lab::Probe) -> ProbeFact {
        ProbeFact::Unavailable(PROBES_NOT_RUN.to_owned())
    }
    fn distribution(
        &self,
        _: &crate::labfile::kinds::distribution::model::DistributionBody,
    ) -> crate::eval::distribution::DistributionFact {
        crate::eval::distribution::DistributionFact::Unavailable(PROBES_NOT_RUN.to_owned())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn q(kind: &str, ns: Option<&str>) -> Query {
        Query {
            api_version: "v1".into(),
            kind: kind.into(),
            namespace: ns.map(str::to_owned),
        }
    }

    #[test]
    fn other_learners_namespaces_are_invisible() {
        let mut set = ObjectSet::default();
        let deploy = |ns: &str| json!({"metadata": {"namespace": ns, "name": "store-front"}});
        set.insert(
            q("Deployment", None),
            Ok(vec![
                deploy("kube-system"),
                deploy("pets-a"),
                deploy("pets-b"),
            ]),
        );
        let ns = |n: &str| json!({"metadata": {"name": n}});
        set.insert(
            q("Namespace", None),
            Ok(vec![ns("kube-system"), ns("pets-a"), ns("pets-b")]),
        );
        let fetched = Fetched::from_set(set);
        let mine: BTreeSet<Query> = [
            q("Deployment", None),
            q("Namespace", None),
            q("Pod", Some("pets-a")),
        ]
        .into();
        let all: BTreeSet<String> = ["pets-a".to_owned(), "pets-b".to_owned()].into();
        let facts = LearnerFacts::new(&fetched, &mine, Some(&all));
        let names = |kind: &str| -> Vec<String> {
            facts
                .list(&q(kind, None))
                .unwrap()
                .iter()
                .map(|o| {
                    format!(
                        "{}/{}",
                        o["metadata"]["namespace"].as_str().unwrap_or(""),
                        o["metadata"]["name"].as_str().unwrap()
                    )
                })
                .collect()
        };
        assert_eq!(
            names("Deployment"),
            ["kube-system/store-front", "pets-a/store-front"]
        );
        assert_eq!(names("Namespace"), ["/kube-system", "/pets-a"]);
        // Alone on a cluster, a learner sees everything.
        let alone = LearnerFacts::new(&fetched, &mine, None);
        assert_eq!(alone.list(&q("Deployment", None)).unwrap().len(), 3);
        assert!(
            matches!(alone.run(&crate::labfile::lab::Command { run: "true".into(), timeout: std::time::Duration::from_secs(1) }), CommandFact::Unavailable(r) if r == NOT_RUN)
        );
    }
}
