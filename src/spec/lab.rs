//! A lab after parsing and linting: plain values, no source positions. Everything downstream
//! (plan, grading, rendering) works on these types. Strings may still hold `{{ var }}`
//! placeholders; the plan substitutes them for one profile.

use crate::spec::markdown::CodeBlock;
pub use crate::spec::model::{Quantifier, StepType};
use serde_json::Value;
use std::path::PathBuf;
use std::time::Duration;

#[derive(Debug, Clone)]
pub struct Lab {
    pub name: String,
    pub title: String,
    pub summary: Option<String>,
    pub duration: Option<String>,
    pub dir: PathBuf,
    pub variables: Vec<Variable>,
    pub profiles: Vec<Profile>,
    pub manifests: Vec<Manifest>,
    pub steps: Vec<Step>,
}

#[derive(Debug, Clone)]
pub struct Variable {
    pub name: String,
    pub default: Option<String>,
    pub description: Option<String>,
    /// How to read the value from the cluster, when the lab says.
    pub discover: Option<Discover>,
    /// `pattern:`, compiled (an invalid one is a `validate` error, and then `None` here).
    pub pattern: Option<crate::spec::pattern::Pattern>,
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
    pub fn applies_to(&self, profile: &str) -> bool {
        self.profiles
            .as_ref()
            .is_none_or(|ps| ps.iter().any(|p| p == profile))
    }
}

/// What a check (or a diagnosis condition) looks at and expects.
#[derive(Debug, Clone, PartialEq)]
pub struct Body {
    pub target: Target,
    pub expect: Expect,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Target {
    Resource(Selector),
    Command(Command),
    Probe(Probe),
}

/// A functional probe: one HTTP request, made from labctl itself, from a short-lived probe pod,
/// or from inside an existing pod (exec). The result is judged by `Expect`'s probe fields.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Probe {
    pub from: ProbeFrom,
    pub http: HttpRequest,
    /// The whole probe, probe pod start-up included; the pod's `activeDeadlineSeconds`.
    pub timeout: Duration,
}

/// Where the request is made from.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ProbeFrom {
    /// labctl's own process (e.g. the ingress gateway's external address).
    Labctl,
    /// A short-lived pod labctl creates, runs once, and deletes.
    Pod(ProbePod),
    /// A pod that already runs (picked by labels), through `pods/exec`.
    Exec(ProbeExec),
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ProbePod {
    pub namespace: String,
    pub image: String,
    /// `false`: labelled `sidecar.istio.io/inject: "false"`, so it is outside the mesh whatever
    /// the namespace says; `true`: the namespace's injection decides, and a pod that got no
    /// sidecar is reported.
    pub mesh: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ProbeExec {
    pub namespace: String,
    pub labels: String,
    pub container: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct HttpRequest {
    pub target: HttpTarget,
    /// Overrides the URL's or the Service's port (a string: it may be a `{{ variable }}`).
    pub port: Option<String>,
    pub path: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum HttpTarget {
    Url(String),
    /// The external address of a LoadBalancer Service (`status.loadBalancer.ingress[0]`).
    Service {
        namespace: String,
        name: String,
    },
}

/// How a request failed below HTTP.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ConnError {
    Refused,
    Reset,
    Timeout,
    Dns,
    /// The TLS handshake was cut or refused (curl exit 35).
    Tls,
    /// The server answered with a certificate the client does not trust (curl exit 60): the
    /// host was reached, the client only declined to go on.
    Untrusted,
    /// The server closed the connection without a reply.
    Empty,
    Other,
}

impl ConnError {
    /// The failures that show something answered at the other end: a server whose certificate
    /// the client does not trust was reached.
    pub fn reached(self) -> bool {
        self == ConnError::Untrusted
    }

    /// The failures that happen before any mesh or server could answer (no name, no route,
    /// nobody listening, no answer at all): they prove nothing about what is in the path.
    pub fn before_any_answer(self) -> bool {
        matches!(
            self,
            ConnError::Dns | ConnError::Timeout | ConnError::Refused | ConnError::Other
        )
    }
}

/// `error: reset` or `error: [reset, empty]`: the ways a probe's request may fail.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ConnErrors(pub Vec<ConnError>);

impl<'de> serde::Deserialize<'de> for ConnErrors {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct OneOrMany;
        impl<'de> serde::de::Visitor<'de> for OneOrMany {
            type Value = ConnErrors;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a failure kind (reset) or a list of them ([reset, empty])")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<ConnErrors, E> {
                use serde::de::IntoDeserializer;
                let one = <ConnError as serde::Deserialize>::deserialize(v.into_deserializer())?;
                Ok(ConnErrors(vec![one]))
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(
                self,
                mut seq: A,
            ) -> Result<ConnErrors, A::Error> {
                let mut all = Vec::new();
                while let Some(e) = seq.next_element::<ConnError>()? {
                    if !all.contains(&e) {
                        all.push(e);
                    }
                }
                Ok(ConnErrors(all))
            }
        }
        d.deserialize_any(OneOrMany)
    }
}

impl std::fmt::Display for ConnErrors {
    /// "connection reset or empty reply"
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let words: Vec<String> = self.0.iter().map(ToString::to_string).collect();
        match words.split_last() {
            None => Ok(()),
            Some((last, [])) => f.write_str(last),
            Some((last, rest)) => write!(f, "{} or {last}", rest.join(", ")),
        }
    }
}

impl std::fmt::Display for ConnError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            ConnError::Refused => "connection refused",
            ConnError::Reset => "connection reset",
            ConnError::Timeout => "timed out",
            ConnError::Dns => "host name not resolved",
            ConnError::Tls => "TLS handshake failed",
            ConnError::Untrusted => "certificate not trusted",
            ConnError::Empty => "empty reply",
            ConnError::Other => "request failed",
        })
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Selector {
    pub api_version: String,
    pub kind: String,
    pub namespace: Option<String>,
    pub name: Option<String>,
    pub labels: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Command {
    pub run: String,
    pub timeout: Duration,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct Expect {
    pub quantifier: Quantifier,
    pub count: Option<Count>,
    pub match_: Option<Value>,
    pub cel: Option<String>,
    pub absent: bool,
    pub exit_code: i32,
    pub stdout: Option<TextMatch>,
    pub stderr: Option<TextMatch>,
    /// Probe: the HTTP status the response must have.
    pub status: Option<u16>,
    /// Probe: text the response body must contain.
    pub body_contains: Option<String>,
    /// Probe: the request must not succeed (a connection error, or a status of 400 or more).
    pub fails: bool,
    /// Probe: the request must fail below HTTP in one of these ways (the signature of the
    /// mechanism it proves); any other failure cannot prove it (an error, not a pass).
    pub error: Vec<ConnError>,
    /// Probe: the host must be reached: any HTTP status, or a certificate the client does not
    /// trust.
    pub reached: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub enum TextMatch {
    Equals(String),
    Contains(String),
    Matches(String),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CountOp {
    Eq,
    Ge,
    Le,
    Gt,
    Lt,
}

/// `count: ">= 4"`: how many selected objects must satisfy the expectation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Count {
    pub op: CountOp,
    pub n: usize,
}

impl Count {
    pub fn parse(s: &str) -> Option<Count> {
        let s = s.trim();
        let (op, rest) = [
            (">=", CountOp::Ge),
            ("<=", CountOp::Le),
            ("==", CountOp::Eq),
            (">", CountOp::Gt),
            ("<", CountOp::Lt),
            ("=", CountOp::Eq),
        ]
        .iter()
        .find_map(|(p, op)| s.strip_prefix(p).map(|r| (*op, r)))
        .unwrap_or((CountOp::Eq, s));
        rest.trim().parse().ok().map(|n| Count { op, n })
    }

    pub fn holds(&self, actual: usize) -> bool {
        match self.op {
            CountOp::Eq => actual == self.n,
            CountOp::Ge => actual >= self.n,
            CountOp::Le => actual <= self.n,
            CountOp::Gt => actual > self.n,
            CountOp::Lt => actual < self.n,
        }
    }
}

impl std::fmt::Display for Count {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let op = match self.op {
            CountOp::Eq => "exactly",
            CountOp::Ge => "at least",
            CountOp::Le => "at most",
            CountOp::Gt => "more than",
            CountOp::Lt => "fewer than",
        };
        write!(f, "{op} {}", self.n)
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_counts() {
        assert_eq!(
            Count::parse(">= 4"),
            Some(Count {
                op: CountOp::Ge,
                n: 4
            })
        );
        assert_eq!(
            Count::parse("2"),
            Some(Count {
                op: CountOp::Eq,
                n: 2
            })
        );
        assert_eq!(
            Count::parse("<1"),
            Some(Count {
                op: CountOp::Lt,
                n: 1
            })
        );
        assert_eq!(Count::parse("lots"), None);
        assert!(Count::parse(">=4").unwrap().holds(5));
        assert!(!Count::parse(">=4").unwrap().holds(3));
    }
}
