//! Snapshot files: the objects a plan needed, captured once, graded later (offline, in CI, by an
//! instructor). JSON, one file:
//!
//! ```json
//! {
//!   "snapshotVersion": 1,
//!   "lab": "istio-aks",
//!   "profile": "aks",
//!   "variables": {"revision": "asm-1-23"},
//!   "discovered": [{"variable": "revision", "value": "asm-1-23",
//!                   "origin": {"from": "cluster", "object": "Deployment istiod-asm-1-23 in aks-istio-system"}}],
//!   "capturedAt": "2025-05-01T12:00:00Z",
//!   "context": "aks-labs",
//!   "lists": [
//!     {"apiVersion": "v1", "kind": "Pod", "namespace": "pets", "items": [ ... ]},
//!     {"apiVersion": "networking.istio.io/v1", "kind": "Gateway",
//!      "error": {"reason": "notServed", "apiVersion": "networking.istio.io/v1", "kind": "Gateway"}}
//!   ]
//! }
//! ```
//!
//! `lists` holds exactly the queries captured, each with its objects or the [`FetchError`] the
//! capture got. A query not in the file reads as [`FetchError::NotInSnapshot`]. Stored objects
//! are sanitized ([`sanitize_object`]: no `managedFields`, no last-applied annotation).

use crate::plan::discover::Discovered;
use crate::plan::resolve::Plan;
use crate::readfile::{self, ReadError};
use crate::view::live::sanitize_object;
use crate::view::objects::{FetchError, ObjectSet};
use crate::view::query::Query;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// The only format version this build reads and writes.
pub const SNAPSHOT_VERSION: u32 = 1;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Snapshot {
    pub snapshot_version: u32,
    pub lab: String,
    pub profile: String,
    #[serde(default)]
    pub variables: BTreeMap<String, String>,
    /// The variables read from the cluster when it was captured, and where each came from.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub discovered: Vec<Discovered>,
    /// RFC 3339, UTC.
    pub captured_at: String,
    /// The kubeconfig context captured from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub context: Option<String>,
    pub lists: Vec<SnapshotList>,
}

/// One captured query: its objects, or why there are none.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SnapshotList {
    pub api_version: String,
    pub kind: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub items: Option<Vec<Value>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<FetchError>,
}

impl SnapshotList {
    pub fn query(&self) -> Query {
        Query {
            api_version: self.api_version.clone(),
            kind: self.kind.clone(),
            namespace: self.namespace.clone(),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum SnapshotError {
    /// The reason is part of the message, not a cause: said once, with the file.
    #[error("cannot read snapshot {}: {reason}", .reason.place(.path))]
    Read {
        path: PathBuf,
        reason: Box<ReadError>,
    },
    #[error("cannot write snapshot {}", .path.display())]
    Write {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// Not JSON, or JSON of the wrong shape (`at` is the JSON path, e.g. `lists[2].items`).
    #[error("{}:{line}:{column}: broken snapshot{}: {message}", .path.display(), at_path(.at))]
    Broken {
        path: PathBuf,
        line: usize,
        column: usize,
        at: Option<String>,
        message: String,
    },
    #[error("{} is not a labctl snapshot (no `snapshotVersion`)", .path.display())]
    NotASnapshot { path: PathBuf },
    #[error(
        "{}: snapshot version {found} is not supported (this labctl reads version {SNAPSHOT_VERSION})",
        .path.display()
    )]
    UnsupportedVersion { path: PathBuf, found: Value },
    /// Well-formed JSON that breaks a rule of the format (e.g. a list with both items and error).
    #[error("{}: invalid snapshot: {message}", .path.display())]
    Invalid { path: PathBuf, message: String },
}

fn at_path(at: &Option<String>) -> String {
    at.as_ref()
        .map(|p| format!(" at `{p}`"))
        .unwrap_or_default()
}

impl Snapshot {
    /// A snapshot of `objects`, fetched for `plan`, captured now. Objects are sanitized;
    /// `NotInSnapshot` entries (nothing was fetched) are left out.
    pub fn capture(plan: &Plan, context: Option<String>, objects: &ObjectSet) -> Snapshot {
        let lists = objects
            .lists
            .iter()
            .filter(|(_, r)| !matches!(r, Err(FetchError::NotInSnapshot)))
            .map(|(q, r)| {
                let (items, error) = match r {
                    Ok(items) => (
                        Some(
                            items
                                .iter()
                                .cloned()
                                .map(|mut o| {
                                    sanitize_object(&mut o);
                                    o
                                })
                                .collect(),
                        ),
                        None,
                    ),
                    Err(e) => (None, Some(e.clone())),
                };
                SnapshotList {
                    api_version: q.api_version.clone(),
                    kind: q.kind.clone(),
                    namespace: q.namespace.clone(),
                    items,
                    error,
                }
            })
            .collect();
        Snapshot {
            snapshot_version: SNAPSHOT_VERSION,
            lab: plan.lab.clone(),
            profile: plan.profile.clone(),
            variables: plan.values.clone(),
            discovered: plan.discovered.clone(),
            captured_at: now_rfc3339(),
            context,
            lists,
        }
    }

    /// The objects of this snapshot, keyed by query (a query not captured reads as
    /// `NotInSnapshot` through [`ObjectSet::get`]).
    pub fn to_object_set(&self) -> ObjectSet {
        let mut set = ObjectSet::default();
        for l in &self.lists {
            let res = match (&l.items, &l.error) {
                (_, Some(e)) => Err(e.clone()),
                (Some(items), None) => Ok(items.clone()),
                (None, None) => Ok(Vec::new()),
            };
            set.insert(l.query(), res);
        }
        set
    }

    /// The queries captured.
    pub fn queries(&self) -> BTreeSet<Query> {
        self.lists.iter().map(SnapshotList::query).collect()
    }
}

/// Now, as RFC 3339 in UTC with whole seconds (`2025-05-01T12:00:00Z`).
pub fn now_rfc3339() -> String {
    use k8s_openapi::jiff::{Timestamp, Unit};
    Timestamp::now()
        .round(Unit::Second)
        .unwrap_or_else(|_| Timestamp::now())
        .to_string()
}

/// Writes `snap` as pretty JSON, atomically: a temporary file beside `path`, then a rename, so
/// readers never see half a snapshot and a failed write leaves any old file intact.
pub fn write_snapshot(path: &Path, snap: &Snapshot) -> Result<(), SnapshotError> {
    let err = |source| SnapshotError::Write {
        path: path.to_owned(),
        source,
    };
    let mut sanitized = snap.clone();
    for l in &mut sanitized.lists {
        for o in l.items.iter_mut().flatten() {
            sanitize_object(o);
        }
    }
    let mut text = serde_json::to_vec_pretty(&sanitized).map_err(|e| err(e.into()))?;
    text.push(b'\n');
    crate::fsutil::write_atomic(path, &text).map_err(err)
}

/// Reads and checks a snapshot file; every error names the file, and broken JSON its line and
/// column.
pub fn read_snapshot(path: &Path) -> Result<Snapshot, SnapshotError> {
    let text = readfile::read_text(path, readfile::SNAPSHOT_LIMIT).map_err(|reason| {
        SnapshotError::Read {
            path: path.to_owned(),
            reason: Box::new(reason),
        }
    })?;
    parse_snapshot(path, &text)
}

/// [`read_snapshot`] on text already read (`path` is only for messages).
pub fn parse_snapshot(path: &Path, text: &str) -> Result<Snapshot, SnapshotError> {
    let broken = |e: &serde_json::Error, at: Option<String>| SnapshotError::Broken {
        path: path.to_owned(),
        line: e.line(),
        column: e.column(),
        at,
        message: match strip_location(&e.to_string()) {
            m if m.starts_with("recursion limit exceeded") => {
                "lists and objects are nested too deeply (more than 128 levels)".into()
            }
            m => m,
        },
    };
    // Syntax first (with the position), then the format marker, then the shape.
    let value: Value = serde_json::from_str(text).map_err(|e| broken(&e, None))?;
    let Some(version) = value.as_object().and_then(|o| o.get("snapshotVersion")) else {
        return Err(SnapshotError::NotASnapshot {
            path: path.to_owned(),
        });
    };
    if version.as_u64() != Some(SNAPSHOT_VERSION as u64) {
        return Err(SnapshotError::UnsupportedVersion {
            path: path.to_owned(),
            found: version.clone(),
        });
    }
    drop(value);
    let mut de = serde_json::Deserializer::from_str(text);
    let snap: Snapshot = serde_path_to_error::deserialize(&mut de).map_err(|e| {
        let at = e.path().to_string();
        broken(e.inner(), (at != ".").then_some(at))
    })?;
    let invalid = |message: String| SnapshotError::Invalid {
        path: path.to_owned(),
        message,
    };
    let mut seen = BTreeSet::new();
    for (i, l) in snap.lists.iter().enumerate() {
        if l.items.is_some() == l.error.is_some() {
            return Err(invalid(format!(
                "lists[{i}] ({}) must have exactly one of `items` and `error`",
                l.query()
            )));
        }
        if matches!(l.error, Some(FetchError::NotInSnapshot)) {
            return Err(invalid(format!(
                "lists[{i}] ({}) has error `notInSnapshot`, which is not a capture result",
                l.query()
            )));
        }
        if !seen.insert(l.query()) {
            return Err(invalid(format!(
                "lists[{i}] ({}) is captured twice",
                l.query()
            )));
        }
    }
    Ok(snap)
}

/// serde_json appends " at line L column C"; the error shows the position up front already.
fn strip_location(msg: &str) -> String {
    match msg.rfind(" at line ") {
        Some(i) => msg[..i].to_owned(),
        None => msg.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn sample() -> Snapshot {
        Snapshot {
            snapshot_version: 1,
            lab: "istio-aks".into(),
            profile: "aks".into(),
            variables: [("revision".to_string(), "asm-1-23".to_string())].into(),
            discovered: Vec::new(),
            captured_at: "2025-05-01T12:00:00Z".into(),
            context: Some("aks-labs".into()),
            lists: vec![
                SnapshotList {
                    api_version: "v1".into(),
                    kind: "Pod".into(),
                    namespace: Some("pets".into()),
                    items: Some(vec![json!({"apiVersion": "v1", "kind": "Pod",
                        "metadata": {"name": "a", "namespace": "pets",
                            "managedFields": [{"manager": "x"}]}})]),
                    error: None,
                },
                SnapshotList {
                    api_version: "networking.istio.io/v1".into(),
                    kind: "Gateway".into(),
                    namespace: None,
                    items: None,
                    error: Some(FetchError::NotServed {
                        api_version: "networking.istio.io/v1".into(),
                        kind: "Gateway".into(),
                    }),
                },
            ],
        }
    }

    #[test]
    fn round_trip_strips_noise() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("s.json");
        write_snapshot(&p, &sample()).unwrap();
        let back = read_snapshot(&p).unwrap();
        let set = back.to_object_set();
        let pods = set.get(&sample().lists[0].query()).unwrap();
        assert!(pods[0]["metadata"].get("managedFields").is_none());
        assert_eq!(back.lists[1], sample().lists[1]);
        // Nothing else in the directory (the temp file was renamed).
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
        let text = std::fs::read_to_string(&p).unwrap();
        assert!(text.contains("\"reason\": \"notServed\""), "{text}");
    }

    #[test]
    fn broken_files_are_located() {
        let p = Path::new("snap.json");
        let e = parse_snapshot(p, "{\n  \"snapshotVersion\": 1,\n  \"lab\": \n}").unwrap_err();
        assert!(matches!(e, SnapshotError::Broken { line: 4, .. }), "{e:?}");
        assert!(
            e.to_string().starts_with("snap.json:4:1: broken snapshot"),
            "{e}"
        );

        let e = parse_snapshot(p, "{\"apiVersion\": \"v1\", \"kind\": \"List\"}").unwrap_err();
        assert_eq!(
            e.to_string(),
            "snap.json is not a labctl snapshot (no `snapshotVersion`)"
        );
        let e = parse_snapshot(p, "[1, 2]").unwrap_err();
        assert!(matches!(e, SnapshotError::NotASnapshot { .. }), "{e}");
        let e = parse_snapshot(p, "{\"snapshotVersion\": 7}").unwrap_err();
        assert!(e.to_string().contains("version 7 is not supported"), "{e}");

        let mut v = serde_json::to_value(sample()).unwrap();
        v["lists"][1]["items"] = json!("nope");
        let text = serde_json::to_string_pretty(&v).unwrap();
        let e = parse_snapshot(p, &text).unwrap_err();
        assert!(e.to_string().contains("at `lists[1].items`"), "{e}");
        assert!(matches!(e, SnapshotError::Broken { .. }), "{e}");

        let mut v = serde_json::to_value(sample()).unwrap();
        v["lists"][1]["items"] = json!([]);
        let e = parse_snapshot(p, &v.to_string()).unwrap_err();
        assert!(e.to_string().contains("exactly one of"), "{e}");
    }
}
