//! What one learner's checks see in a class report: the objects fetched for their cluster —
//! and, on a cluster shared by several learners, no other learner's work. A lab's cluster-wide
//! query (a diagnosis such as "store-front landed in another namespace") would otherwise find
//! every other learner's store-front, and each learner would pay for scanning all of them. So a
//! learner's all-namespaces lists hold the objects of their own namespaces and of namespaces
//! that belong to no learner (`kube-system`, `istio-system`, ...), nothing else. Command checks
//! and probes are not run (see [`NOT_RUN`], [`PROBES_NOT_RUN`]).

use super::fetch::Fetched;
use crate::eval::facts::{CommandFact, Facts, ProbeFact};
use crate::view::objects::FetchError;
use crate::view::query::Query;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};

/// Why command checks are skipped in a class report: they would run on the instructor's
/// machine, against the wrong cluster, and need the learners' credentials.
pub const NOT_RUN: &str = "not run in class reports";
/// Why probes are skipped: a class report only reads (probe pods would write to 200 clusters
/// at once, and `labctl grade` on one learner runs them).
pub const PROBES_NOT_RUN: &str = "probes are not run in class reports";

pub struct LearnerFacts<'a> {
    fetched: &'a Fetched,
    /// All-namespaces lists with other learners' namespaces left out.
    own: BTreeMap<Query, Vec<Value>>,
}

impl<'a> LearnerFacts<'a> {
    /// `shared`: every namespace the learners on this cluster query, when there are several.
    pub fn new(
        fetched: &'a Fetched,
        queries: &BTreeSet<Query>,
        shared: Option<&BTreeSet<String>>,
    ) -> Self {
        let mut own = BTreeMap::new();
        if let Some(all) = shared {
            let mine: BTreeSet<&str> = queries
                .iter()
                .filter_map(|q| q.namespace.as_deref())
                .collect();
            let foreign = |ns: &str| all.contains(ns) && !mine.contains(ns);
            for q in queries.iter().filter(|q| q.namespace.is_none()) {
                let Ok(items) = fetched.get(q) else { continue };
                let kept = items
                    .iter()
                    .filter(|o| {
                        let meta = &o["metadata"];
                        match meta["namespace"].as_str() {
                            Some(ns) => !foreign(ns),
                            // Cluster-scoped: a Namespace object is another learner's if its name is.
                            None if q.kind == "Namespace" => {
                                !foreign(meta["name"].as_str().unwrap_or(""))
                            }
                            None => true,
                        }
                    })
                    .cloned()
                    .collect();
                own.insert(q.clone(), kept);
            }
        }
        LearnerFacts { fetched, own }
    }
}

impl Facts for LearnerFacts<'_> {
    fn list(&self, query: &Query) -> Result<&[Value], FetchError> {
        match self.own.get(query) {
            Some(items) => Ok(items),
            None => self.fetched.get(query),
        }
    }
    fn run(&self, _: &crate::spec::lab::Command) -> CommandFact {
        CommandFact::Unavailable(NOT_RUN.to_owned())
    }
    fn probe(&self, _: &crate::spec::lab::Probe) -> ProbeFact {
        ProbeFact::Unavailable(PROBES_NOT_RUN.to_owned())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::view::objects::ObjectSet;
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
            matches!(alone.run(&crate::spec::lab::Command { run: "true".into(), timeout: std::time::Duration::from_secs(1) }), CommandFact::Unavailable(r) if r == NOT_RUN)
        );
    }
}
