//! Fetching a plan's queries from a live cluster.
//!
//! Two rounds of concurrent requests (at most [`FetchOptions::concurrency`] in flight):
//! 1. discovery, once per group/version the queries name (`GET /api/v1`, `GET /apis/<g>/<v>`;
//!    not aggregated discovery, which 1.20 servers lack), resolving each kind to its resource;
//! 2. one LIST per query (no pagination, no watch), answered as plain JSON.
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

use crate::view::objects::{FetchError, ObjectSet};
use crate::view::query::Query;
use futures::StreamExt;
use kube::Client;
use kube::api::ListParams;
use kube::core::gvk::GroupVersion;
use kube::discovery::{ApiCapabilities, ApiGroup, ApiResource, Scope};
use serde_json::Value;
use serde_json::value::RawValue;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// Default bound on requests in flight.
pub const DEFAULT_CONCURRENCY: usize = 16;

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
    /// Discovery requests sent (one per group/version).
    pub discovery_requests: usize,
    /// LIST requests sent (at most one per query).
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
pub async fn fetch(client: &Client, queries: &BTreeSet<Query>, timeout: Duration) -> ObjectSet {
    fetch_report(client, queries, &FetchOptions::new(timeout))
        .await
        .objects
}

/// Like [`fetch`], with options and the number of requests made.
pub async fn fetch_report(
    client: &Client,
    queries: &BTreeSet<Query>,
    opts: &FetchOptions,
) -> FetchReport {
    fetch_items(client, queries, opts).await
}

/// Like [`fetch_report`], each object held as `T`.
pub async fn fetch_items<T: ListItem>(
    client: &Client,
    queries: &BTreeSet<Query>,
    opts: &FetchOptions,
) -> FetchReport<T> {
    let started = Instant::now();
    let deadline = tokio::time::Instant::now() + opts.timeout;
    let concurrency = opts.concurrency.max(1);
    let server = opts.server_url.as_deref();
    let discovery_requests = AtomicUsize::new(0);
    let list_requests = AtomicUsize::new(0);
    let mut objects = ObjectSet::default();

    // Refuse what we never fetch, and group the rest by group/version.
    let mut by_gv: BTreeMap<String, Vec<&Query>> = BTreeMap::new();
    for q in queries {
        if q.kind.eq_ignore_ascii_case("Secret") {
            objects.insert(
                q.clone(),
                Err(FetchError::Other {
                    message: "labctl never reads Secrets".into(),
                }),
            );
        } else if let Err(message) = parse_gv(&q.api_version) {
            objects.insert(q.clone(), Err(FetchError::Other { message }));
        } else {
            by_gv.entry(q.api_version.clone()).or_default().push(q);
        }
    }

    // Round 1: discovery, once per group/version.
    let groups: BTreeMap<String, Result<ApiGroup, FetchError>> =
        futures::stream::iter(by_gv.keys().cloned())
            .map(|api_version| {
                let counter = &discovery_requests;
                async move {
                    let gv = parse_gv(&api_version).expect("checked above");
                    counter.fetch_add(1, Ordering::Relaxed);
                    let res = tokio::time::timeout_at(
                        deadline,
                        kube::discovery::pinned_group(client, &gv),
                    )
                    .await;
                    let res = match res {
                        Err(_) => Err(timed_out(server, opts.timeout)),
                        Ok(Ok(group)) => Ok(group),
                        Ok(Err(e)) => Err(discovery_error(&api_version, e, server)),
                    };
                    (api_version, res)
                }
            })
            .buffer_unordered(concurrency)
            .collect()
            .await;

    // Resolve each query to a resource, or to why it has none.
    let mut to_list: Vec<(&Query, ApiResource, ApiCapabilities)> = Vec::new();
    for (api_version, qs) in &by_gv {
        for q in qs {
            let resolved = match &groups[api_version] {
                Err(FetchError::NotServed { .. }) => Err(not_served(q)),
                Err(e) => Err(e.clone()),
                Ok(group) => group.recommended_kind(&q.kind).ok_or_else(|| not_served(q)),
            };
            match resolved {
                Ok((ar, caps)) if caps.supports_operation("list") => to_list.push((q, ar, caps)),
                Ok((ar, _)) => objects.insert(
                    (*q).clone(),
                    Err(FetchError::Other {
                        message: format!("the cluster does not allow listing {}", resource(&ar)),
                    }),
                ),
                Err(e) => objects.insert((*q).clone(), Err(e)),
            }
        }
    }

    // Round 2: one LIST per query.
    let lists: Vec<(Query, Result<Vec<T>, FetchError>)> = futures::stream::iter(to_list)
        .map(|(q, ar, caps)| {
            let counter = &list_requests;
            async move {
                let ns = match caps.scope {
                    Scope::Namespaced => q.namespace.as_deref(),
                    Scope::Cluster => None,
                };
                counter.fetch_add(1, Ordering::Relaxed);
                let res = tokio::time::timeout_at(deadline, list(client, &ar, ns)).await;
                let res = match res {
                    Err(_) => Err(timed_out(server, opts.timeout)),
                    Ok(Ok(items)) => Ok(items),
                    Ok(Err(e)) => Err(list_error(q, &ar, ns, e, server)),
                };
                (q.clone(), res)
            }
        })
        .buffer_unordered(concurrency)
        .collect()
        .await;
    for (q, res) in lists {
        objects.insert(q, res);
    }

    FetchReport {
        objects,
        discovery_requests: discovery_requests.into_inner(),
        list_requests: list_requests.into_inner(),
        elapsed: started.elapsed(),
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
    ar: &ApiResource,
    ns: Option<&str>,
) -> Result<Vec<T>, kube::Error> {
    let url = <kube::api::DynamicObject as kube::Resource>::url_path(ar, ns);
    let req = kube::core::Request::new(url)
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

fn parse_gv(api_version: &str) -> Result<GroupVersion, String> {
    let bad = || format!("`{api_version}` is not an apiVersion (group/version or v1)");
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
fn resource(ar: &ApiResource) -> String {
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
        // The kind went away between discovery and the list (a CRD being deleted).
        kube::Error::Api(s) if s.code == 404 => not_served(q),
        kube::Error::Api(s) if s.code == 403 => FetchError::Forbidden {
            verb: "list".into(),
            resource: resource(ar),
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
