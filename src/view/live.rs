//! Fetching a plan's queries from a live cluster.
//!
//! One LIST per query (no pagination, no watch), all at once (at most
//! [`FetchOptions::concurrency`] in flight), each where its kind is known or conventionally is
//! ([`Kinds`](crate::view::kinds::Kinds): built-in kinds, the conventional path of a custom
//! resource, what this server said earlier in the run) — no discovery round first. Only the
//! queries whose LIST found nothing there (404), or was refused (403) at a guessed place, ask
//! discovery, once per group/version (`GET /api/v1`, `GET /apis/<g>/<v>`; not aggregated
//! discovery, which 1.20 servers lack), and are listed again where it says, or reported as not
//! served. On the connection of [`Connection`] (one HTTP/2 connection per cluster), a grade
//! then costs one round trip for all its LISTs.
//!
//! The whole fetch runs against one deadline, so a dead or black-holed API server costs at most
//! the timeout, never a hang. Every failure is kept per query (see [`FetchError`]); nothing here
//! panics or aborts the other queries. Only `get` and `list` are ever sent.
//!
//! Objects are returned as JSON with `apiVersion` and `kind` set (a list omits them on its items),
//! and with the same noise removed as in snapshots ([`sanitize_object`]), so a live view and a
//! snapshot of it grade identically. Secrets are never fetched: a query for kind `Secret` is
//! refused without a request.
//!
//! A LIST's items are read one at a time from the response text (never the whole list as one
//! `Value`, which with `managedFields` is several times the objects kept). [`fetch_report`] keeps
//! them parsed; [`fetch_items`] lets a caller that holds many lists at once keep them in another
//! form ([`ListItem`]; a class report keeps compact JSON text).

use crate::view::connect::Connection;
use crate::view::kinds::Place;
use crate::view::objects::{FetchError, ObjectSet};
use crate::view::query::Query;
use futures::StreamExt;
use kube::Client;
use kube::api::ListParams;
use kube::core::gvk::GroupVersion;
use kube::discovery::{ApiGroup, ApiResource};
use serde_json::Value;
use serde_json::value::RawValue;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// Default bound on requests in flight. They share one HTTP/2 connection, so the bound costs
/// no connections; it is high enough for a whole grade (~25 LISTs) to go out at once — with 16,
/// the LISTs past the 16th waited for an answer, a round trip more on a far cluster — and well
/// under what API servers allow on one connection (Go's default: 250 streams).
pub const DEFAULT_CONCURRENCY: usize = 64;

/// How to fetch.
#[derive(Debug, Clone)]
pub struct FetchOptions {
    /// Deadline for the whole fetch (discovery and lists together).
    pub timeout: Duration,
    /// At most this many requests in flight.
    pub concurrency: usize,
    /// The API server URL, named in `Unreachable` messages ("connection refused at <url>").
    pub server_url: Option<String>,
}

impl FetchOptions {
    pub fn new(timeout: Duration) -> FetchOptions {
        FetchOptions {
            timeout,
            concurrency: DEFAULT_CONCURRENCY,
            server_url: None,
        }
    }

    pub fn server_url(mut self, url: impl Into<String>) -> FetchOptions {
        self.server_url = Some(url.into());
        self
    }
}

/// How a fetch holds each listed object, made from the object as parsed (with `apiVersion` and
/// `kind` set, sanitized).
pub trait ListItem: Send + Sized {
    fn from_object(obj: Value) -> Self;
}

impl ListItem for Value {
    fn from_object(obj: Value) -> Value {
        obj
    }
}

/// What a fetch produced, and what it cost.
#[derive(Debug, Clone)]
pub struct FetchReport<T = Value> {
    pub objects: ObjectSet<T>,
    /// Discovery requests sent (one per group/version that needed one; none when every kind
    /// was where it was expected).
    pub discovery_requests: usize,
    /// LIST requests sent (one per query, a second one for a query discovery corrected).
    pub list_requests: usize,
    pub elapsed: Duration,
}

impl<T> FetchReport<T> {
    /// Every request sent (discovery + lists).
    pub fn requests(&self) -> usize {
        self.discovery_requests + self.list_requests
    }
}

/// Fetches every query (see the module docs); per-query failures are in the returned set.
pub async fn fetch(conn: &Connection, queries: &BTreeSet<Query>, timeout: Duration) -> ObjectSet {
    fetch_report(conn, queries, &FetchOptions::new(timeout))
        .await
        .objects
}

/// Like [`fetch`], with options and the number of requests made.
pub async fn fetch_report(
    conn: &Connection,
    queries: &BTreeSet<Query>,
    opts: &FetchOptions,
) -> FetchReport {
    fetch_items(conn, queries, opts).await
}

/// One fetch in progress: the connection, the deadline, what was sent.
struct Fetch<'a> {
    conn: &'a Connection,
    opts: &'a FetchOptions,
    deadline: tokio::time::Instant,
    discovery_requests: AtomicUsize,
    list_requests: AtomicUsize,
}

/// A LIST's outcome before it is judged: objects, the server's error, or the deadline.
type Listed<T> = Result<Result<Vec<T>, kube::Error>, tokio::time::error::Elapsed>;

impl Fetch<'_> {
    fn server(&self) -> Option<&str> {
        self.opts.server_url.as_deref()
    }

    fn timed_out(&self) -> FetchError {
        timed_out(self.server(), self.opts.timeout)
    }

    /// Each query listed at its place, all at once (bounded).
    async fn list_all<'q, T: ListItem>(
        &self,
        planned: Vec<(&'q Query, Place)>,
    ) -> Vec<(&'q Query, Place, Listed<T>)> {
        futures::stream::iter(planned)
            .map(|(q, place)| async move {
                self.list_requests.fetch_add(1, Ordering::Relaxed);
                let path = place.url_path(q.namespace.as_deref());
                let res =
                    tokio::time::timeout_at(self.deadline, list(&self.conn.client, &path, &place))
                        .await;
                (q, place, res)
            })
            .buffer_unordered(self.opts.concurrency.max(1))
            .collect()
            .await
    }

    /// Discovery for each group/version, all at once (bounded).
    async fn discover(
        &self,
        api_versions: impl Iterator<Item = String>,
    ) -> BTreeMap<String, Result<ApiGroup, FetchError>> {
        futures::stream::iter(api_versions)
            .map(|api_version| async move {
                let gv = match parse_gv(&api_version) {
                    Ok(gv) => gv,
                    Err(bad) => return (api_version, Err(bad.into())),
                };
                self.discovery_requests.fetch_add(1, Ordering::Relaxed);
                let res = tokio::time::timeout_at(
                    self.deadline,
                    kube::discovery::pinned_group(&self.conn.client, &gv),
                )
                .await;
                let res = match res {
                    Err(_) => Err(self.timed_out()),
                    Ok(Ok(group)) => Ok(group),
                    Ok(Err(e)) => Err(discovery_error(&api_version, e, self.server())),
                };
                (api_version, res)
            })
            .buffer_unordered(self.opts.concurrency.max(1))
            .collect()
            .await
    }

    /// A LIST's outcome for `q`; a success is remembered as where the kind is.
    fn judge<T>(&self, q: &Query, place: &Place, res: Listed<T>) -> Result<Vec<T>, FetchError> {
        let kinds = &self.conn.kinds;
        let ns = place.namespace(q.namespace.as_deref());
        match res {
            Err(_) => Err(self.timed_out()),
            Ok(Ok(items)) => {
                kinds.listed(&q.api_version, &q.kind, place, ns.is_some());
                Ok(items)
            }
            Ok(Err(e)) => {
                if matches!(&e, kube::Error::Api(s) if s.code == 404) {
                    kinds.forget(&q.api_version, &q.kind);
                }
                Err(list_error(q, &place.resource, ns, e, self.server()))
            }
        }
    }
}

/// Like [`fetch_report`], each object held as `T`.
pub async fn fetch_items<T: ListItem>(
    conn: &Connection,
    queries: &BTreeSet<Query>,
    opts: &FetchOptions,
) -> FetchReport<T> {
    let started = Instant::now();
    let f = Fetch {
        conn,
        opts,
        deadline: tokio::time::Instant::now() + opts.timeout,
        discovery_requests: AtomicUsize::new(0),
        list_requests: AtomicUsize::new(0),
    };
    let mut objects = ObjectSet::default();

    // Refuse what we never fetch; the rest is listed where its kind is expected.
    let mut planned = Vec::new();
    for q in queries {
        if q.kind.eq_ignore_ascii_case("Secret") {
            objects.insert(
                q.clone(),
                Err(FetchError::Other {
                    message: "labctl never reads Secrets".into(),
                }),
            );
        } else if let Err(bad) = parse_gv(&q.api_version) {
            objects.insert(q.clone(), Err(bad.into()));
        } else {
            planned.push((q, conn.kinds.place(&q.api_version, &q.kind)));
        }
    }

    // Round 1: every LIST at once.
    let mut unsure: BTreeMap<String, Vec<(&Query, Place, FetchError)>> = BTreeMap::new();
    for (q, place, res) in f.list_all::<T>(planned).await {
        match f.judge(q, &place, res) {
            Ok(items) => objects.insert(q.clone(), Ok(items)),
            // Not there: not served, or somewhere else. A refusal at a guessed place may hide
            // a kind that is not served at all.
            Err(e @ FetchError::NotServed { .. }) => unsure
                .entry(q.api_version.clone())
                .or_default()
                .push((q, place, e)),
            Err(e @ FetchError::Forbidden { .. }) if !place.known => unsure
                .entry(q.api_version.clone())
                .or_default()
                .push((q, place, e)),
            Err(e) => objects.insert(q.clone(), Err(e)),
        }
    }
    if unsure.is_empty() {
        return f.report(objects, started);
    }

    // Round 2, only for those: discovery, once per group/version, then where it says.
    let groups = f.discover(unsure.keys().cloned()).await;
    let mut again = Vec::new();
    for (api_version, entries) in &unsure {
        for (q, tried, said) in entries {
            let found = match &groups[api_version] {
                Err(FetchError::NotServed { .. }) => Err(not_served(q)),
                // Discovery failing says less than the LIST's own refusal.
                Err(_) if matches!(said, FetchError::Forbidden { .. }) => Err(said.clone()),
                Err(e) => Err(e.clone()),
                Ok(group) => group.recommended_kind(&q.kind).ok_or_else(|| not_served(q)),
            };
            let (resource, caps) = match found {
                Ok(found) => found,
                Err(e) => {
                    conn.kinds.forget(&q.api_version, &q.kind);
                    objects.insert((*q).clone(), Err(e));
                    continue;
                }
            };
            conn.kinds.learn(
                &q.api_version,
                &q.kind,
                resource.clone(),
                caps.scope.clone(),
            );
            let place = conn.kinds.place(&q.api_version, &q.kind);
            let same =
                place.url_path(q.namespace.as_deref()) == tried.url_path(q.namespace.as_deref());
            if !caps.supports_operation("list") {
                objects.insert(
                    (*q).clone(),
                    Err(FetchError::Other {
                        message: format!(
                            "the cluster does not allow listing {}",
                            resource_name(&resource)
                        ),
                    }),
                );
            } else if same && matches!(said, FetchError::Forbidden { .. }) {
                objects.insert((*q).clone(), Err(said.clone()));
            } else {
                // Elsewhere; or right there, served since (a CRD just established).
                again.push((*q, place));
            }
        }
    }
    for (q, place, res) in f.list_all::<T>(again).await {
        let res = f.judge(q, &place, res);
        objects.insert(q.clone(), res);
    }
    f.report(objects, started)
}

impl Fetch<'_> {
    fn report<T>(self, objects: ObjectSet<T>, started: Instant) -> FetchReport<T> {
        FetchReport {
            objects,
            discovery_requests: self.discovery_requests.into_inner(),
            list_requests: self.list_requests.into_inner(),
            elapsed: started.elapsed(),
        }
    }
}

/// The error that means nothing could be graded: every query failed because the cluster could
/// not be reached or rejected the credentials. `None` when at least one query got an answer
/// (then failures are per check), or when there were no queries.
pub fn first_fatal(objects: &ObjectSet) -> Option<&FetchError> {
    let mut first = None;
    for res in objects.lists.values() {
        match res {
            Err(e @ (FetchError::Unreachable { .. } | FetchError::Unauthorized { .. })) => {
                first.get_or_insert(e);
            }
            _ => return None,
        }
    }
    first
}

/// Removes what grading never needs and a snapshot must not keep: `metadata.managedFields`
/// (noise) and the `kubectl.kubernetes.io/last-applied-configuration` annotation (a copy of the
/// whole object as applied, which may carry credentials in env values).
pub fn sanitize_object(obj: &mut Value) {
    let Some(meta) = obj.get_mut("metadata").and_then(Value::as_object_mut) else {
        return;
    };
    meta.remove("managedFields");
    if let Some(ann) = meta.get_mut("annotations").and_then(Value::as_object_mut) {
        ann.remove(LAST_APPLIED);
        if ann.is_empty() {
            meta.remove("annotations");
        }
    }
}

pub const LAST_APPLIED: &str = "kubectl.kubernetes.io/last-applied-configuration";

async fn list<T: ListItem>(
    client: &Client,
    path: &str,
    place: &Place,
) -> Result<Vec<T>, kube::Error> {
    let ar = &place.resource;
    let req = kube::core::Request::new(path)
        .list(&ListParams::default())
        .map_err(kube::Error::BuildRequest)?;
    let text = client.request_text(req).await?;
    list_items(&text)
        .and_then(|items| {
            items
                .into_iter()
                .map(|raw| {
                    let mut obj: Value = serde_json::from_str(raw.get())?;
                    if let Some(map) = obj.as_object_mut() {
                        map.insert("apiVersion".into(), Value::String(ar.api_version.clone()));
                        map.insert("kind".into(), Value::String(ar.kind.clone()));
                    }
                    sanitize_object(&mut obj);
                    Ok(T::from_object(obj))
                })
                .collect()
        })
        .map_err(kube::Error::SerdeError)
}

/// The items of a LIST response, each as its text. No items when there are none to read:
/// `items: null` (how an empty list is sometimes sent), missing, or not an array. An error only
/// when the response is not JSON.
fn list_items(text: &str) -> Result<Vec<&RawValue>, serde_json::Error> {
    #[derive(serde::Deserialize)]
    struct List<'a> {
        #[serde(borrow)]
        items: Option<&'a RawValue>,
    }
    match serde_json::from_str::<List>(text) {
        Ok(List { items: Some(items) }) => {
            Ok(serde_json::from_str(items.get()).unwrap_or_default())
        }
        Ok(List { items: None }) => Ok(Vec::new()),
        Err(e) => match serde_json::from_str::<serde::de::IgnoredAny>(text) {
            Ok(_) => Ok(Vec::new()),
            Err(_) => Err(e),
        },
    }
}

/// A query's `apiVersion` that is not `group/version` or `v1`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{0}` is not an apiVersion (group/version or v1)")]
pub struct BadApiVersion(String);

impl From<BadApiVersion> for FetchError {
    fn from(e: BadApiVersion) -> Self {
        FetchError::Other {
            message: e.to_string(),
        }
    }
}

fn parse_gv(api_version: &str) -> Result<GroupVersion, BadApiVersion> {
    let bad = || BadApiVersion(api_version.to_owned());
    let parts: Vec<&str> = api_version.split('/').collect();
    let ok = match parts.as_slice() {
        [v] => !v.is_empty(),
        [g, v] => !g.is_empty() && !v.is_empty(),
        _ => false,
    };
    if !ok {
        return Err(bad());
    }
    api_version.parse::<GroupVersion>().map_err(|_| bad())
}

fn not_served(q: &Query) -> FetchError {
    FetchError::NotServed {
        api_version: q.api_version.clone(),
        kind: q.kind.clone(),
    }
}

/// `pods`, `deployments.apps`: how RBAC and kubectl name a resource.
fn resource_name(ar: &ApiResource) -> String {
    if ar.group.is_empty() {
        ar.plural.clone()
    } else {
        format!("{}.{}", ar.plural, ar.group)
    }
}

fn timed_out(server: Option<&str>, timeout: Duration) -> FetchError {
    FetchError::Unreachable {
        message: format!(
            "no answer from {} within {timeout:?}",
            server.unwrap_or("the API server")
        ),
    }
}

fn discovery_error(api_version: &str, e: kube::Error, server: Option<&str>) -> FetchError {
    let path = if api_version.contains('/') {
        format!("/apis/{api_version}")
    } else {
        format!("/api/{api_version}")
    };
    match e {
        kube::Error::Api(s) if s.code == 404 => FetchError::NotServed {
            api_version: api_version.to_owned(),
            kind: String::new(),
        },
        kube::Error::Api(s) if s.code == 403 => FetchError::Forbidden {
            verb: "get".into(),
            resource: path,
            namespace: None,
            message: s.message,
        },
        other => classify(other, server),
    }
}

fn list_error(
    q: &Query,
    ar: &ApiResource,
    ns: Option<&str>,
    e: kube::Error,
    server: Option<&str>,
) -> FetchError {
    match e {
        // Nothing there: not served (or elsewhere, which discovery then says).
        kube::Error::Api(s) if s.code == 404 => not_served(q),
        kube::Error::Api(s) if s.code == 405 => FetchError::Other {
            message: format!("the cluster does not allow listing {}", resource_name(ar)),
        },
        kube::Error::Api(s) if s.code == 403 => FetchError::Forbidden {
            verb: "list".into(),
            resource: resource_name(ar),
            namespace: ns.map(str::to_owned),
            message: s.message,
        },
        other => classify(other, server),
    }
}

/// Maps what is not a per-resource answer: credentials rejected, cluster not reachable, other.
fn classify(e: kube::Error, server: Option<&str>) -> FetchError {
    let at = server.map(|s| format!(" at {s}")).unwrap_or_default();
    match e {
        kube::Error::Api(s) if s.code == 401 => FetchError::Unauthorized {
            message: non_empty(&s.message, "401 Unauthorized"),
        },
        kube::Error::Api(s) => FetchError::Other {
            message: format!(
                "{} ({})",
                non_empty(&s.message, "error response"),
                if s.code == 0 {
                    s.reason.clone()
                } else {
                    s.code.to_string()
                }
            ),
        },
        kube::Error::Auth(a) => FetchError::Unauthorized {
            message: format!("cannot get credentials: {}", chain(&a)),
        },
        kube::Error::HyperError(_) | kube::Error::Service(_) => FetchError::Unreachable {
            message: transport_message(&e, &at),
        },
        #[allow(unreachable_patterns)]
        other => FetchError::Other {
            message: chain(&other),
        },
    }
}

/// A short, human account of a transport failure.
fn transport_message(e: &(dyn std::error::Error + 'static), at: &str) -> String {
    use std::io::ErrorKind;
    let mut cur: Option<&(dyn std::error::Error + 'static)> = Some(e);
    let mut texts = Vec::new();
    while let Some(err) = cur {
        if let Some(io) = err.downcast_ref::<std::io::Error>() {
            match io.kind() {
                ErrorKind::ConnectionRefused => return format!("connection refused{at}"),
                ErrorKind::TimedOut => return format!("timed out connecting{at}"),
                ErrorKind::ConnectionReset
                | ErrorKind::ConnectionAborted
                | ErrorKind::BrokenPipe => {
                    return format!("connection reset{at}");
                }
                ErrorKind::HostUnreachable | ErrorKind::NetworkUnreachable => {
                    return format!("no route to host{at}");
                }
                _ => {}
            }
        }
        texts.push(err.to_string());
        cur = err.source();
    }
    let all = texts.join(": ").to_lowercase();
    // The innermost cause says what went wrong; its details after `; ` (rustls lists every name
    // a certificate is valid for) make it long without making it clearer.
    let innermost = texts
        .last()
        .map(|t| t.split("; ").next().unwrap_or(t).to_owned())
        .unwrap_or_default();
    if all.contains("dns error") || all.contains("failed to lookup address") {
        format!("cannot resolve the host name{at} ({innermost})")
    } else if all.contains("http2 error") {
        // hyper's name for what h2 reports: bad frames, a GOAWAY with an error, a reset stream.
        format!(
            "HTTP/2 protocol error{at}: {innermost} (the server, or a proxy in front of it, \
             does not speak HTTP/2 correctly)"
        )
    } else if all.contains("certificate") || all.contains("tls") || all.contains("handshake") {
        format!("TLS handshake failed{at}: {innermost}")
    } else if all.contains("timed out") || all.contains("elapsed") {
        format!("timed out{at}")
    } else {
        format!("cannot connect{at}: {innermost}")
    }
}

/// An error and its causes on one line, each cause once.
pub(crate) fn chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut out = e.to_string();
    let mut cur = e.source();
    while let Some(s) = cur {
        let t = s.to_string();
        if !out.contains(&t) {
            out.push_str(": ");
            out.push_str(&t);
        }
        cur = s.source();
    }
    out
}

fn non_empty(s: &str, fallback: &str) -> String {
    if s.trim().is_empty() {
        fallback.to_owned()
    } else {
        s.to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn sanitize_strips_noise() {
        let mut o = json!({
            "metadata": {
                "name": "a",
                "managedFields": [{"manager": "kubectl"}],
                "annotations": {LAST_APPLIED: "{\"env\": \"password\"}", "keep": "me"}
            }
        });
        sanitize_object(&mut o);
        assert_eq!(
            o,
            json!({"metadata": {"name": "a", "annotations": {"keep": "me"}}})
        );
        let mut o = json!({"metadata": {"annotations": {LAST_APPLIED: "x"}}});
        sanitize_object(&mut o);
        assert_eq!(o, json!({"metadata": {}}));
    }

    #[test]
    fn list_items_read_what_a_list_holds() {
        let texts = |t: &str| -> Vec<String> {
            list_items(t)
                .unwrap()
                .iter()
                .map(|r| r.get().to_owned())
                .collect()
        };
        assert_eq!(
            texts(r#"{"kind":"PodList","items":[{"a":1}, {"b":[2]}]}"#),
            [r#"{"a":1}"#, r#"{"b":[2]}"#]
        );
        for empty in [r#"{"items":null}"#, "{}", r#"{"items":"x"}"#, "[1]", "3"] {
            assert!(texts(empty).is_empty(), "{empty}");
        }
        assert!(list_items("{\"items\": [").is_err());
    }

    #[test]
    fn api_versions_parse() {
        assert!(parse_gv("v1").is_ok());
        assert_eq!(parse_gv("apps/v1").unwrap().group, "apps");
        assert!(parse_gv("").is_err());
        assert!(parse_gv("a/b/c").is_err());
        assert!(parse_gv("/v1").is_err());
    }

    fn q(kind: &str) -> Query {
        Query {
            api_version: "v1".into(),
            kind: kind.into(),
            namespace: None,
        }
    }

    #[test]
    fn fatal_only_when_nothing_answered() {
        let unreachable = FetchError::Unreachable {
            message: "connection refused".into(),
        };
        let mut set = ObjectSet::default();
        assert_eq!(first_fatal(&set), None);
        set.insert(q("Pod"), Err(unreachable.clone()));
        set.insert(q("Service"), Err(unreachable.clone()));
        assert_eq!(first_fatal(&set), Some(&unreachable));
        set.insert(q("ConfigMap"), Ok(vec![]));
        assert_eq!(first_fatal(&set), None);
    }
}
