//! The lab file format as written by authors (`lab.yaml`, `checks/*.yaml`), deserialized with
//! positions kept (`Spanned`) wherever a later lint needs to point at a value.
//!
//! Every struct denies unknown fields: a typo is an error with a "did you mean", never a
//! silently ignored key. See the README's "Lab format reference".

use crate::labfile::yaml::Located;
use serde::Deserialize;
use serde_saphyr::Spanned;
use std::collections::BTreeMap;

pub type S = Spanned<String>;

pub use crate::labfile::kinds::command::model::{CommandDecl, TextMatchDecl};
pub use crate::labfile::kinds::probe::model::{
    HttpDecl, PortDecl, ProbeDecl, ProbeExecDecl, ProbePodDecl, ServiceRefDecl,
};
pub use crate::labfile::kinds::resource::model::{Quantifier, ResourceDecl};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct LabFile {
    pub name: S,
    pub title: String,
    #[serde(default)]
    pub summary: Option<String>,
    #[serde(default)]
    pub duration: Option<String>,
    #[serde(default)]
    pub library: Option<S>,
    /// Another lab whose finished state this one starts from (see [`RequiresDecl`]).
    #[serde(default)]
    pub requires: Option<Spanned<RequiresDecl>>,
    #[serde(default)]
    pub variables: BTreeMap<String, VariableDecl>,
    pub profiles: BTreeMap<String, ProfileDecl>,
    #[serde(default)]
    pub manifests: Vec<ManifestRef>,
    pub steps: Vec<Spanned<StepDecl>>,
}

/// `requires:` — the lab starts where another lab's step `through` left the cluster: its
/// variables are inherited, `start` grades it first and `ci` replays it as setup.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct RequiresDecl {
    /// A lab in the same folder of labs, by name.
    pub lab: S,
    /// A (non-cleanup) step id of that lab: its steps up to and including this one.
    pub through: S,
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct VariableDecl {
    #[serde(default)]
    pub default: Option<String>,
    #[serde(default)]
    pub description: Option<String>,
    /// How to read the value from the cluster (see [`DiscoverDecl`]).
    #[serde(default)]
    pub discover: Option<Spanned<DiscoverDecl>>,
    /// A regular expression every value must match as a whole (see `labfile::pattern`).
    #[serde(default)]
    pub pattern: Option<S>,
}

/// `discover:` on a variable: a resource selection as checks write it, and a CEL expression
/// that yields the value from each selected object. `prefer` breaks a tie between several
/// values: the value it reads, when it is one of them, is the one used.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct DiscoverDecl {
    pub resource: ResourceDecl,
    pub value: S,
    #[serde(default)]
    pub prefer: Option<Spanned<PreferDecl>>,
}

/// `discover.prefer`: another selection and expression; see [`DiscoverDecl`].
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct PreferDecl {
    pub resource: ResourceDecl,
    pub value: S,
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ProfileDecl {
    #[serde(default)]
    pub title: Option<String>,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub variables: BTreeMap<String, S>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ManifestRef {
    pub url: S,
    pub file: S,
}

#[derive(Debug, Deserialize, Clone, Copy, PartialEq, Eq, Default)]
#[serde(rename_all = "lowercase")]
pub enum StepType {
    #[default]
    Task,
    Cleanup,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct StepDecl {
    pub id: S,
    pub title: String,
    #[serde(default, rename = "type")]
    pub step_type: StepType,
    pub instructions: S,
    #[serde(default)]
    pub checks: Vec<Spanned<CheckDecl>>,
    #[serde(default)]
    pub hints: Vec<String>,
}

/// A check as written: inline in a step, a `use:` of a library check, or a library file.
/// One struct for all three (instead of an untagged enum) keeps serde's error messages and
/// positions precise; the lint enforces which fields go together.
#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct CheckDecl {
    #[serde(default, rename = "use")]
    pub use_id: Option<S>,
    #[serde(default)]
    pub id: Option<S>,
    #[serde(default)]
    pub title: Option<String>,
    #[serde(default)]
    pub profiles: Option<Vec<S>>,
    #[serde(default)]
    pub resource: Option<ResourceDecl>,
    #[serde(default)]
    pub command: Option<CommandDecl>,
    #[serde(default)]
    pub probe: Option<Spanned<ProbeDecl>>,
    #[serde(default)]
    pub distribution: Option<Spanned<crate::labfile::kinds::distribution::model::DistributionDecl>>,
    #[serde(default)]
    pub expect: Option<ExpectDecl>,
    #[serde(default)]
    pub actual: Option<S>,
    #[serde(default)]
    pub fix: Option<String>,
    #[serde(default)]
    pub diagnoses: Vec<Spanned<DiagnosisDecl>>,
    #[serde(default)]
    pub skip: Option<Spanned<SkipDecl>>,
}

/// `skip: {when: [conditions], reason}` — a state in which the check does not apply.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct SkipDecl {
    pub when: Vec<Spanned<ConditionDecl>>,
    pub reason: String,
}

/// `expect:` as written: every kind's fields in one struct (so serde's "did you mean" sees them
/// all); each kind takes its own (see `labfile::kinds::body::KINDS`) and lints the rest away.
#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ExpectDecl {
    #[serde(default)]
    pub quantifier: Option<Quantifier>,
    #[serde(default)]
    pub count: Option<S>,
    #[serde(default, rename = "match")]
    pub match_: Option<Located>,
    #[serde(default)]
    pub cel: Option<S>,
    #[serde(default)]
    pub absent: Option<bool>,
    #[serde(default)]
    pub exit_code: Option<i32>,
    #[serde(default)]
    pub stdout: Option<TextMatchDecl>,
    #[serde(default)]
    pub stderr: Option<TextMatchDecl>,
    #[serde(default)]
    pub status: Option<Spanned<u16>>,
    #[serde(default)]
    pub body_contains: Option<String>,
    #[serde(default)]
    pub fails: Option<bool>,
    #[serde(default)]
    pub error: Option<crate::labfile::kinds::probe::model::ConnErrors>,
    #[serde(default)]
    pub reached: Option<bool>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct DiagnosisDecl {
    pub id: S,
    pub when: Vec<Spanned<ConditionDecl>>,
    pub cause: String,
    pub fix: String,
}

/// A diagnosis condition: the body of a check without its identity.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ConditionDecl {
    #[serde(default)]
    pub resource: Option<ResourceDecl>,
    #[serde(default)]
    pub command: Option<CommandDecl>,
    #[serde(default)]
    pub expect: Option<ExpectDecl>,
}
