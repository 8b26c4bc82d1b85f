//! One connection per cluster, and no discovery where it is not needed, proven from outside:
//! each run goes through a [`DelayProxy`] (no delay here) that counts the TCP connections it
//! accepts, and the API server's audit log shows what was asked.
//!
//! - `labctl grade` of the finished istio-aks state: one connection for every LIST, no
//!   discovery request, each (resource, namespace) listed once;
//! - `labctl check --wait`: the grades, the watches and the re-grade after a change share one
//!   connection;
//! - `labctl class report` on a shared cluster: one connection for all its learners;
//! - a kind that appears during a run is found, and one that is missing is "not served";
//! - servers that only speak HTTP/1.1 still work (pooled connections), and a server that breaks
//!   HTTP/2 gets a clear error;
//! - a WebSocket upgrade (`pods/exec`, exec probes) goes over HTTP/1.1, beside the HTTP/2
//!   connection.

use crate::class_report::labctl;
use crate::grade_live::grade;
use crate::harness::{
    ADMIN, AuditEvent, ControlPlane, DelayProxy, Profile, apply_finished_state, apply_yaml,
    assert_reads_listing_once, fixture_control_plane, unique_name,
};
use crate::learner_flow::{Learner, labelled_namespace};
use labctl::view::connect::Connection;
use labctl::view::live::{FetchOptions, fetch_report};
use labctl::view::objects::FetchError;
use labctl::view::query::Query;
use std::collections::BTreeSet;
use std::time::Duration;

fn q(api_version: &str, kind: &str, namespace: Option<&str>) -> Query {
    Query {
        api_version: api_version.into(),
        kind: kind.into(),
        namespace: namespace.map(str::to_owned),
    }
}

/// Requests without a resource: `/api`, `/apis`, `/api/v1`, `/apis/<g>/<v>`, `/version`.
fn discovery(events: &[AuditEvent]) -> Vec<&str> {
    events
        .iter()
        .filter(|e| e.resource.is_empty())
        .map(|e| e.request_uri.as_str())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_grade_lists_everything_over_one_connection_without_discovery() {
    let cp = fixture_control_plane().await;
    let admin = cp.client(ADMIN).await;
    let vars = apply_finished_state(&admin, Profile::Aks).await;
    let user = cp.fresh_learner();
    let proxy = DelayProxy::start(cp.socket_addr(), Duration::ZERO);
    let dir = tempfile::tempdir().unwrap();
    let kubeconfig = cp.kubeconfig_via(&user, &proxy.url(), dir.path());

    let (code, report, stderr) = grade(&kubeconfig, Profile::Aks, &vars, &[]);
    assert_eq!(code, 0, "{report}\n{stderr}");
    assert_eq!(report["status"], "passed", "{report}");
    assert_eq!(proxy.connections(), 1, "one connection for the whole grade");

    let events = cp.audit_events(&user).await;
    assert_eq!(
        discovery(&events),
        Vec::<&str>::new(),
        "every kind is served where it is expected"
    );
    let lists = assert_reads_listing_once("labctl grade", &events);
    assert_eq!(lists.len(), events.len(), "only LISTs: {events:#?}");
    assert!(events.iter().all(|e| e.code == 200), "{events:#?}");
    // The same LISTs as before: what the checks read and what the diagnoses need.
    let (app, root) = (vars.var("appNamespace"), vars.var("rootNamespace"));
    for (resource, ns) in [
        ("namespaces", ""),
        ("deployments.apps", root),
        ("pods", app),
        ("peerauthentications.security.istio.io", app),
        ("serviceentries.networking.istio.io", ""),
        ("virtualservices.networking.istio.io", ""),
    ] {
        assert!(
            lists.contains_key(&(resource.to_owned(), ns.to_owned())),
            "{resource} in {ns:?} not listed: {lists:?}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn check_wait_grades_and_watches_over_one_connection() {
    let cp = ControlPlane::shared().await;
    let admin = cp.client(ADMIN).await;
    let user = cp.fresh_learner();
    let proxy = DelayProxy::start(cp.socket_addr(), Duration::ZERO);
    let dir = tempfile::tempdir().unwrap();
    let l = Learner::with_kubeconfig(cp.kubeconfig_via(&user, &proxy.url(), dir.path()));
    l.start();
    apply_yaml(&admin, &labelled_namespace(&l.namespace, false)).await;
    let before = proxy.connections();

    let child = l.spawn_check_wait();
    // The first (failing) grade's LIST, then the watcher's own (a watch is logged when it ends;
    // it starts from that LIST's version, so a change made after it is seen).
    cp.audit_log()
        .wait_for("check --wait to watch", Duration::from_secs(30), |events| {
            events
                .iter()
                .filter(|e| e.user == user && e.verb == "list" && e.resource == "namespaces")
                .count()
                >= 2
        })
        .await;
    apply_yaml(&admin, &labelled_namespace(&l.namespace, true)).await;
    let out = tokio::task::spawn_blocking(move || child.wait_with_output().unwrap())
        .await
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        proxy.connections() - before,
        1,
        "grades and watches share one connection"
    );
    let events = cp.audit_events(&user).await;
    assert_eq!(discovery(&events), Vec::<&str>::new(), "{events:#?}");
    let lists = events.iter().filter(|e| e.verb == "list").count();
    assert!(
        lists >= 3,
        "a grade before the change, the watch's LIST and a grade after: {events:#?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_class_report_reads_a_shared_cluster_over_one_connection() {
    let cp = ControlPlane::shared().await;
    let user = cp.fresh_learner();
    let proxy = DelayProxy::start(cp.socket_addr(), Duration::ZERO);
    let dir = tempfile::tempdir().unwrap();
    let kubeconfig = cp.kubeconfig_via(&user, &proxy.url(), dir.path());
    let mut roster = format!(
        "lab: istio-aks\nprofile: kind\nclusters:\n  workshop: {{ kubeconfig: {} }}\nlearners:\n",
        kubeconfig.display()
    );
    for i in 0..5 {
        let ns = unique_name(&format!("class-{i}"));
        roster.push_str(&format!(
            "  - {{ name: l{i}, cluster: workshop, variables: {{ appNamespace: {ns}, clientNamespace: {ns}-c }} }}\n"
        ));
    }
    let path = dir.path().join("class.yaml");
    std::fs::write(&path, roster).unwrap();
    let (code, stdout, stderr, _) = labctl(&[
        "class",
        "report",
        path.to_str().unwrap(),
        "--timeout",
        "20s",
    ]);
    assert_eq!(code, 0, "{stdout}{stderr}");
    assert!(stdout.contains("5 learners"), "{stdout}");
    assert_eq!(proxy.connections(), 1, "one connection for the class");
    let events = cp.audit_events(&user).await;
    assert_eq!(discovery(&events), Vec::<&str>::new(), "{events:#?}");
    assert_reads_listing_once("labctl class report", &events);
}

#[tokio::test]
async fn a_kind_that_appears_during_a_run_is_found() {
    let cp = ControlPlane::shared().await;
    let admin = cp.client(ADMIN).await;
    let user = cp.fresh_learner();
    let conn = Connection::open(Some(&cp.kubeconfig_path(&user)), None)
        .await
        .unwrap();
    let group = format!("{}.labctl.test", unique_name("appears"));
    let api_version = format!("{group}/v1");
    let ns = unique_name("appears");
    apply_yaml(
        &admin,
        &format!("apiVersion: v1\nkind: Namespace\nmetadata: {{name: {ns}}}\n"),
    )
    .await;
    // An irregular plural, so the conventional path misses even once the kind is served.
    let widgets = q(&api_version, "Octopus", Some(&ns));
    let queries: BTreeSet<Query> = [widgets.clone()].into();
    let opts = FetchOptions::new(Duration::from_secs(20)).server_url(conn.server_url.clone());

    let first = fetch_report(&conn, &queries, &opts).await;
    assert_eq!(
        first.objects.lists[&widgets],
        Err(FetchError::NotServed {
            api_version: api_version.clone(),
            kind: "Octopus".into()
        })
    );
    assert_eq!((first.list_requests, first.discovery_requests), (1, 1));

    apply_yaml(
        &admin,
        &format!(
            r#"apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {{name: octopodes.{group}}}
spec:
  group: {group}
  scope: Namespaced
  names: {{plural: octopodes, singular: octopus, kind: Octopus}}
  versions:
  - name: v1
    served: true
    storage: true
    schema: {{openAPIV3Schema: {{type: object, x-kubernetes-preserve-unknown-fields: true}}}}
"#
        ),
    )
    .await;
    crate::harness::wait_crd_established(&admin, &format!("octopodes.{group}")).await;
    apply_yaml(
        &admin,
        &format!(
            "apiVersion: {api_version}\nkind: Octopus\nmetadata: {{name: paul, namespace: {ns}}}\n"
        ),
    )
    .await;

    // Found through discovery (the guess `octopuses` misses), then remembered for the run.
    let second = fetch_report(&conn, &queries, &opts).await;
    let items = second.objects.lists[&widgets].as_ref().unwrap();
    assert_eq!(items.len(), 1);
    assert_eq!(items[0]["kind"], "Octopus");
    assert_eq!((second.list_requests, second.discovery_requests), (2, 1));
    let third = fetch_report(&conn, &queries, &opts).await;
    assert!(third.objects.lists[&widgets].is_ok());
    assert_eq!((third.list_requests, third.discovery_requests), (1, 0));

    let events = cp.audit_events(&user).await;
    let uris: Vec<String> = events
        .iter()
        .map(|e| format!("{} {} -> {}", e.verb, e.request_uri, e.code))
        .collect();
    assert_eq!(
        uris,
        [
            format!("list /apis/{api_version}/namespaces/{ns}/octopuses? -> 404"),
            format!("get /apis/{api_version} -> 404"),
            format!("list /apis/{api_version}/namespaces/{ns}/octopuses? -> 404"),
            format!("get /apis/{api_version} -> 200"),
            format!("list /apis/{api_version}/namespaces/{ns}/octopodes? -> 200"),
            format!("list /apis/{api_version}/namespaces/{ns}/octopodes? -> 200"),
        ]
    );
}

/// A TLS server on loopback standing in for an API server: answers every request with a list
/// of one object over HTTP/1.1 only (ALPN `http/1.1`), or (`break_h2`) agrees to `h2` and then
/// sends bytes that are no HTTP/2 frame. Counts connections, records each request's version.
struct FakeServer {
    url: String,
    kubeconfig: std::path::PathBuf,
    connections: std::sync::Arc<std::sync::atomic::AtomicUsize>,
    requests: std::sync::Arc<std::sync::Mutex<Vec<String>>>,
    _dir: tempfile::TempDir,
}

impl FakeServer {
    async fn start(break_h2: bool) -> FakeServer {
        use std::sync::atomic::Ordering;
        use tokio::io::AsyncWriteExt;
        let ca = crate::harness::Ca::new("labctl-test-fake-server-ca");
        let leaf = ca.server_cert("fake-api-server", &["127.0.0.1"]);
        let provider = std::sync::Arc::new(rustls::crypto::ring::default_provider());
        let mut tls = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_no_client_auth()
            .with_single_cert(
                vec![rustls::pki_types::CertificateDer::from(leaf.cert_der)],
                rustls::pki_types::PrivateKeyDer::Pkcs8(leaf.key_der.into()),
            )
            .unwrap();
        tls.alpn_protocols = match break_h2 {
            true => vec![b"h2".to_vec()],
            false => vec![b"http/1.1".to_vec()],
        };
        let acceptor = tokio_rustls::TlsAcceptor::from(std::sync::Arc::new(tls));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("https://{}", listener.local_addr().unwrap());
        let connections = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let requests = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let (count, seen) = (connections.clone(), requests.clone());
        tokio::spawn(async move {
            while let Ok((tcp, _)) = listener.accept().await {
                count.fetch_add(1, Ordering::SeqCst);
                let (acceptor, seen) = (acceptor.clone(), seen.clone());
                tokio::spawn(async move {
                    let Ok(mut tls) = acceptor.accept(tcp).await else {
                        return;
                    };
                    if break_h2 {
                        let _ = tls.write_all(b"HTTP/1.1 400 Bad Request\r\n\r\n").await;
                        let _ = tls.flush().await;
                        tokio::time::sleep(Duration::from_secs(30)).await;
                        return;
                    }
                    let service = hyper::service::service_fn(move |req| {
                        let seen = seen.clone();
                        async move {
                            seen.lock()
                                .unwrap()
                                .push(format!("{:?} {}", req.version(), req.uri()));
                            let list = r#"{"kind":"List","apiVersion":"v1","metadata":{},"items":[{"metadata":{"name":"one","namespace":"default"}}]}"#;
                            Ok::<_, std::convert::Infallible>(hyper::Response::new(
                                http_body_util::Full::new(hyper::body::Bytes::from(list)),
                            ))
                        }
                    });
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(hyper_util::rt::TokioIo::new(tls), service)
                        .await;
                });
            }
        });
        let dir = tempfile::tempdir().unwrap();
        let kubeconfig = dir.path().join("kubeconfig.yaml");
        let ca_data = {
            use base64::Engine;
            base64::engine::general_purpose::STANDARD.encode(&ca.cert_pem)
        };
        std::fs::write(
            &kubeconfig,
            format!(
                "apiVersion: v1\nkind: Config\nclusters:\n- name: fake\n  cluster:\n    server: {url}\n    certificate-authority-data: {ca_data}\nusers:\n- name: u\n  user:\n    token: fake-token\ncontexts:\n- name: fake\n  context: {{cluster: fake, user: u}}\ncurrent-context: fake\n"
            ),
        )
        .unwrap();
        FakeServer {
            url,
            kubeconfig,
            connections,
            requests,
            _dir: dir,
        }
    }

    async fn fetch(&self, queries: &BTreeSet<Query>) -> labctl::view::live::FetchReport {
        let conn = Connection::open(Some(&self.kubeconfig), None)
            .await
            .unwrap();
        let opts = FetchOptions::new(Duration::from_secs(10)).server_url(self.url.clone());
        fetch_report(&conn, queries, &opts).await
    }
}

#[tokio::test]
async fn a_server_without_http2_is_read_over_http1() {
    let server = FakeServer::start(false).await;
    let queries: BTreeSet<Query> = [
        q("v1", "ConfigMap", Some("default")),
        q("v1", "Pod", Some("default")),
        q("apps/v1", "Deployment", None),
    ]
    .into();
    let report = server.fetch(&queries).await;
    for (query, res) in &report.objects.lists {
        let items = res.as_ref().unwrap_or_else(|e| panic!("{query}: {e}"));
        assert_eq!(items.len(), 1, "{query}");
        assert_eq!(items[0]["kind"], query.kind.as_str());
    }
    let requests = server.requests.lock().unwrap().clone();
    assert_eq!(requests.len(), 3, "{requests:?}");
    assert!(
        requests.iter().all(|r| r.starts_with("HTTP/1.1 /")),
        "{requests:?}"
    );
    let connections = server.connections.load(std::sync::atomic::Ordering::SeqCst);
    assert!(
        (1..=3).contains(&connections),
        "the first connection serves too: {connections}"
    );
}

#[tokio::test]
async fn a_server_that_breaks_http2_gets_a_clear_error() {
    let server = FakeServer::start(true).await;
    let pods = q("v1", "Pod", Some("default"));
    let report = server.fetch(&[pods.clone()].into()).await;
    let err = report.objects.lists[&pods].as_ref().unwrap_err();
    let shown = err.to_string();
    eprintln!("{shown}");
    assert!(
        matches!(err, FetchError::Unreachable { .. })
            && shown.contains(&format!("HTTP/2 protocol error at {}", server.url))
            && shown.contains("does not speak HTTP/2 correctly"),
        "{shown}"
    );
    assert!(!shown.contains("fake-token"), "{shown}");
}

#[tokio::test]
async fn a_websocket_upgrade_goes_over_http1_beside_the_http2_connection() {
    use k8s_openapi::api::core::v1::Pod;
    use kube::api::{Api, AttachParams};
    let cp = ControlPlane::shared().await;
    let user = cp.fresh_learner();
    let proxy = DelayProxy::start(cp.socket_addr(), Duration::ZERO);
    let dir = tempfile::tempdir().unwrap();
    let conn = Connection::open(
        Some(&cp.kubeconfig_via(&user, &proxy.url(), dir.path())),
        None,
    )
    .await
    .unwrap();
    let pods: Api<Pod> = Api::namespaced(conn.client.clone(), "default");
    pods.list(&Default::default()).await.unwrap();
    // HTTP/2 has no `Connection: upgrade` (the exec would reach the server as a plain GET, no
    // WebSocket); it goes over a connection of its own in HTTP/1.1, and the server answers the
    // upgrade request, here that the pod does not exist.
    let err = pods
        .exec("no-such-pod", ["true"], &AttachParams::default())
        .await
        .err()
        .expect("no pod to exec into");
    assert!(
        matches!(&err, kube::Error::Api(s) if s.code == 404),
        "{err:?}"
    );
    pods.list(&Default::default()).await.unwrap();
    assert_eq!(
        proxy.connections(),
        2,
        "the HTTP/2 connection, and one HTTP/1.1 connection for the upgrade"
    );
}
