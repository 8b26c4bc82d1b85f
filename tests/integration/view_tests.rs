//! The cluster view against a real API server: `Connection::open` (kubeconfig, contexts),
//! `live::fetch_report` (one LIST per query, discovery only for kinds not found, per-query errors:
//! NotServed, Forbidden, Unreachable), proven read-only and counted through the audit log, and
//! snapshot files (round trip of a live fetch, located errors for broken files).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use labctl::plan::resolve::Plan;
use labctl::view::connect::{ConnectError, Connection};
use labctl::view::live::{FetchOptions, FetchReport, fetch, fetch_report, first_fatal};
use labctl::view::objects::FetchError;
use labctl::view::query::Query;
use labctl::view::snapshot::{Snapshot, SnapshotError, read_snapshot, write_snapshot};
use serde_json::Value;

use crate::harness::{ADMIN, CONTEXT, ControlPlane, NOBODY, apply_yaml, is_mutating, unique_name};

const TIMEOUT: Duration = Duration::from_secs(20);

fn q(api_version: &str, kind: &str, namespace: Option<&str>) -> Query {
    Query {
        api_version: api_version.into(),
        kind: kind.into(),
        namespace: namespace.map(str::to_owned),
    }
}

/// A namespace with two ConfigMaps, a Service, a Deployment and a PeerAuthentication (a CRD kind),
/// created by `admin` with `kubectl.kubernetes.io/last-applied-configuration` on one ConfigMap.
async fn populated_namespace(cp: &ControlPlane, prefix: &str) -> String {
    let ns = unique_name(prefix);
    apply_yaml(
        &cp.client(ADMIN).await,
        &format!(
            r#"apiVersion: v1
kind: Namespace
metadata: {{name: {ns}, labels: {{istio.io/rev: asm-1-23}}}}
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: one
  namespace: {ns}
  annotations:
    kubectl.kubernetes.io/last-applied-configuration: '{{"data":{{"password":"hunter2"}}}}'
    keep: me
data: {{a: "1"}}
---
apiVersion: v1
kind: ConfigMap
metadata: {{name: two, namespace: {ns}}}
data: {{b: "2"}}
---
apiVersion: v1
kind: Service
metadata: {{name: web, namespace: {ns}}}
spec:
  selector: {{app: web}}
  ports: [{{port: 80, targetPort: 8080}}]
---
apiVersion: apps/v1
kind: Deployment
metadata: {{name: web, namespace: {ns}}}
spec:
  replicas: 0
  selector: {{matchLabels: {{app: web}}}}
  template:
    metadata: {{labels: {{app: web}}}}
    spec:
      containers: [{{name: web, image: nginx}}]
---
apiVersion: security.istio.io/v1
kind: PeerAuthentication
metadata: {{name: default, namespace: {ns}}}
spec: {{mtls: {{mode: STRICT}}}}
"#
        ),
    )
    .await;
    ns
}

/// The request URIs of `user`'s completed requests, straight from the audit log file (call after
/// `cp.audit_events(user)`, which waits until the log has caught up).
fn request_uris(cp: &ControlPlane, user: &str) -> Vec<String> {
    let text = std::fs::read_to_string(cp.audit_log().path()).unwrap();
    text.lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|e| e["stage"] == "ResponseComplete" && e["user"]["username"] == user)
        .filter_map(|e| e["requestURI"].as_str().map(str::to_owned))
        .collect()
}

fn names(items: &[Value]) -> BTreeSet<String> {
    items
        .iter()
        .map(|o| {
            o["metadata"]["name"]
                .as_str()
                .unwrap_or_default()
                .to_owned()
        })
        .collect()
}

async fn connect(cp: &ControlPlane, user: &str) -> Connection {
    Connection::open(Some(&cp.kubeconfig_path(user)), None)
        .await
        .unwrap_or_else(|e| panic!("open kubeconfig of {user}: {e}"))
}

async fn fetch_as(conn: &Connection, queries: &BTreeSet<Query>) -> FetchReport {
    conn.fetch(queries, TIMEOUT).await
}

#[tokio::test]
async fn fetch_returns_the_objects_of_each_query_read_only_with_one_list_per_query() {
    let cp = ControlPlane::shared().await;
    let ns = populated_namespace(cp, "v-fetch").await;
    let user = cp.fresh_learner();
    let conn = connect(cp, &user).await;
    assert_eq!(conn.context_name, CONTEXT);
    assert_eq!(conn.server_url, cp.server_url());

    let cm = q("v1", "ConfigMap", Some(&ns));
    let svc = q("v1", "Service", Some(&ns));
    let deploy = q("apps/v1", "Deployment", Some(&ns));
    let pa = q("security.istio.io/v1", "PeerAuthentication", Some(&ns));
    let namespaces = q("v1", "Namespace", None);
    let missing_group = q("example.invalid/v1", "Widget", Some(&ns));
    let missing_kind = q("networking.istio.io/v1", "Telemetry", Some(&ns));
    let secret = q("v1", "Secret", Some(&ns));
    let queries: BTreeSet<Query> = [
        &cm,
        &svc,
        &deploy,
        &pa,
        &namespaces,
        &missing_group,
        &missing_kind,
        &secret,
    ]
    .into_iter()
    .cloned()
    .collect();

    let report = fetch_as(&conn, &queries).await;
    let set = &report.objects;
    assert_eq!(
        set.lists.keys().collect::<BTreeSet<_>>(),
        queries.iter().collect()
    );

    let cms = set.get(&cm).expect("configmaps");
    // The controller manager may have added `kube-root-ca.crt`; ours must be there.
    let cm_names = names(cms);
    assert!(
        cm_names.contains("one") && cm_names.contains("two"),
        "{cm_names:?}"
    );
    for (query, expect) in [
        (&svc, "web"),
        (&deploy, "web"),
        (&pa, "default"),
        (&namespaces, ns.as_str()),
    ] {
        let items = set.get(query).unwrap_or_else(|e| panic!("{query}: {e}"));
        assert!(names(items).contains(expect), "{query}: {:?}", names(items));
    }
    // Every object carries apiVersion and kind (lists leave them out), and no noise.
    for (query, res) in &set.lists {
        for obj in res.iter().flatten() {
            assert_eq!(obj["apiVersion"], query.api_version.as_str(), "{obj}");
            assert_eq!(obj["kind"], query.kind.as_str(), "{obj}");
            assert!(obj["metadata"].get("managedFields").is_none(), "{obj}");
            assert!(!obj.to_string().contains("hunter2"), "{obj}");
        }
    }
    let one = cms.iter().find(|o| o["metadata"]["name"] == "one").unwrap();
    assert_eq!(
        one["metadata"]["annotations"],
        serde_json::json!({"keep": "me"})
    );
    assert_eq!(one["data"]["a"], "1");

    // Kinds the cluster does not serve: an unknown group, and an unknown kind in a served group.
    for query in [&missing_group, &missing_kind] {
        assert_eq!(
            set.lists[query],
            Err(FetchError::NotServed {
                api_version: query.api_version.clone(),
                kind: query.kind.clone(),
            })
        );
        assert_eq!(set.get(query), Ok(&[][..]), "NotServed reads as empty");
    }
    // Secrets are refused without asking.
    assert!(
        matches!(&set.lists[&secret], Err(FetchError::Other { message }) if message.contains("Secret")),
        "{:?}",
        set.lists[&secret]
    );
    assert_eq!(first_fatal(set), None);

    // The audit log: only get/list, one LIST per query, discovery only for kinds not found.
    let events = cp.audit_events(&user).await;
    let uris = request_uris(cp, &user);
    let summary: Vec<String> = events
        .iter()
        .map(|e| format!("{} {} {} -> {}", e.verb, e.resource, e.namespace, e.code))
        .chain(uris.iter().cloned())
        .collect();
    assert!(
        events
            .iter()
            .all(|e| !is_mutating(&e.verb) && (e.verb == "get" || e.verb == "list")),
        "{summary:#?}"
    );
    assert!(
        events.iter().all(|e| e.resource != "secrets"),
        "{summary:#?}"
    );
    let lists: Vec<_> = events.iter().filter(|e| e.verb == "list").collect();
    let mut per_target: BTreeMap<(String, String, u16), usize> = BTreeMap::new();
    for e in &lists {
        *per_target
            .entry((e.resource.clone(), e.namespace.clone(), e.code))
            .or_default() += 1;
    }
    assert!(per_target.values().all(|n| *n == 1), "{summary:#?}");
    let listed: BTreeSet<(&str, &str, u16)> = per_target
        .keys()
        .map(|(r, n, c)| (r.as_str(), n.as_str(), *c))
        .collect();
    // Every query listed at once where its kind should be; the two kinds not served answer 404.
    let expected_lists: BTreeSet<(&str, &str, u16)> = [
        ("configmaps", ns.as_str(), 200),
        ("services", ns.as_str(), 200),
        ("deployments", ns.as_str(), 200),
        ("peerauthentications", ns.as_str(), 200),
        ("namespaces", "", 200),
        ("widgets", ns.as_str(), 404),
        ("telemetries", ns.as_str(), 404),
    ]
    .into();
    assert_eq!(listed, expected_lists, "{summary:#?}");
    assert_eq!(lists.len(), 7, "one LIST per query: {summary:#?}");
    // Discovery only for the group/versions of those two, to say they are not served.
    let discovery: Vec<&str> = uris
        .iter()
        .filter(|u| !u.contains('?') && !u.contains("/namespaces"))
        .map(String::as_str)
        .collect();
    let mut sorted = discovery.clone();
    sorted.sort();
    assert_eq!(
        sorted,
        ["/apis/example.invalid/v1", "/apis/networking.istio.io/v1"],
        "discovery only where a kind was not found: {summary:#?}"
    );
    assert_eq!(events.len(), 9, "{summary:#?}");
    assert_eq!(report.discovery_requests, 2);
    assert_eq!(report.list_requests, 7);
    assert_eq!(report.requests(), events.len());
    eprintln!(
        "fetch of {} queries: {} requests ({} discovery + {} lists) in {:?}",
        queries.len(),
        report.requests(),
        report.discovery_requests,
        report.list_requests,
        report.elapsed
    );
}

#[tokio::test]
async fn many_queries_of_served_kinds_cost_no_discovery() {
    let cp = ControlPlane::shared().await;
    let user = cp.fresh_learner();
    let conn = connect(cp, &user).await;
    let namespaces: Vec<String> = (0..12)
        .map(|i| unique_name(&format!("v-many-{i}")))
        .collect();
    let mut queries = BTreeSet::new();
    for ns in &namespaces {
        for (av, kind) in [
            ("v1", "Pod"),
            ("v1", "Service"),
            ("apps/v1", "Deployment"),
            ("networking.istio.io/v1", "VirtualService"),
            ("networking.istio.io/v1", "Gateway"),
        ] {
            queries.insert(q(av, kind, Some(ns)));
        }
    }
    let report = fetch_as(&conn, &queries).await;
    assert_eq!(
        report.discovery_requests, 0,
        "every kind is where it should be"
    );
    assert_eq!(report.list_requests, queries.len());
    for (query, res) in &report.objects.lists {
        assert_eq!(res.as_deref().map(<[Value]>::len), Ok(0), "{query}");
    }
    let events = cp.audit_events(&user).await;
    assert_eq!(events.len(), report.requests());
    assert_eq!(
        events.iter().filter(|e| e.verb == "list").count(),
        queries.len()
    );
    eprintln!(
        "fetch of {} queries: {} requests ({} discovery + {} lists) in {:?}",
        queries.len(),
        report.requests(),
        report.discovery_requests,
        report.list_requests,
        report.elapsed
    );
}

#[tokio::test]
async fn a_user_without_rights_gets_forbidden_naming_verb_and_resource() {
    let cp = ControlPlane::shared().await;
    let ns = unique_name("v-forbidden");
    let conn = connect(cp, NOBODY).await;
    let pods = q("v1", "Pod", Some(&ns));
    let deployments = q("apps/v1", "Deployment", None);
    let vs = q("networking.istio.io/v1", "VirtualService", Some(&ns));
    let queries: BTreeSet<Query> = [pods.clone(), deployments.clone(), vs.clone()].into();
    let set = fetch(&conn, &queries, TIMEOUT).await;
    for (query, resource, namespace) in [
        (&pods, "pods", Some(ns.clone())),
        (&deployments, "deployments.apps", None),
        (&vs, "virtualservices.networking.istio.io", Some(ns.clone())),
    ] {
        match &set.lists[query] {
            Err(FetchError::Forbidden {
                verb,
                resource: r,
                namespace: n,
                message,
            }) => {
                assert_eq!(verb, "list");
                assert_eq!(r, resource);
                assert_eq!(n, &namespace);
                assert!(message.contains("nobody"), "{message}");
            }
            other => panic!("{query}: expected Forbidden, got {other:?}"),
        }
    }
    let shown = set.lists[&pods].as_ref().unwrap_err().to_string();
    assert_eq!(
        shown,
        format!("forbidden: cannot list pods in namespace {ns}")
    );
    let shown = set.lists[&deployments].as_ref().unwrap_err().to_string();
    assert_eq!(shown, "forbidden: cannot list deployments.apps");
    assert_eq!(first_fatal(&set), None, "forbidden is per query, not fatal");
}

/// A copy of `user`'s kubeconfig pointing at `server`.
fn kubeconfig_for(cp: &ControlPlane, user: &str, server: &str, dir: &Path) -> PathBuf {
    let text = std::fs::read_to_string(cp.kubeconfig_path(user)).unwrap();
    let text = text.replace(cp.server_url(), server);
    let path = dir.join("kubeconfig.yaml");
    std::fs::write(&path, text).unwrap();
    path
}

#[tokio::test]
async fn a_dead_port_is_unreachable_at_once() {
    let cp = ControlPlane::shared().await;
    let dir = tempfile::tempdir().unwrap();
    let path = kubeconfig_for(cp, ADMIN, "https://127.0.0.1:1", dir.path());
    let conn = Connection::open(Some(&path), None).await.unwrap();
    assert_eq!(conn.server_url, "https://127.0.0.1:1");
    let queries: BTreeSet<Query> = [
        q("v1", "Pod", Some("default")),
        q("apps/v1", "Deployment", None),
        q("networking.istio.io/v1", "Gateway", None),
    ]
    .into();
    let started = Instant::now();
    let report = fetch_as(&conn, &queries).await;
    let took = started.elapsed();
    assert!(took < Duration::from_secs(5), "took {took:?}");
    for (query, res) in &report.objects.lists {
        assert_eq!(
            res,
            &Err(FetchError::Unreachable {
                message: "connection refused at https://127.0.0.1:1".into()
            }),
            "{query}"
        );
    }
    assert_eq!(report.list_requests, 3, "one LIST each, never sent");
    assert_eq!(
        report.discovery_requests, 0,
        "no discovery after the LISTs failed"
    );
    assert_eq!(
        first_fatal(&report.objects).map(ToString::to_string),
        Some("cluster unreachable: connection refused at https://127.0.0.1:1".into())
    );
}

#[tokio::test]
async fn a_server_that_never_answers_times_out_within_the_timeout() {
    let cp = ControlPlane::shared().await;
    // Accepts connections and never says a word (a black-holed API server).
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let hold = tokio::spawn(async move {
        let mut conns = Vec::new();
        while let Ok((s, _)) = listener.accept().await {
            conns.push(s);
        }
    });
    let dir = tempfile::tempdir().unwrap();
    let url = format!("https://{addr}");
    let path = kubeconfig_for(cp, ADMIN, &url, dir.path());
    let conn = Connection::open(Some(&path), None).await.unwrap();
    let queries: BTreeSet<Query> = [q("v1", "Pod", None), q("apps/v1", "Deployment", None)].into();
    let started = Instant::now();
    let report = fetch_report(
        &conn,
        &queries,
        &FetchOptions::new(Duration::from_millis(1500)).server_url(url.clone()),
    )
    .await;
    let took = started.elapsed();
    assert!(took < Duration::from_secs(4), "took {took:?}");
    for res in report.objects.lists.values() {
        assert_eq!(
            res,
            &Err(FetchError::Unreachable {
                message: format!("no answer from {url} within 1.5s")
            })
        );
    }
    assert!(first_fatal(&report.objects).is_some());
    hold.abort();
}

#[tokio::test]
async fn a_certificate_for_another_name_is_an_unreachable_tls_failure() {
    let cp = ControlPlane::shared().await;
    let dir = tempfile::tempdir().unwrap();
    let text = std::fs::read_to_string(cp.kubeconfig_path(ADMIN)).unwrap();
    let text = text.replace(
        &format!("    server: {}\n", cp.server_url()),
        &format!(
            "    server: {}\n    tls-server-name: not-the-api-server.invalid\n",
            cp.server_url()
        ),
    );
    assert!(text.contains("tls-server-name"));
    let path = dir.path().join("kubeconfig.yaml");
    std::fs::write(&path, text).unwrap();
    let conn = Connection::open(Some(&path), None).await.unwrap();
    let queries: BTreeSet<Query> = [q("v1", "Pod", None)].into();
    let report = fetch_as(&conn, &queries).await;
    let err = report
        .objects
        .lists
        .values()
        .next()
        .unwrap()
        .as_ref()
        .unwrap_err();
    match err {
        FetchError::Unreachable { message } => assert!(
            message.starts_with(&format!("TLS handshake failed at {}: ", cp.server_url()))
                && !message.contains("only valid for"),
            "{message}"
        ),
        other => panic!("expected Unreachable, got {other:?}"),
    }
    eprintln!("TLS failure reads: {err}");
}

#[tokio::test]
async fn a_host_name_that_does_not_resolve_is_unreachable() {
    let cp = ControlPlane::shared().await;
    let dir = tempfile::tempdir().unwrap();
    let url = "https://labctl-no-such-host.invalid:6443";
    let path = kubeconfig_for(cp, ADMIN, url, dir.path());
    let conn = Connection::open(Some(&path), None).await.unwrap();
    let queries: BTreeSet<Query> = [q("v1", "Pod", None)].into();
    let report = fetch_report(
        &conn,
        &queries,
        &FetchOptions::new(Duration::from_secs(5)).server_url(url),
    )
    .await;
    let err = report
        .objects
        .lists
        .values()
        .next()
        .unwrap()
        .as_ref()
        .unwrap_err();
    match err {
        // A resolver that does not answer in time is the same verdict, said differently.
        FetchError::Unreachable { message } => assert!(
            message.starts_with(&format!("cannot resolve the host name at {url}"))
                || message.starts_with("no answer from"),
            "{message}"
        ),
        other => panic!("expected Unreachable, got {other:?}"),
    }
    eprintln!("unresolvable host reads: {err}");
}

#[tokio::test]
async fn wrong_credentials_are_unauthorized() {
    let cp = ControlPlane::shared().await;
    let dir = tempfile::tempdir().unwrap();
    let text = std::fs::read_to_string(cp.kubeconfig_path(ADMIN)).unwrap();
    let text = text.replace(cp.token(ADMIN), "not-a-token");
    let path = dir.path().join("kubeconfig.yaml");
    std::fs::write(&path, text).unwrap();
    let conn = Connection::open(Some(&path), None).await.unwrap();
    let queries: BTreeSet<Query> = [q("v1", "Pod", None)].into();
    let set = fetch(&conn, &queries, TIMEOUT).await;
    let err = set.lists.values().next().unwrap().as_ref().unwrap_err();
    assert!(matches!(err, FetchError::Unauthorized { .. }), "{err:?}");
    assert!(!err.to_string().contains("not-a-token"), "{err}");
    eprintln!("bad token reads: {err}");
    assert_eq!(first_fatal(&set), Some(err));
}

#[tokio::test]
async fn an_unknown_context_names_the_available_ones() {
    let cp = ControlPlane::shared().await;
    let path = cp.kubeconfig_path(ADMIN);
    let err = Connection::open(Some(&path), Some("labctl-tset"))
        .await
        .unwrap_err();
    assert!(
        matches!(&err, ConnectError::UnknownContext { available, .. } if available == &[CONTEXT.to_string()]),
        "{err:?}"
    );
    assert_eq!(
        err.to_string(),
        format!(
            "kubeconfig {} has no context `labctl-tset` (did you mean `labctl-test`? available: labctl-test)",
            path.display()
        )
    );
    let err = Connection::open(Some(&path), Some("prod"))
        .await
        .unwrap_err();
    assert!(
        err.to_string().ends_with("(available: labctl-test)"),
        "{err}"
    );
    // The named context works.
    let conn = Connection::open(Some(&path), Some(CONTEXT)).await.unwrap();
    assert_eq!(conn.context_name, CONTEXT);
    assert!(!format!("{conn:?}").contains(cp.token(ADMIN)));
}

fn plan_for(lab: &str) -> Plan {
    Plan {
        lab: lab.into(),
        title: "A lab".into(),
        profile: "kind".into(),
        values: [("revision".to_string(), "asm-1-23".to_string())].into(),
        unset: BTreeSet::new(),
        steps: Vec::new(),
        discovered: Vec::new(),
        requires: None,
    }
}

#[tokio::test]
async fn a_snapshot_of_a_live_fetch_reads_back_as_the_same_objects() {
    let cp = ControlPlane::shared().await;
    let ns = populated_namespace(cp, "v-snap").await;
    let conn = connect(cp, ADMIN).await;
    let queries: BTreeSet<Query> = [
        q("v1", "ConfigMap", Some(&ns)),
        q("v1", "Service", Some(&ns)),
        q("apps/v1", "Deployment", Some(&ns)),
        q("security.istio.io/v1", "PeerAuthentication", Some(&ns)),
        q("networking.istio.io/v1", "Telemetry", None),
        q("v1", "Secret", Some(&ns)),
    ]
    .into();
    let live = fetch(&conn, &queries, TIMEOUT).await;

    let snap = Snapshot::capture(
        &plan_for("istio-aks"),
        Some(conn.context_name.clone()),
        &live,
    );
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("snap.json");
    write_snapshot(&path, &snap).unwrap();
    let back = read_snapshot(&path).unwrap();
    assert_eq!(back, snap);
    assert_eq!(back.queries(), queries);
    assert_eq!(back.to_object_set().lists, live.lists);
    assert_eq!(back.context.as_deref(), Some(CONTEXT));
    assert_eq!(back.snapshot_version, 1);

    // A query that was not captured is NotInSnapshot, not empty.
    let other = q("v1", "Pod", Some(&ns));
    assert_eq!(
        back.to_object_set().get(&other),
        Err(FetchError::NotInSnapshot)
    );

    let text = std::fs::read_to_string(&path).unwrap();
    assert!(!text.contains("managedFields"));
    assert!(!text.contains("last-applied-configuration"));
    assert!(!text.contains("hunter2"));
}

#[tokio::test]
async fn a_corrupted_snapshot_names_file_line_and_column() {
    let cp = ControlPlane::shared().await;
    let ns = populated_namespace(cp, "v-corrupt").await;
    let conn = connect(cp, ADMIN).await;
    let queries: BTreeSet<Query> = [q("v1", "ConfigMap", Some(&ns))].into();
    let live = fetch(&conn, &queries, TIMEOUT).await;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("snap.json");
    write_snapshot(
        &path,
        &Snapshot::capture(&plan_for("istio-aks"), None, &live),
    )
    .unwrap();

    // Damage one line in the middle: drop the `:` after `"kind"` of the first item.
    let text = std::fs::read_to_string(&path).unwrap();
    let (line_no, _) = text
        .lines()
        .enumerate()
        .find(|(_, l)| l.trim_start().starts_with("\"kind\": \"ConfigMap\""))
        .expect("an item kind line");
    let broken: String = text
        .lines()
        .enumerate()
        .map(|(i, l)| {
            if i == line_no {
                l.replacen("\"kind\":", "\"kind\"", 1)
            } else {
                l.to_owned()
            }
        })
        .collect::<Vec<_>>()
        .join("\n");
    std::fs::write(&path, broken).unwrap();
    let err = read_snapshot(&path).unwrap_err();
    match &err {
        SnapshotError::Broken { line, .. } => assert_eq!(*line, line_no + 1, "{err}"),
        other => panic!("expected a located error, got {other:?}"),
    }
    let shown = err.to_string();
    assert!(
        shown.starts_with(&format!("{}:{}:", path.display(), line_no + 1)),
        "{shown}"
    );

    // Valid JSON that is not a snapshot (e.g. `kubectl get -o json` output).
    std::fs::write(
        &path,
        r#"{"apiVersion": "v1", "kind": "List", "items": []}"#,
    )
    .unwrap();
    let err = read_snapshot(&path).unwrap_err();
    assert!(matches!(err, SnapshotError::NotASnapshot { .. }), "{err:?}");
    assert!(err.to_string().contains("not a labctl snapshot"), "{err}");

    // A file that is not there.
    let err = read_snapshot(&dir.path().join("nope.json")).unwrap_err();
    assert!(matches!(err, SnapshotError::Read { .. }), "{err:?}");
}
