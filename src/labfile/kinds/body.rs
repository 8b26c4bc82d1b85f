//! The one place check kinds are registered: the validated [`Body`] (one variant per kind),
//! [`KINDS`] (their names, what each is for, the `expect:` fields each takes), and [`lint`],
//! which turns what a check wrote into a `Body`. Adding a kind is a folder under `kinds/` plus a
//! variant, a `KINDS` entry and a match arm here; the compiler then points at every `match` on
//! `Body` elsewhere (evaluation, queries, substitution).

use crate::labfile::kinds::command::model::CommandBody;
use crate::labfile::kinds::distribution::model::{DistributionBody, DistributionDecl};
use crate::labfile::kinds::lint::Lint;
use crate::labfile::kinds::probe::model::{ProbeBody, ProbeDecl};
use crate::labfile::kinds::resource::model::ResourceBody;
use crate::labfile::kinds::{command, distribution, probe, resource};
use crate::labfile::model::{CheckDecl, CommandDecl, ConditionDecl, ExpectDecl, ResourceDecl};
use serde_saphyr::Spanned;

/// What a check (or a skip or diagnosis condition) looks at and expects: one kind each.
#[derive(Debug, Clone, PartialEq)]
pub enum Body {
    Resource(ResourceBody),
    Command(CommandBody),
    Probe(ProbeBody),
    Distribution(DistributionBody),
}

/// A registered kind: its key in a check, what it does (for "a check needs …"), and its
/// `expect:` fields (for "does not apply").
pub struct Kind {
    pub name: &'static str,
    pub purpose: &'static str,
    /// The `expect:` fields it takes, as the help lists them.
    pub expect_help: &'static str,
    /// Which of its `expect:` fields a check set.
    pub expect_fields: fn(&ExpectDecl) -> Vec<(bool, &'static str)>,
}

/// Every kind, in the order messages list them.
pub const KINDS: &[Kind] = &[
    Kind {
        name: "resource",
        purpose: "look at objects",
        expect_help: resource::lint::EXPECT_HELP,
        expect_fields: |e| resource::lint::expect_fields(e).to_vec(),
    },
    Kind {
        name: "command",
        purpose: "run a command",
        expect_help: command::lint::EXPECT_HELP,
        expect_fields: |e| command::lint::expect_fields(e).to_vec(),
    },
    Kind {
        name: "probe",
        purpose: "send a request",
        expect_help: probe::lint::EXPECT_HELP,
        expect_fields: |e| probe::lint::expect_fields(e).to_vec(),
    },
    Kind {
        name: "distribution",
        purpose: "count answers per version",
        // Its expectation is inside it (`distribution.expect.weights`), not in the check's.
        expect_help: "`weights`, inside `distribution:`",
        expect_fields: |_| Vec::new(),
    },
];

impl Body {
    /// The registered kind of this body.
    pub fn kind(&self) -> &'static Kind {
        let name = match self {
            Body::Resource(_) => "resource",
            Body::Command(_) => "command",
            Body::Probe(_) => "probe",
            Body::Distribution(_) => "distribution",
        };
        kind(name)
    }
}

fn kind(name: &str) -> &'static Kind {
    KINDS
        .iter()
        .find(|k| k.name == name)
        .expect("every Body variant is registered in KINDS")
}

/// A check's kind keys as written (at most one may be set); conditions have no `probe`.
pub struct BodyDecl<'a> {
    pub resource: Option<&'a ResourceDecl>,
    pub command: Option<&'a CommandDecl>,
    pub probe: Option<&'a Spanned<ProbeDecl>>,
    pub distribution: Option<&'a Spanned<DistributionDecl>>,
    pub expect: Option<&'a ExpectDecl>,
}

impl<'a> From<&'a CheckDecl> for BodyDecl<'a> {
    /// A check's kind keys: a new kind's key is read here, not where checks are loaded.
    fn from(c: &'a CheckDecl) -> Self {
        BodyDecl {
            resource: c.resource.as_ref(),
            command: c.command.as_ref(),
            probe: c.probe.as_ref(),
            distribution: c.distribution.as_ref(),
            expect: c.expect.as_ref(),
        }
    }
}

impl<'a> From<&'a ConditionDecl> for BodyDecl<'a> {
    /// A condition's kind keys (conditions only look, they send nothing).
    fn from(c: &'a ConditionDecl) -> Self {
        BodyDecl {
            resource: c.resource.as_ref(),
            command: c.command.as_ref(),
            probe: None,
            distribution: None,
            expect: c.expect.as_ref(),
        }
    }
}

/// Lint one body written at `line:col`: exactly one kind, `expect:` fields of that kind only,
/// and the kind's own lints. `None` when no body can be made (the reason is in `lint.diags`).
pub fn lint(lint: &mut Lint, line: u32, col: u32, decl: &BodyDecl) -> Option<Body> {
    let set = [
        decl.resource.is_some(),
        decl.command.is_some(),
        decl.probe.is_some(),
        decl.distribution.is_some(),
    ];
    let names: Vec<String> = KINDS.iter().map(|k| format!("`{}`", k.name)).collect();
    match set.iter().filter(|s| **s).count() {
        0 => {
            let wants: Vec<String> = KINDS
                .iter()
                .map(|k| format!("`{}` ({})", k.name, k.purpose))
                .collect();
            let d = lint.at_pos(line, col, format!("a check needs {}", or_list(&wants)));
            lint.diags.push(d);
            return None;
        }
        1 => {}
        _ => {
            let d = lint.at_pos(
                line,
                col,
                format!("a check has exactly one of {}", and_list(&names)),
            );
            lint.diags.push(d);
            return None;
        }
    }
    // The target first, then `expect:` (diagnostics keep the order authors read them in).
    let e = decl.expect;
    let body = if let Some(r) = decl.resource {
        let selector = resource::lint::selector(lint, r);
        wrong_fields(lint, line, col, "resource", e);
        let expect = resource::lint::expect(lint, line, col, e);
        Body::Resource(ResourceBody { selector, expect })
    } else if let Some(c) = decl.command {
        let command = command::lint::command(lint, c);
        wrong_fields(lint, line, col, "command", e);
        let expect = command::lint::expect(lint, line, col, e);
        Body::Command(CommandBody { command, expect })
    } else if let Some(d) = decl.distribution {
        let body = distribution::lint::distribution(lint, d);
        wrong_fields(lint, line, col, "distribution", e);
        Body::Distribution(body?)
    } else {
        let probe = lint.probe_target(decl.probe?)?;
        wrong_fields(lint, line, col, "probe", e);
        let expect = lint.probe_expect(line, col, e);
        Body::Probe(ProbeBody { probe, expect })
    };
    Some(body)
}

/// "`expect.status` does not apply to a resource check", for every field of another kind.
fn wrong_fields(lint: &mut Lint, line: u32, col: u32, name: &str, e: Option<&ExpectDecl>) {
    let Some(e) = e else { return };
    let own = kind(name);
    for other in KINDS.iter().filter(|k| k.name != name) {
        for (_, field) in (other.expect_fields)(e).into_iter().filter(|(set, _)| *set) {
            let d = lint
                .at_pos(
                    line,
                    col,
                    format!("`expect.{field}` does not apply to a {name} check"),
                )
                .help(format!("a {name} check expects: {}", own.expect_help));
            lint.diags.push(d);
        }
    }
}

/// "a, b or c"
fn or_list(items: &[String]) -> String {
    join_last(items, " or ")
}

/// "a, b and c"
fn and_list(items: &[String]) -> String {
    join_last(items, " and ")
}

fn join_last(items: &[String], last: &str) -> String {
    match items.split_last() {
        Some((l, rest)) if !rest.is_empty() => format!("{}{last}{l}", rest.join(", ")),
        Some((l, _)) => l.clone(),
        None => String::new(),
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::labfile::diag::Diagnostic;
    use std::collections::BTreeMap;
    use std::path::Path;

    /// Lint the body of one check written in YAML: the body (if any) and the messages.
    pub(crate) fn lint_yaml(yaml: &str) -> (Option<Body>, Vec<String>) {
        let c: CheckDecl = serde_saphyr::from_str(yaml).expect("valid YAML");
        let mut diags: Vec<Diagnostic> = Vec::new();
        let samples = BTreeMap::new();
        let mut cx = Lint {
            file: Path::new("lab.yaml"),
            text: yaml,
            sample_values: &samples,
            diags: &mut diags,
        };
        let body = lint(&mut cx, 1, 1, &BodyDecl::from(&c));
        (body, diags.into_iter().map(|d| d.message).collect())
    }

    #[test]
    fn every_variant_is_registered() {
        let (r, _) = lint_yaml("id: a\nresource: {apiVersion: v1, kind: Pod}\n");
        let (c, _) = lint_yaml("id: a\ncommand: {run: 'true'}\n");
        let (p, _) = lint_yaml("id: a\nprobe: {http: {url: 'http://x/'}}\n");
        let names: Vec<&str> = [r, c, p].iter().flatten().map(|b| b.kind().name).collect();
        assert_eq!(names, ["resource", "command", "probe"]);
    }

    #[test]
    fn one_kind_and_only_its_expect_fields() {
        let (none, msgs) = lint_yaml("id: a\n");
        assert!(none.is_none());
        assert_eq!(
            msgs,
            [
                "a check needs `resource` (look at objects), `command` (run a command), `probe` (send a request) or `distribution` (count answers per version)"
            ]
        );
        let (two, msgs) =
            lint_yaml("id: a\ncommand: {run: 'true'}\nresource: {apiVersion: v1, kind: Pod}\n");
        assert!(two.is_none());
        assert_eq!(
            msgs,
            ["a check has exactly one of `resource`, `command`, `probe` and `distribution`"]
        );
        let (_, msgs) = lint_yaml(
            "id: a\nresource: {apiVersion: v1, kind: Pod}\nexpect: {exitCode: 1, status: 200}\n",
        );
        assert_eq!(
            msgs,
            [
                "`expect.exitCode` does not apply to a resource check",
                "`expect.status` does not apply to a resource check"
            ]
        );
    }

    #[test]
    fn each_kind_takes_its_own_expectation() {
        let (body, msgs) = lint_yaml(
            "id: a\ncommand: {run: 'true', timeout: 5s}\nexpect: {exitCode: 3, stdout: {contains: ok}}\n",
        );
        assert!(msgs.is_empty(), "{msgs:?}");
        let Some(Body::Command(c)) = body else {
            panic!("a command body")
        };
        assert_eq!(c.command.timeout, std::time::Duration::from_secs(5));
        assert_eq!(c.expect.exit_code, 3);
        let (_, msgs) = lint_yaml(
            "id: a\nresource: {apiVersion: v1, kind: Pod}\nexpect: {absent: true, count: '>= 2'}\n",
        );
        assert_eq!(
            msgs,
            ["`absent: true` cannot be combined with quantifier, count, match or cel"]
        );
    }
}
