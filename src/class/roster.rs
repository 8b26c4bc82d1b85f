//! Reading and linting a roster (see [`roster_file`](super::roster_file) for the format) against
//! the lab it is for. Every problem is collected, each at `file:line:col` with a caret and, for
//! names, a "did you mean"; a [`Roster`] is returned only when there are none.
//!
//! Variables are layered, later wins: the lab's defaults and profile, the roster's `variables`,
//! the learner's cluster's `variables`, (a snapshot's own variables), the learner's `variables`.
//! `{{ learner }}` in any roster value is the learner's name, so a shared cluster needs one line
//! per learner (`appNamespace: "pets-{{ learner }}"`).

use super::roster_file::{RosterFile, S, SpannedMap};
use crate::labfile::diag::Diagnostic;
use crate::labfile::lab::Lab;
use crate::labfile::load::yaml_error;
use crate::labfile::template;
use crate::readfile;
use serde_saphyr::Spanned;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The placeholder a roster may use besides the lab's variables.
pub const LEARNER_PLACEHOLDER: &str = "learner";

/// A roster that passed the lint.
#[derive(Debug, Clone, PartialEq)]
pub struct Roster {
    pub file: PathBuf,
    pub profile: Option<String>,
    pub learners: Vec<Learner>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Learner {
    pub name: String,
    pub source: Source,
    /// Roster and cluster variables, `{{ learner }}` substituted (a snapshot's own come after).
    pub variables: Vec<(String, String)>,
    /// The learner's own variables: they win over everything.
    pub own_variables: Vec<(String, String)>,
}

/// Where a learner's objects come from.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Source {
    /// A live cluster; `shared` names the roster's cluster entry, if any. Learners with the same
    /// kubeconfig and context share one connection and one fetch.
    Cluster {
        kubeconfig: Option<PathBuf>,
        context: Option<String>,
        shared: Option<String>,
    },
    Snapshot(PathBuf),
    /// Nothing to pull from: the learner's labctl sends its results to `labctl class serve`
    /// (allowed only in a roster read by the server, see [`Parsed::pushed`]).
    Pushed,
}

/// A roster file parsed but not yet linted (the lab to lint against may be named inside it).
pub struct Parsed {
    file: PathBuf,
    text: String,
    decl: RosterFile,
    /// Learners may name no source: they push their results (`labctl class serve`).
    pushed: bool,
}

impl Parsed {
    /// The lab the roster names, if any.
    pub fn lab(&self) -> Option<&str> {
        self.decl.lab.as_ref().map(|l| l.value.as_str())
    }

    /// Accept learners with no cluster, kubeconfig or snapshot: their results are pushed to
    /// the class server instead of pulled.
    pub fn pushed(self) -> Parsed {
        Parsed {
            pushed: true,
            ..self
        }
    }
}

/// Read and parse a roster (syntax and unknown fields only).
pub fn parse(file: &Path) -> Result<Parsed, Vec<Diagnostic>> {
    let text = readfile::read_text(file, readfile::ROSTER_LIMIT)
        .map_err(|e| vec![Diagnostic::unreadable(file, "the roster", &e)])?;
    if text.trim().is_empty() {
        let d = Diagnostic::file(file, "the roster is empty");
        return Err(vec![d.help(
            "a roster lists `learners:`, e.g. `learners: [{ name: alice, snapshot: alice.json }]`",
        )]);
    }
    let decl: RosterFile =
        serde_saphyr::from_str(&text).map_err(|e| vec![yaml_error(file, &text, &e)])?;
    Ok(Parsed {
        file: file.to_path_buf(),
        text,
        decl,
        pushed: false,
    })
}

/// Lint a parsed roster against `lab` (`lab_arg`: the lab named on the command line).
pub fn lint(parsed: Parsed, lab: &Lab, lab_arg: Option<&str>) -> Result<Roster, Vec<Diagnostic>> {
    let mut l = Linter {
        parsed: &parsed,
        lab,
        diags: Vec::new(),
        base: parsed.file.parent().unwrap_or(Path::new(".")).to_path_buf(),
    };
    let d = &parsed.decl;
    if let (Some(named), Some(arg)) = (&d.lab, lab_arg)
        && named.value != lab.name
    {
        let msg = format!("the roster is for lab `{}`, not `{arg}`", named.value);
        l.push(l.at(named, msg).underline_token());
    }
    if let Some(p) = &d.profile
        && !lab.profiles.iter().any(|x| x.name == p.value)
    {
        let names: Vec<&str> = lab.profiles.iter().map(|x| x.name.as_str()).collect();
        let msg = format!("lab `{}` has no profile `{}`", lab.name, p.value);
        let diag = l
            .at(p, msg)
            .underline_token()
            .suggest(&p.value, names.clone());
        l.push(diag.help(format!("profiles: {}", names.join(", "))));
    }
    l.variables(&d.variables);
    for (name, cluster) in &d.clusters.0 {
        l.variables(&cluster.value.variables);
        if let Some(k) = &cluster.value.kubeconfig {
            l.file_exists(k, "kubeconfig");
        }
        if cluster.value.kubeconfig.is_none() && cluster.value.context.is_none() {
            let msg = format!(
                "cluster `{}` names neither a kubeconfig nor a context",
                name.value
            );
            l.push(l.at(name, msg).underline_token().help(
                "give `kubeconfig:` (a file) and/or `context:` (a context of $KUBECONFIG or ~/.kube/config)",
            ));
        }
    }
    if d.learners.is_empty() {
        let diag = Diagnostic::file(&parsed.file, "the roster lists no learners");
        l.push(diag.help("add `learners:` entries, e.g. `- { name: alice, cluster: workshop }`"));
    }
    let mut seen: BTreeMap<&str, u64> = BTreeMap::new();
    let mut learners = Vec::new();
    for learner in &d.learners {
        let name = &learner.value.name;
        if let Some(first) = seen.insert(&name.value, name.referenced.line()) {
            let msg = format!("learner `{}` is listed twice", name.value);
            let diag = l.at(name, msg).underline_token();
            l.push(diag.help(format!("the first entry with this name is on line {first}")));
        }
        if let Some(found) = l.learner(learner) {
            learners.push(found);
        }
    }
    l.diags.sort_by_key(|d| (d.line, d.col));
    if l.diags.is_empty() {
        Ok(Roster {
            file: parsed.file.clone(),
            profile: d.profile.as_ref().map(|p| p.value.clone()),
            learners,
        })
    } else {
        Err(l.diags)
    }
}

struct Linter<'a> {
    parsed: &'a Parsed,
    lab: &'a Lab,
    diags: Vec<Diagnostic>,
    /// Relative paths resolve against the roster's folder.
    base: PathBuf,
}

impl Linter<'_> {
    fn at<T>(&self, span: &Spanned<T>, message: impl Into<String>) -> Diagnostic {
        Diagnostic::at(
            &self.parsed.file,
            &self.parsed.text,
            span.referenced.line() as u32,
            span.referenced.column() as u32,
            message,
        )
    }

    fn push(&mut self, d: Diagnostic) {
        self.diags.push(d);
    }

    /// Names must be the lab's variables; values may use them and `{{ learner }}`.
    fn variables(&mut self, vars: &SpannedMap<S>) {
        let names: Vec<&str> = self.lab.variables.iter().map(|v| v.name.as_str()).collect();
        for (key, value) in &vars.0 {
            if !names.contains(&key.value.as_str()) {
                let msg = format!("lab `{}` has no variable `{}`", self.lab.name, key.value);
                let d = self
                    .at(key, msg)
                    .underline_token()
                    .suggest(&key.value, names.clone());
                self.push(d.help(format!("variables: {}", names.join(", "))));
            }
            for p in template::placeholders(&value.value) {
                if p.name != LEARNER_PLACEHOLDER && !names.contains(&p.name.as_str()) {
                    let msg = format!("unknown placeholder `{{{{ {} }}}}`", p.name);
                    let candidates = names.iter().copied().chain([LEARNER_PLACEHOLDER]);
                    let d = self.at(value, msg).suggest(&p.name, candidates);
                    let d = at_placeholder(d, &value.value, &p);
                    self.push(d.help(
                        "a roster value may use `{{ learner }}` (the learner's name) and the lab's variables",
                    ));
                }
            }
        }
    }

    /// `~/x` is in the home folder; a relative path is relative to the roster's folder.
    fn path(&self, s: &S) -> PathBuf {
        let v = s.value.trim();
        match (v.strip_prefix("~/"), std::env::var_os("HOME")) {
            (Some(rest), Some(home)) => PathBuf::from(home).join(rest),
            // `./x` reads better in messages as `<folder>/x`.
            _ => self.base.join(v.trim_start_matches("./")),
        }
    }

    fn file_exists(&mut self, s: &S, what: &str) -> PathBuf {
        let path = self.path(s);
        let wrong_type = std::fs::metadata(&path)
            .ok()
            .and_then(|m| readfile::not_regular(&m));
        if let Some(e) = wrong_type {
            let msg = format!("{what} `{}` {e}", s.value);
            let d = self.at(s, msg).underline_token();
            self.push(d);
        } else if !path.is_file() {
            let msg = format!("{what} `{}` does not exist", s.value);
            let d = self.at(s, msg).underline_token();
            self.push(d.help(format!(
                "looked for {} (relative paths start at the roster's folder)",
                path.display()
            )));
        }
        path
    }

    fn learner(&mut self, learner: &Spanned<super::roster_file::LearnerDecl>) -> Option<Learner> {
        let ld = &learner.value;
        let name = &ld.name.value;
        self.variables(&ld.variables);
        let given: Vec<&str> = [
            ld.cluster.as_ref().map(|_| "cluster"),
            ld.kubeconfig.as_ref().map(|_| "kubeconfig"),
            ld.snapshot.as_ref().map(|_| "snapshot"),
        ]
        .into_iter()
        .flatten()
        .collect();
        let pushed = given.is_empty() && self.parsed.pushed;
        if given.len() != 1 && !pushed {
            let what = if given.is_empty() {
                format!("learner `{name}` has no cluster, kubeconfig or snapshot")
            } else {
                format!("learner `{name}` has both {}", given.join(" and "))
            };
            let d = self.at(&ld.name, what).underline_token();
            self.push(d.help("give exactly one of `cluster: NAME` (a shared cluster), `kubeconfig: FILE` (with `context:`), `snapshot: FILE`"));
            return None;
        }
        if let (Some(c), None) = (&ld.context, &ld.kubeconfig) {
            let d = self
                .at(c, "`context` goes with `kubeconfig`")
                .underline_token();
            self.push(d.help("a shared cluster's context is set under `clusters:`"));
        }
        let roster = &self.parsed.decl;
        let mut layers: Vec<&SpannedMap<S>> = vec![&roster.variables];
        let source = if pushed {
            Source::Pushed
        } else if let Some(c) = &ld.cluster {
            let names: Vec<&str> = roster
                .clusters
                .0
                .iter()
                .map(|(k, _)| k.value.as_str())
                .collect();
            let Some((_, cluster)) = roster.clusters.0.iter().find(|(k, _)| k.value == c.value)
            else {
                let msg = format!("no cluster `{}` in this roster", c.value);
                let d = self
                    .at(c, msg)
                    .underline_token()
                    .suggest(&c.value, names.clone());
                let help = if names.is_empty() {
                    "declare it under `clusters:` (kubeconfig, context, variables)".to_owned()
                } else {
                    format!("clusters: {}", names.join(", "))
                };
                self.push(d.help(help));
                return None;
            };
            layers.push(&cluster.value.variables);
            Source::Cluster {
                kubeconfig: cluster.value.kubeconfig.as_ref().map(|k| self.path(k)),
                context: cluster.value.context.as_ref().map(|c| c.value.clone()),
                shared: Some(c.value.clone()),
            }
        } else if let Some(k) = &ld.kubeconfig {
            Source::Cluster {
                kubeconfig: Some(self.file_exists(k, "kubeconfig")),
                context: ld.context.as_ref().map(|c| c.value.clone()),
                shared: None,
            }
        } else {
            Source::Snapshot(self.file_exists(ld.snapshot.as_ref()?, "snapshot"))
        };
        let uses_name = layers
            .iter()
            .chain([&&ld.variables])
            .flat_map(|m| &m.0)
            .any(|(_, v)| mentions_learner(&v.value));
        if uses_name && !dns_label(name) {
            let msg = format!("learner name `{name}` cannot stand in a Kubernetes name");
            let d = self.at(&ld.name, msg).width(name.chars().count());
            self.push(d.help("`{{ learner }}` puts it into variables such as namespaces: use lowercase letters, digits and `-`"));
        }
        let expand = |m: &SpannedMap<S>| -> Vec<(String, String)> {
            m.0.iter()
                .map(|(k, v)| (k.value.clone(), with_learner(&v.value, name)))
                .collect()
        };
        Some(Learner {
            name: name.clone(),
            source,
            variables: layers.iter().flat_map(|m| expand(m)).collect(),
            own_variables: expand(&ld.variables),
        })
    }
}

/// Move the caret from the start of a value to the placeholder in it, when the value is written
/// on one line (quoted or not).
fn at_placeholder(mut d: Diagnostic, value: &str, p: &template::Placeholder) -> Diagnostic {
    let token: String = value
        .lines()
        .nth(p.line as usize - 1)
        .unwrap_or("")
        .chars()
        .skip(p.col as usize - 1)
        .take(p.len)
        .collect();
    let found = d.source_line.as_deref().and_then(|line| {
        let from = line
            .char_indices()
            .nth(d.col as usize - 1)
            .map_or(0, |(i, _)| i);
        line[from..]
            .find(&token)
            .map(|i| line[..from + i].chars().count())
    });
    if let Some(col) = found {
        d.col = col as u32 + 1;
        d.width = token.chars().count();
    }
    d
}

fn mentions_learner(value: &str) -> bool {
    template::placeholders(value)
        .iter()
        .any(|p| p.name == LEARNER_PLACEHOLDER)
}

/// `value` with every `{{ learner }}` replaced by `name`; other placeholders stay for the plan.
pub fn with_learner(value: &str, name: &str) -> String {
    let mut vars = BTreeMap::new();
    vars.insert(LEARNER_PLACEHOLDER.to_owned(), name.to_owned());
    template::substitute(value, &vars).0
}

/// An RFC 1123 label: lowercase letters, digits and `-`, at most 63, no `-` at the ends.
fn dns_label(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 63
        && s.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        && !s.starts_with('-')
        && !s.ends_with('-')
}
