//! Variables read from the cluster (`discover:` in lab.yaml). A lab's pinned value ages (istio-aks:
//! the add-on's revisions come and go), while the cluster knows what it runs. A [`Resolver`] holds
//! what a plan is made from; it names the lists its discoveries need ([`Resolver::queries`], read
//! through the same fetch as the checks), then makes the plan with the values found
//! ([`Resolver::resolve`]). A variable given with `--var` is never discovered.
//!
//! Per variable: the selection's objects each yield a value (objects whose expression fails or
//! yields nothing are passed over: the label is simply not there). One value: it is used, and its
//! origin names the object. None: the lab's value stays, and the origin says nothing was found.
//! Several: `prefer` decides when the value it reads is one of them (istio-aks: the app
//! namespace's `istio.io/rev` during a canary upgrade); otherwise the grade cannot go on
//! ([`DiscoverError::Ambiguous`], exit 2), because guessing would grade the wrong revision.

use crate::cel;
use crate::eval::resource::{describe_selection, select};
use crate::labfile::lab::{Discover, Lab, Selector};
use crate::labfile::template;
use crate::plan::discover::{Discovered, Origin};
use crate::plan::resolve::{Plan, PlanError};
use crate::view::objects::{FetchError, ObjectSet};
use crate::view::query::Query;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum DiscoverError {
    #[error(
        "found {} values for `{variable}`: {}; {why}: say which with --var {variable}=<value>",
        .candidates.len(),
        .candidates.iter().map(|(v, o)| format!("{v} ({o})")).collect::<Vec<_>>().join(", ")
    )]
    Ambiguous {
        variable: String,
        /// Each value with the first object that yields it.
        candidates: Vec<(String, String)>,
        why: String,
    },
    #[error("cannot discover `{variable}`: {error}")]
    Fetch { variable: String, error: FetchError },
    #[error("cannot discover `{variable}`: {message}")]
    Lab { variable: String, message: String },
}

/// What a plan is made from, kept so that it can be made again from what the cluster says.
#[derive(Debug, Clone)]
pub struct Resolver {
    lab: Lab,
    profile: Option<String>,
    overrides: Vec<(String, String)>,
    /// The plan with the lab's own values (no discovery).
    pub base: Plan,
}

/// The variables the lab's steps use (titles, instructions, commands, hints, checks), and those
/// their values use in turn (defaults and `profile`'s values).
fn used_variables(lab: &Lab, profile: Option<&str>) -> BTreeSet<String> {
    use crate::plan::substitute::{MapStrings, map_commands};
    let mut used = BTreeSet::new();
    let mut note = |s: &str| {
        used.extend(template::placeholders(s).into_iter().map(|p| p.name));
        s.to_owned()
    };
    for step in &lab.steps {
        note(&step.title);
        note(&step.markdown);
        step.blocks.iter().for_each(|b| {
            note(&b.code);
        });
        step.hints.iter().for_each(|h| {
            note(h);
        });
        for check in &step.checks {
            let mut c = check.clone();
            map_commands(&mut c, &mut note);
            c.map_strings(&mut note);
        }
    }
    let values: BTreeMap<&str, Vec<&str>> = lab
        .variables
        .iter()
        .map(|v| {
            let mut texts: Vec<&str> = v.default.iter().map(String::as_str).collect();
            let theirs = lab
                .profiles
                .iter()
                .filter(|p| Some(p.name.as_str()) == profile);
            texts.extend(
                theirs
                    .flat_map(|p| &p.variables)
                    .filter(|(k, _)| *k == v.name)
                    .map(|(_, val)| val.as_str()),
            );
            (v.name.as_str(), texts)
        })
        .collect();
    let mut todo: Vec<String> = used.iter().cloned().collect();
    while let Some(name) = todo.pop() {
        for text in values.get(name.as_str()).into_iter().flatten() {
            for p in template::placeholders(text) {
                if used.insert(p.name.clone()) {
                    todo.push(p.name);
                }
            }
        }
    }
    used
}

/// One discovery to make: its selections with placeholders substituted.
struct Pending {
    variable: String,
    selector: Selector,
    value: String,
    prefer: Option<(Selector, String)>,
}

impl Resolver {
    pub fn new(
        lab: &Lab,
        profile: Option<&str>,
        overrides: &[(String, String)],
    ) -> Result<Resolver, PlanError> {
        let base = Plan::new(lab, profile, overrides)?;
        Ok(Resolver {
            lab: lab.clone(),
            profile: Some(base.profile.clone()),
            overrides: overrides.to_vec(),
            base,
        })
    }

    pub fn lab(&self) -> &Lab {
        &self.lab
    }

    /// A resolver for the lab this one `requires:`, on the same profile, with the values given
    /// for this lab that name its variables (the dependent lab inherits them, so they mean the
    /// same thing). Its discoveries are made afresh: the prerequisite's steps may install what
    /// they read. `None` when the lab requires nothing.
    pub fn prerequisite(&self) -> Option<Result<Resolver, PlanError>> {
        let required = self.lab.requires.as_ref()?;
        let theirs = &required.lab;
        let overrides: Vec<(String, String)> = self
            .overrides
            .iter()
            .filter(|(k, _)| theirs.variables.iter().any(|v| &v.name == k))
            .cloned()
            .collect();
        Some(Resolver::new(theirs, self.profile.as_deref(), &overrides))
    }

    /// The discoveries to make: variables with `discover:` that no `--var` (or snapshot) set.
    fn pending(&self) -> Vec<Pending> {
        let given: BTreeSet<&str> = self.overrides.iter().map(|(k, _)| k.as_str()).collect();
        let values = &self.base.values;
        let sub = |s: &str| template::substitute(s, values).0;
        let sel = |s: &Selector| Selector {
            api_version: sub(&s.api_version),
            kind: sub(&s.kind),
            namespace: s.namespace.as_deref().map(sub),
            name: s.name.as_deref().map(sub),
            labels: s.labels.as_deref().map(sub),
        };
        let used = used_variables(&self.lab, self.profile.as_deref());
        self.lab
            .variables
            .iter()
            .filter(|v| !given.contains(v.name.as_str()))
            // A lab that inherits a discovered variable it never uses (istio-aks-upgrade does not
            // use istio-aks's `revision`, which two istiods and a tag make undecidable) must not
            // fail to grade for it.
            .filter(|v| used.contains(&v.name))
            .filter_map(|v| {
                let Discover {
                    selector,
                    value,
                    prefer,
                } = v.discover.as_ref()?;
                Some(Pending {
                    variable: v.name.clone(),
                    selector: sel(selector),
                    value: sub(value),
                    prefer: prefer.as_ref().map(|(s, e)| (sel(s), sub(e))),
                })
            })
            .collect()
    }

    /// The lists the discoveries read (none when every discovered variable was given).
    pub fn queries(&self) -> BTreeSet<Query> {
        self.pending()
            .iter()
            .flat_map(|p| std::iter::once(&p.selector).chain(p.prefer.as_ref().map(|(s, _)| s)))
            .map(query_of)
            .collect()
    }

    /// The plan with each discovered value in place, and where each came from.
    pub fn resolve(&self, objects: &ObjectSet) -> Result<Plan, DiscoverError> {
        let pending = self.pending();
        if pending.is_empty() {
            return Ok(self.base.clone());
        }
        let mut found = Vec::new();
        for p in &pending {
            found.push(discover(p, objects, self.base.values.get(&p.variable))?);
        }
        let mut overrides: Vec<(String, String)> = found
            .iter()
            .filter(|d| matches!(d.origin, Origin::Cluster { .. }))
            .filter_map(|d| Some((d.variable.clone(), d.value.clone()?)))
            .collect();
        overrides.extend(self.overrides.iter().cloned());
        let mut plan = Plan::new(&self.lab, self.profile.as_deref(), &overrides).map_err(|e| {
            DiscoverError::Lab {
                variable: pending[0].variable.clone(),
                message: e.to_string(),
            }
        })?;
        plan.discovered = found;
        Ok(plan)
    }
}

fn query_of(s: &Selector) -> Query {
    Query {
        api_version: s.api_version.clone(),
        kind: s.kind.clone(),
        namespace: s.namespace.clone(),
    }
}

/// Each value the selection yields, with the first object (by name) that yields it.
fn values_of(
    variable: &str,
    selector: &Selector,
    expr: &str,
    objects: &ObjectSet,
) -> Result<BTreeMap<String, String>, DiscoverError> {
    let lab_error = |message: String| DiscoverError::Lab {
        variable: variable.to_owned(),
        message,
    };
    let listed = objects
        .get(&query_of(selector))
        .map_err(|error| DiscoverError::Fetch {
            variable: variable.to_owned(),
            error,
        })?;
    let mut picked = select(selector, listed).map_err(|e| lab_error(e.to_string()))?;
    picked.sort_by_key(|o| describe(o));
    let expr = cel::compile(expr).map_err(|e| lab_error(e.to_string()))?;
    let mut out = BTreeMap::new();
    for o in picked {
        if let Ok(v) = expr.eval_string(o)
            && !v.is_empty()
        {
            out.entry(v).or_insert_with(|| describe(o));
        }
    }
    Ok(out)
}

fn discover(
    p: &Pending,
    objects: &ObjectSet,
    default: Option<&String>,
) -> Result<Discovered, DiscoverError> {
    let found = values_of(&p.variable, &p.selector, &p.value, objects)?;
    let cluster = |value: &String, object: &String, chosen_by| Discovered {
        variable: p.variable.clone(),
        value: Some(value.clone()),
        origin: Origin::Cluster {
            object: object.clone(),
            chosen_by,
        },
    };
    match found.len() {
        0 => Ok(Discovered {
            variable: p.variable.clone(),
            value: default.cloned(),
            origin: Origin::NotFound {
                looked_in: describe_selection(&p.selector),
            },
        }),
        1 => {
            let (value, object) = found.iter().next().expect("one value");
            Ok(cluster(value, object, None))
        }
        n => {
            let mut why = "the lab has no way to choose".to_owned();
            if let Some((selector, expr)) = &p.prefer {
                let named = values_of(&p.variable, selector, expr, objects)?;
                if let Some((value, by)) = named.iter().find(|(v, _)| found.contains_key(*v)) {
                    let chosen = format!("{n} found, {by} names this one");
                    return Ok(cluster(value, &found[value], Some(chosen)));
                }
                why = match named.keys().next() {
                    Some(other) => format!(
                        "{} names `{other}`, none of them",
                        describe_selection(selector)
                    ),
                    None => format!("{} names none of them", describe_selection(selector)),
                };
            }
            Err(DiscoverError::Ambiguous {
                variable: p.variable.clone(),
                candidates: found.into_iter().collect(),
                why,
            })
        }
    }
}

/// "Deployment istiod-asm-1-25 in aks-istio-system", "Namespace pets".
fn describe(o: &Value) -> String {
    let field = |path: &[&str]| {
        path.iter()
            .try_fold(o, |v, k| v.get(*k))
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_owned()
    };
    let (kind, name, ns) = (
        field(&["kind"]),
        field(&["metadata", "name"]),
        field(&["metadata", "namespace"]),
    );
    if ns.is_empty() {
        format!("{kind} {name}")
    } else {
        format!("{kind} {name} in {ns}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use std::path::Path;

    fn lab() -> Lab {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/labs-ok/discover");
        crate::labfile::load::load(&dir).expect("the discover test lab loads")
    }

    fn istiod(rev: Option<&str>) -> Value {
        let name = format!("istiod-{}", rev.unwrap_or("x"));
        let mut labels = json!({"app": "istiod"});
        if let Some(r) = rev {
            labels["istio.io/rev"] = json!(r);
        }
        json!({"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": name, "namespace": "aks-istio-system", "labels": labels}})
    }

    fn namespace(rev: Option<&str>) -> Value {
        let labels = rev.map_or(json!({}), |r| json!({"istio.io/rev": r}));
        json!({"apiVersion": "v1", "kind": "Namespace",
            "metadata": {"name": "pets", "labels": labels}})
    }

    fn q(api_version: &str, kind: &str, ns: Option<&str>) -> Query {
        Query {
            api_version: api_version.into(),
            kind: kind.into(),
            namespace: ns.map(str::to_owned),
        }
    }

    fn objects(deployments: Vec<Value>, ns: Value) -> ObjectSet {
        let mut set = ObjectSet::default();
        set.insert(
            q("apps/v1", "Deployment", Some("aks-istio-system")),
            Ok(deployments),
        );
        set.insert(q("v1", "Namespace", None), Ok(vec![ns]));
        set
    }

    fn resolver(vars: &[(&str, &str)]) -> Resolver {
        let vars: Vec<(String, String)> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Resolver::new(&lab(), None, &vars).unwrap()
    }

    #[test]
    fn a_discovered_variable_no_step_uses_is_not_discovered() {
        // A lab that inherits `revision` (requires:) but never uses it must not read, nor fail
        // on, a cluster where it cannot be decided.
        let mut unused = lab();
        for step in &mut unused.steps {
            step.title = "nothing".into();
            step.markdown = "nothing".into();
            step.blocks.clear();
            step.hints.clear();
            step.checks.clear();
        }
        let r = Resolver::new(&unused, None, &[]).unwrap();
        assert!(r.queries().is_empty(), "{:?}", r.queries());
        let two = objects(
            vec![istiod(Some("asm-1-23")), istiod(Some("asm-1-24"))],
            namespace(Some("prod-stable")),
        );
        assert!(r.resolve(&two).is_ok());
        // The same lab with its steps cannot decide there (two istiods, a tag on the namespace).
        assert!(resolver(&[]).resolve(&two).is_err());
        assert!(used_variables(&lab(), None).contains("revision"));
    }

    #[test]
    fn discovery_reads_the_selection_the_lab_names() {
        assert_eq!(
            resolver(&[]).queries(),
            [
                q("apps/v1", "Deployment", Some("aks-istio-system")),
                q("v1", "Namespace", None)
            ]
            .into()
        );
        // Its placeholders take the values given: another root namespace is read there.
        let other = resolver(&[("rootNamespace", "mesh-root")]);
        assert!(
            other
                .queries()
                .contains(&q("apps/v1", "Deployment", Some("mesh-root")))
        );
    }

    #[test]
    fn one_revision_found_is_used_and_its_object_named() {
        let r = resolver(&[]);
        let found = objects(
            vec![istiod(Some("asm-1-99")), istiod(None)],
            namespace(None),
        );
        let plan = r.resolve(&found).unwrap();
        assert_eq!(plan.values["revision"], "asm-1-99");
        assert_eq!(
            plan.steps[0].checks[0].check.title,
            "pets carries istio.io/rev=asm-1-99"
        );
        assert_eq!(
            plan.discovered[0].to_string(),
            "revision asm-1-99 (discovered: Deployment istiod-asm-1-99 in aks-istio-system)"
        );
    }

    #[test]
    fn none_found_keeps_the_default_and_says_so() {
        let plan = resolver(&[])
            .resolve(&objects(vec![], namespace(None)))
            .unwrap();
        assert_eq!(plan.values["revision"], "asm-1-27");
        assert_eq!(
            plan.discovered[0].to_string(),
            "revision asm-1-27 (the lab's default: none found, looked for Deployment objects in \
             aks-istio-system matching `app=istiod`)"
        );
    }

    #[test]
    fn two_revisions_take_the_one_the_app_namespace_names() {
        let two = vec![istiod(Some("asm-1-98")), istiod(Some("asm-1-99"))];
        let plan = resolver(&[])
            .resolve(&objects(two, namespace(Some("asm-1-98"))))
            .unwrap();
        assert_eq!(plan.values["revision"], "asm-1-98");
        assert_eq!(
            plan.discovered[0].to_string(),
            "revision asm-1-98 (discovered: Deployment istiod-asm-1-98 in aks-istio-system; \
             2 found, Namespace pets names this one)"
        );
    }

    #[test]
    fn two_revisions_and_no_choice_is_an_error_naming_both() {
        let two = || vec![istiod(Some("asm-1-98")), istiod(Some("asm-1-99"))];
        for (ns, why) in [
            (namespace(None), "Namespace pets names none of them"),
            (
                namespace(Some("asm-1-97")),
                "Namespace pets names `asm-1-97`, none of them",
            ),
        ] {
            let e = resolver(&[]).resolve(&objects(two(), ns)).unwrap_err();
            assert_eq!(
                e.to_string(),
                format!(
                    "found 2 values for `revision`: asm-1-98 (Deployment istiod-asm-1-98 in \
                     aks-istio-system), asm-1-99 (Deployment istiod-asm-1-99 in aks-istio-system); \
                     {why}: say which with --var revision=<value>"
                )
            );
        }
    }

    #[test]
    fn an_explicit_var_always_wins() {
        let r = resolver(&[("revision", "asm-1-50")]);
        assert!(r.queries().is_empty());
        let plan = r
            .resolve(&objects(vec![istiod(Some("asm-1-99"))], namespace(None)))
            .unwrap();
        assert_eq!(plan.values["revision"], "asm-1-50");
        assert!(plan.discovered.is_empty());
    }

    #[test]
    fn a_list_that_could_not_be_read_is_an_error_not_the_default() {
        let mut set = objects(vec![], namespace(None));
        let forbidden = FetchError::Forbidden {
            verb: "list".into(),
            resource: "deployments.apps".into(),
            namespace: Some("aks-istio-system".into()),
            message: String::new(),
        };
        set.insert(
            q("apps/v1", "Deployment", Some("aks-istio-system")),
            Err(forbidden.clone()),
        );
        assert_eq!(
            resolver(&[]).resolve(&set).unwrap_err(),
            DiscoverError::Fetch {
                variable: "revision".into(),
                error: forbidden
            }
        );
        // Istio's kinds not served (no CRDs yet) is a fact: nothing found.
        set.insert(
            q("apps/v1", "Deployment", Some("aks-istio-system")),
            Err(FetchError::NotServed {
                api_version: "apps/v1".into(),
                kind: "Deployment".into(),
            }),
        );
        assert_eq!(
            resolver(&[]).resolve(&set).unwrap().values["revision"],
            "asm-1-27"
        );
    }
}
