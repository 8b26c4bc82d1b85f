//! The API server's audit log, read back as events.
//!
//! Every control plane runs with `--audit-log-path <dir>/audit.log` and a policy that records every
//! request at `Metadata` level (who, verb, what; no bodies), omitting the `RequestReceived` stage.
//! That is how tests prove what labctl did to a cluster: that grading is read-only, and how many
//! requests it made. Filter by user: labctl grades as `learner` (or a fresh `learner-N`, see
//! [`ControlPlane::fresh_learner`](super::ControlPlane::fresh_learner)).
//!
//! The log is written as JSON lines while requests complete; use
//! [`ControlPlane::audit_events`](super::ControlPlane::audit_events), which first waits for a marker
//! request to appear, so that everything a test did before is in the file.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

/// The audit policy every control plane runs with.
pub const AUDIT_POLICY: &str = "\
apiVersion: audit.k8s.io/v1
kind: Policy
omitStages: [RequestReceived]
rules:
- level: Metadata
";

/// One `ResponseComplete` audit event (only the fields tests look at).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuditEvent {
    pub verb: String,
    pub user: String,
    pub groups: Vec<String>,
    pub user_agent: String,
    pub request_uri: String,
    pub api_group: String,
    pub api_version: String,
    pub resource: String,
    pub subresource: String,
    pub namespace: String,
    pub name: String,
    /// HTTP status code of the response (0 when the server recorded none).
    pub code: u16,
    pub stage: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Raw {
    stage: String,
    verb: String,
    #[serde(default)]
    #[serde(rename = "requestURI")]
    request_uri: String,
    user: RawUser,
    #[serde(default)]
    user_agent: String,
    object_ref: Option<RawRef>,
    response_status: Option<RawStatus>,
}
#[derive(Deserialize)]
struct RawUser {
    #[serde(default)]
    username: String,
    #[serde(default)]
    groups: Vec<String>,
}
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawRef {
    #[serde(default)]
    resource: String,
    #[serde(default)]
    subresource: String,
    #[serde(default)]
    namespace: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    api_group: String,
    #[serde(default)]
    api_version: String,
}
#[derive(Deserialize)]
struct RawStatus {
    #[serde(default)]
    code: u16,
}

/// Parses JSON-lines audit text; keeps `ResponseComplete` events, skips a half-written last line.
pub fn parse_audit_log(text: &str) -> Vec<AuditEvent> {
    text.lines()
        .filter_map(|line| serde_json::from_str::<Raw>(line).ok())
        .filter(|raw| raw.stage == "ResponseComplete")
        .map(|raw| {
            let r = raw.object_ref.unwrap_or(RawRef {
                resource: String::new(),
                subresource: String::new(),
                namespace: String::new(),
                name: String::new(),
                api_group: String::new(),
                api_version: String::new(),
            });
            AuditEvent {
                verb: raw.verb,
                user: raw.user.username,
                groups: raw.user.groups,
                user_agent: raw.user_agent,
                request_uri: raw.request_uri,
                api_group: r.api_group,
                api_version: r.api_version,
                resource: r.resource,
                subresource: r.subresource,
                namespace: r.namespace,
                name: r.name,
                code: raw.response_status.map(|s| s.code).unwrap_or(0),
                stage: raw.stage,
            }
        })
        .collect()
}

/// Handle on one API server's audit log file.
#[derive(Clone, Debug)]
pub struct AuditLog {
    path: PathBuf,
}

impl AuditLog {
    pub fn new(path: PathBuf) -> AuditLog {
        AuditLog { path }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// All `ResponseComplete` events written so far.
    pub fn events(&self) -> Vec<AuditEvent> {
        parse_audit_log(&std::fs::read_to_string(&self.path).unwrap_or_default())
    }

    /// Polls the log until `pred` holds for its events (returned), or panics after `timeout`.
    pub async fn wait_for(
        &self,
        what: &str,
        timeout: Duration,
        pred: impl Fn(&[AuditEvent]) -> bool,
    ) -> Vec<AuditEvent> {
        super::wait_until(what, timeout, || {
            let events = self.events();
            let ok = pred(&events);
            async move {
                if ok {
                    Ok(events)
                } else {
                    Err(format!(
                        "{} events in {}",
                        events.len(),
                        self.path.display()
                    ))
                }
            }
        })
        .await
    }
}

/// The events of `user`.
pub fn by_user<'a>(events: &'a [AuditEvent], user: &str) -> Vec<&'a AuditEvent> {
    events.iter().filter(|e| e.user == user).collect()
}

/// Asserts that `events` are only reads (get/list/watch) with at most one LIST per
/// (resource, namespace) — what labctl promises of a grade — and returns the LISTs counted
/// that way (resource as RBAC names it: `pods`, `deployments.apps`). `what` names the run.
pub fn assert_reads_listing_once(
    what: &str,
    events: &[AuditEvent],
) -> std::collections::BTreeMap<(String, String), usize> {
    let writes: Vec<String> = events
        .iter()
        .filter(|e| !matches!(e.verb.as_str(), "get" | "list" | "watch"))
        .map(|e| format!("{} {}", e.verb, e.request_uri))
        .collect();
    assert!(
        writes.is_empty(),
        "{what} sent non-read requests: {writes:?}"
    );
    let mut lists = std::collections::BTreeMap::new();
    for e in events.iter().filter(|e| e.verb == "list") {
        let resource = if e.api_group.is_empty() {
            e.resource.clone()
        } else {
            format!("{}.{}", e.resource, e.api_group)
        };
        *lists.entry((resource, e.namespace.clone())).or_default() += 1;
    }
    let repeated: Vec<String> = lists
        .iter()
        .filter(|(_, n)| **n > 1)
        .map(|((r, ns), n)| format!("{r} in {ns:?}: {n} LISTs"))
        .collect();
    assert!(
        repeated.is_empty(),
        "{what} listed a (resource, namespace) more than once: {repeated:?}"
    );
    lists
}

/// Verbs that change state (what a read-only grader must never send).
pub fn is_mutating(verb: &str) -> bool {
    matches!(
        verb,
        "create" | "update" | "patch" | "delete" | "deletecollection"
    )
}
