//! Linting a `resource:` check: its selection (a label selector that parses, an apiVersion
//! that is one) and its `expect:` fields (`absent` alone, a count that parses, CEL that
//! compiles).

use crate::labfile::kinds::lint::Lint;
use crate::labfile::kinds::resource::model::{Count, ResourceDecl, ResourceExpect, Selector};
use crate::labfile::model::ExpectDecl;

/// The `expect:` fields a resource check takes, in the order the help lists them.
pub const EXPECT_HELP: &str = "quantifier, count, match, cel, absent";

/// Which of a resource check's `expect:` fields are set, by name (for "does not apply").
pub fn expect_fields(e: &ExpectDecl) -> [(bool, &'static str); 5] {
    [
        (e.quantifier.is_some(), "quantifier"),
        (e.count.is_some(), "count"),
        (e.match_.is_some(), "match"),
        (e.cel.is_some(), "cel"),
        (e.absent.is_some(), "absent"),
    ]
}

/// `resource:` (also a variable's `discover:` selection) as a [`Selector`].
pub fn selector(lint: &mut Lint, r: &ResourceDecl) -> Selector {
    if let Some(labels) = &r.labels {
        // Placeholders may stand for label values; check the syntax with sample values.
        if let Err(e) = crate::labfile::selector::parse(&lint.sample(&labels.value)) {
            let d = lint.at(labels, format!("invalid label selector: {e}"));
            lint.diags.push(d);
        }
    }
    if !r.api_version.value.contains('/') && r.api_version.value != "v1" {
        let d = lint.at(
            &r.api_version,
            format!("`{}` is not an apiVersion", r.api_version.value),
        );
        lint.diags.push(d.underline_token().help(
            "write group/version (`apps/v1`, `networking.istio.io/v1`) or `v1` for the core group",
        ));
    }
    Selector {
        api_version: r.api_version.value.clone(),
        kind: r.kind.value.clone(),
        namespace: r.namespace.clone(),
        name: r.name.clone(),
        labels: r.labels.as_ref().map(|l| l.value.clone()),
    }
}

/// The resource fields of `expect:`, linted; `line:col` is the check's.
pub fn expect(lint: &mut Lint, line: u32, col: u32, e: Option<&ExpectDecl>) -> ResourceExpect {
    let Some(e) = e else {
        return ResourceExpect::default();
    };
    if e.absent == Some(true)
        && (e.match_.is_some() || e.cel.is_some() || e.count.is_some() || e.quantifier.is_some())
    {
        let d = lint.at_pos(
            line,
            col,
            "`absent: true` cannot be combined with quantifier, count, match or cel",
        );
        lint.diags.push(
            d.help("to require that no object satisfies a condition, use `quantifier: none`"),
        );
    }
    let count = e.count.as_ref().and_then(|c| {
        let parsed = Count::parse(&c.value);
        if parsed.is_none() {
            let d = lint.at(c, format!("`{}` is not a count", c.value));
            lint.diags
                .push(d.help("write a number with an optional comparison: `4`, `>= 4`, `< 2`"));
        }
        parsed
    });
    if let Some(cel) = &e.cel {
        lint.cel(cel);
    }
    ResourceExpect {
        quantifier: e.quantifier.unwrap_or_default(),
        count,
        match_: e.match_.as_ref().map(|m| m.to_json()),
        cel: e.cel.as_ref().map(|c| c.value.clone()),
        absent: e.absent.unwrap_or(false),
    }
}
