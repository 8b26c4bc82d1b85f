//! A lab after parsing and linting: plain values, no source positions. Everything downstream
//! (plan, grading, rendering) works on these types. Strings may still hold `{{ var }}`
//! placeholders; the plan substitutes them for one profile.

pub use crate::labfile::kinds::body::Body;
pub use crate::labfile::kinds::command::model::{Command, CommandBody, CommandExpect, TextMatch};
pub use crate::labfile::kinds::probe::model::{
    ConnError, ConnErrors, HttpRequest, HttpTarget, Probe, ProbeBody, ProbeExec, ProbeExpect,
    ProbeFrom, ProbePod,
};
pub use crate::labfile::kinds::resource::model::{
    Count, CountOp, Quantifier, ResourceBody, ResourceExpect, Selector,
};
use crate::labfile::markdown::CodeBlock;
pub use crate::labfile::model::StepType;
use std::path::PathBuf;

#[derive(Debug, Clone)]
pub struct Lab {
    pub name: String,
    pub title: String,
    pub summary: Option<String>,
    pub duration: Option<String>,
    pub dir: PathBuf,
    /// The lab this one builds on, when it says (`requires:`).
    pub requires: Option<Requires>,
    /// Its own variables and, after them, those inherited from `requires` (sorted by name
    /// within each group).
    pub variables: Vec<Variable>,
    pub profiles: Vec<Profile>,
    pub manifests: Vec<Manifest>,
    pub steps: Vec<Step>,
}

/// A prerequisite: the lab (loaded and valid) and the last of its steps this lab needs done.
#[derive(Debug, Clone)]
pub struct Requires {
    pub lab: Box<Lab>,
    /// A task step of `lab`; its steps up to and including this one are the prerequisite.
    pub through: String,
}

impl Requires {
    /// The prerequisite's steps this lab needs done, in order.
    pub fn steps(&self) -> &[Step] {
        let end = self
            .lab
            .steps
            .iter()
            .position(|s| s.id == self.through)
            .map_or(0, |i| i + 1);
        &self.lab.steps[..end]
    }

    /// The prerequisite's cleanup step (content CI runs it after this lab's own cleanup).
    pub fn cleanup(&self) -> Option<&Step> {
        self.lab
            .steps
            .iter()
            .find(|s| s.step_type == StepType::Cleanup)
    }
}

#[derive(Debug, Clone)]
pub struct Variable {
    pub name: String,
    pub default: Option<String>,
    pub description: Option<String>,
    /// How to read the value from the cluster, when the lab says.
    pub discover: Option<Discover>,
    /// `pattern:`, compiled (an invalid one is a `validate` error, and then `None` here).
    pub pattern: Option<crate::labfile::pattern::Pattern>,
}

/// A variable read from the cluster: the value `value` yields for each object `selector`
/// picks. Several different values are a tie, broken by `prefer` (see `plan::discover`).
#[derive(Debug, Clone, PartialEq)]
pub struct Discover {
    pub selector: Selector,
    /// CEL over `object`, yielding the value as a string.
    pub value: String,
    pub prefer: Option<(Selector, String)>,
}

#[derive(Debug, Clone)]
pub struct Profile {
    pub name: String,
    pub title: Option<String>,
    pub description: Option<String>,
    pub variables: Vec<(String, String)>,
}

#[derive(Debug, Clone)]
pub struct Manifest {
    pub url: String,
    pub file: PathBuf,
}

#[derive(Debug, Clone)]
pub struct Step {
    pub id: String,
    pub title: String,
    pub step_type: StepType,
    pub instructions: PathBuf,
    pub markdown: String,
    pub blocks: Vec<CodeBlock>,
    pub checks: Vec<Check>,
    pub hints: Vec<String>,
}

impl Step {
    pub fn checks_for<'a>(&'a self, profile: &'a str) -> impl Iterator<Item = &'a Check> + 'a {
        self.checks.iter().filter(move |c| c.applies_to(profile))
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Check {
    pub id: String,
    pub title: String,
    pub profiles: Option<Vec<String>>,
    pub body: Body,
    pub actual: Option<String>,
    pub fix: Option<String>,
    pub diagnoses: Vec<Diagnosis>,
    /// When the check does not apply, and why.
    pub skip: Option<Skip>,
    /// `file:line` where the check is defined, for error messages.
    pub origin: String,
}

impl Check {
    /// Every body the check evaluates: its own, its skip conditions', its diagnoses'
    /// conditions. The one walk planning, discovery (queries) and leftovers share.
    pub fn bodies(&self) -> impl Iterator<Item = &Body> {
        std::iter::once(&self.body)
            .chain(self.skip.iter().flat_map(|s| &s.when))
            .chain(self.diagnoses.iter().flat_map(|d| &d.when))
    }

    /// [`Check::bodies`], to rewrite them in place.
    pub fn bodies_mut(&mut self) -> impl Iterator<Item = &mut Body> {
        std::iter::once(&mut self.body)
            .chain(self.skip.iter_mut().flat_map(|s| &mut s.when))
            .chain(self.diagnoses.iter_mut().flat_map(|d| &mut d.when))
    }

    pub fn applies_to(&self, profile: &str) -> bool {
        self.profiles
            .as_ref()
            .is_none_or(|ps| ps.iter().any(|p| p == profile))
    }
}

/// `skip:` — the check is skipped (with `reason`) when every condition in `when` holds.
#[derive(Debug, Clone, PartialEq)]
pub struct Skip {
    pub when: Vec<Body>,
    pub reason: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Diagnosis {
    pub id: String,
    pub when: Vec<Body>,
    pub cause: String,
    pub fix: String,
}
