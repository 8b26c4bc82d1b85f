//! A `probe:` check as written (`ProbeDecl`) and validated (`ProbeBody`): one HTTP request,
//! from labctl, a probe pod or an existing pod, judged by what came back.

use serde::Deserialize;
use serde_saphyr::Spanned;
use std::time::Duration;

type S = Spanned<String>;

/// A functional probe as written: where from (`pod`, `exec`, or neither: labctl itself) and
/// which request (`http`).
#[derive(Debug, Deserialize, Clone)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ProbeDecl {
    #[serde(default)]
    pub pod: Option<Spanned<ProbePodDecl>>,
    #[serde(default)]
    pub exec: Option<Spanned<ProbeExecDecl>>,
    pub http: Spanned<HttpDecl>,
    #[serde(default)]
    pub timeout: Option<S>,
}

#[derive(Debug, Deserialize, Clone)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ProbePodDecl {
    pub namespace: String,
    #[serde(default)]
    pub image: Option<String>,
    #[serde(default)]
    pub mesh: bool,
}

#[derive(Debug, Deserialize, Clone)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ProbeExecDecl {
    pub namespace: String,
    pub labels: S,
    #[serde(default)]
    pub container: Option<String>,
}

#[derive(Debug, Deserialize, Clone)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct HttpDecl {
    #[serde(default)]
    pub url: Option<S>,
    #[serde(default)]
    pub service: Option<ServiceRefDecl>,
    #[serde(default)]
    pub port: Option<PortDecl>,
    #[serde(default)]
    pub path: Option<S>,
}

#[derive(Debug, Deserialize, Clone)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ServiceRefDecl {
    pub namespace: String,
    pub name: String,
}

/// A port: a number, or a string (which may be a `{{ variable }}`).
#[derive(Debug, Deserialize, Clone)]
#[serde(untagged)]
pub enum PortDecl {
    Number(u16),
    Text(String),
}

/// A probe check: make `probe`'s request, judge the reply by `expect`.
#[derive(Debug, Clone, PartialEq)]
pub struct ProbeBody {
    pub probe: Probe,
    pub expect: ProbeExpect,
}

/// What the reply must be: one of four expectations, which the YAML writes as fields that do
/// not go together (`status`/`bodyContains`, `fails`, `error`, `reached`; see the lint).
#[derive(Debug, Clone, PartialEq)]
pub enum ProbeExpect {
    /// An HTTP reply: this `status` (none: any below 400), a body containing this text.
    Reply {
        status: Option<u16>,
        body_contains: Option<String>,
    },
    /// `fails: true`: the request must not succeed (a connection error, or a status of 400 or
    /// more).
    Fails,
    /// `error:`: the request must fail below HTTP in one of these ways (the signature of the
    /// mechanism it proves); any other failure cannot prove it (an error, not a pass).
    Error(Vec<ConnError>),
    /// `reached: true`: the host must be reached: any HTTP status, or a certificate the client
    /// does not trust.
    Reached,
}

impl Default for ProbeExpect {
    /// No `expect:`: the request must succeed.
    fn default() -> Self {
        ProbeExpect::Reply {
            status: None,
            body_contains: None,
        }
    }
}

impl ProbeExpect {
    pub fn status(&self) -> Option<u16> {
        match self {
            ProbeExpect::Reply { status, .. } => *status,
            _ => None,
        }
    }
    pub fn body_contains(&self) -> Option<&String> {
        match self {
            ProbeExpect::Reply { body_contains, .. } => body_contains.as_ref(),
            _ => None,
        }
    }
    pub fn fails(&self) -> bool {
        *self == ProbeExpect::Fails
    }
    /// The failures `error:` names (none for the other expectations).
    pub fn errors(&self) -> &[ConnError] {
        match self {
            ProbeExpect::Error(errs) => errs,
            _ => &[],
        }
    }
    pub fn reached(&self) -> bool {
        *self == ProbeExpect::Reached
    }
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
