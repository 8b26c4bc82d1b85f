//! `labctl class serve` as a real process, spoken to over real HTTPS (rustls, the certificate
//! pinned as the join links say): results are accepted once per id, the dashboard is told of
//! each new one over server-sent events, and `kill -9` under load loses no acknowledged
//! submission. The helpers here (a class on disk, the running server, a pinned client) are
//! shared with `class_security`.

use crate::browser::Chromium;
use crate::cli::command;
use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, SignatureScheme};
use serde_json::{Value, json};
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// A class on disk: a roster for the bundled istio-aks lab (kind profile) whose learners push.
pub struct ClassDir {
    pub dir: tempfile::TempDir,
    pub roster: PathBuf,
}

impl ClassDir {
    pub fn new(learners: &[&str]) -> ClassDir {
        let dir = tempfile::tempdir().unwrap();
        let roster = dir.path().join("class.yaml");
        let mut text = "lab: istio-aks\nprofile: kind\nlearners:\n".to_owned();
        for l in learners {
            text.push_str(&format!(
                "  - name: {}\n",
                serde_json::to_string(l).unwrap()
            ));
        }
        std::fs::write(&roster, text).unwrap();
        ClassDir { dir, roster }
    }

    /// `labctl class export ROSTER --format csv` (which must succeed): its output.
    pub fn export_csv(&self) -> String {
        let roster = self.roster.to_str().unwrap();
        let out = command()
            .args(["class", "export", roster, "--format", "csv"])
            .output()
            .unwrap();
        assert!(out.status.success(), "{out:?}");
        String::from_utf8(out.stdout).unwrap()
    }

    pub fn db(&self) -> PathBuf {
        self.dir.path().join("class.yaml.db")
    }

    /// `labctl class invite` for `learners` (all without a token when empty): learner → token,
    /// and the pin the links carry.
    pub fn invite(
        &self,
        server: &str,
        learners: &[&str],
    ) -> (Vec<(String, String)>, Option<String>) {
        let roster = self.roster.to_str().unwrap();
        let mut args = vec!["class", "invite", roster, "--server", server];
        args.extend(learners);
        let out = command().args(&args).output().unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let mut pin = None;
        let tokens = String::from_utf8(out.stdout)
            .unwrap()
            .lines()
            .map(|line| {
                let link = line
                    .strip_prefix("labctl class join '")
                    .and_then(|l| l.strip_suffix('\''))
                    .unwrap_or_else(|| panic!("not a join line: {line}"));
                let url = url::Url::parse(link).unwrap();
                assert_eq!(url.path(), "/join");
                let get = |k: &str| {
                    url.query_pairs()
                        .find(|(n, _)| n == k)
                        .map(|(_, v)| v.into_owned())
                };
                pin = get("pin");
                (get("learner").unwrap(), get("token").unwrap())
            })
            .collect();
        (tokens, pin)
    }
}

/// A running `labctl class serve`, killed when dropped.
pub struct Server {
    pub child: Child,
    pub port: u16,
    /// The instructor key, when this start printed it.
    pub key: Option<String>,
    pub stdout: String,
}

impl Server {
    pub fn start(class: &ClassDir, port: u16, extra: &[&str]) -> Server {
        let listen = format!("127.0.0.1:{port}");
        let mut child = command()
            .args([
                "class",
                "serve",
                class.roster.to_str().unwrap(),
                "--listen",
                &listen,
            ])
            .args(extra)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        let mut out = BufReader::new(child.stdout.take().unwrap());
        let mut stdout = String::new();
        let mut key = None;
        loop {
            let mut line = String::new();
            if out.read_line(&mut line).unwrap() == 0 {
                panic!("class serve ended before it printed its invite line: {stdout}");
            }
            if let Some(k) = line
                .split("/login?key=")
                .nth(1)
                .filter(|k| !k.starts_with("KEY"))
            {
                key = Some(k.trim().to_owned());
            }
            stdout.push_str(&line);
            if line.contains("invite learners:") {
                break;
            }
        }
        // Keep draining stdout so the server never blocks on a full pipe.
        std::thread::spawn(move || std::io::copy(&mut out, &mut std::io::sink()));
        let s = Server {
            child,
            port,
            key,
            stdout,
        };
        s.wait_healthy();
        s
    }

    fn wait_healthy(&self) {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let client = Client::insecure_for_health(self.port);
            if let Ok((200, _)) = client.try_request("GET", "/api/v1/health", None, &[]) {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "class serve never became healthy"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    pub fn kill9(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.kill9();
    }
}

/// Accepts exactly the certificate whose SHA-256 is the pin (as `class join` does).
#[derive(Debug)]
struct Pinned {
    pin: Option<String>,
    provider: Arc<rustls::crypto::CryptoProvider>,
}

impl ServerCertVerifier for Pinned {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        _: &[CertificateDer<'_>],
        _: &ServerName<'_>,
        _: &[u8],
        _: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let digest = ring::digest::digest(&ring::digest::SHA256, end_entity.as_ref());
        let hex: String = digest.as_ref().iter().map(|b| format!("{b:02x}")).collect();
        match &self.pin {
            Some(p) if *p != format!("sha256:{hex}") => {
                Err(rustls::Error::General("pin mismatch".into()))
            }
            _ => Ok(ServerCertVerified::assertion()),
        }
    }
    fn verify_tls12_signature(
        &self,
        m: &[u8],
        c: &CertificateDer<'_>,
        d: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            m,
            c,
            d,
            &self.provider.signature_verification_algorithms,
        )
    }
    fn verify_tls13_signature(
        &self,
        m: &[u8],
        c: &CertificateDer<'_>,
        d: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            m,
            c,
            d,
            &self.provider.signature_verification_algorithms,
        )
    }
    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}

/// HTTPS requests to the server, the certificate checked against the pin.
#[derive(Clone)]
pub struct Client {
    port: u16,
    tls: Arc<rustls::ClientConfig>,
    runtime: Arc<tokio::runtime::Runtime>,
}

impl Client {
    pub fn new(port: u16, pin: Option<String>) -> Client {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let tls = rustls::ClientConfig::builder_with_provider(provider.clone())
            .with_safe_default_protocol_versions()
            .unwrap()
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(Pinned { pin, provider }))
            .with_no_client_auth();
        Client {
            port,
            tls: Arc::new(tls),
            runtime: Arc::new(
                tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .unwrap(),
            ),
        }
    }

    /// The same client for another thread (its own runtime).
    pub fn fresh(&self) -> Client {
        Client {
            runtime: Arc::new(
                tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .unwrap(),
            ),
            ..self.clone()
        }
    }

    /// For the health probe only: no pin (the test has none before the first invite).
    fn insecure_for_health(port: u16) -> Client {
        Client::new(port, None)
    }

    /// One request on a fresh connection: status and body.
    pub fn try_request(
        &self,
        method: &str,
        path: &str,
        body: Option<Vec<u8>>,
        headers: &[(&str, &str)],
    ) -> Result<(u16, String), String> {
        self.runtime.block_on(async {
            let tcp = tokio::net::TcpStream::connect(("127.0.0.1", self.port))
                .await
                .map_err(|e| e.to_string())?;
            let tls = tokio_rustls::TlsConnector::from(self.tls.clone())
                .connect(ServerName::try_from("localhost").unwrap(), tcp)
                .await
                .map_err(|e| e.to_string())?;
            let (mut send, conn) =
                hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(tls))
                    .await
                    .map_err(|e| e.to_string())?;
            tokio::spawn(conn);
            let mut req = http::Request::builder()
                .method(method)
                .uri(path)
                .header("host", "localhost");
            for (k, v) in headers {
                req = req.header(*k, *v);
            }
            let req = req
                .body(Full::new(Bytes::from(body.unwrap_or_default())))
                .unwrap();
            let res = send.send_request(req).await.map_err(|e| e.to_string())?;
            let status = res.status().as_u16();
            let bytes = res.into_body().collect().await.map_err(|e| e.to_string())?;
            Ok((
                status,
                String::from_utf8_lossy(&bytes.to_bytes()).into_owned(),
            ))
        })
    }

    pub fn submit(&self, token: &str, body: &Value) -> (u16, String) {
        let auth = format!("Bearer {token}");
        self.try_request(
            "POST",
            "/api/v1/results",
            Some(serde_json::to_vec(body).unwrap()),
            &[
                ("authorization", &auth),
                ("content-type", "application/json"),
            ],
        )
        .unwrap()
    }

    pub fn get(&self, path: &str, bearer: Option<&str>) -> (u16, String) {
        let auth = bearer.map(|b| format!("Bearer {b}"));
        let headers: Vec<(&str, &str)> =
            auth.iter().map(|a| ("authorization", a.as_str())).collect();
        self.try_request("GET", path, None, &headers).unwrap()
    }
}

/// A valid submission for istio-aks: step `deploy-app`, one failed check with a diagnosis.
pub fn submission(id: &str, message: &str) -> Value {
    json!({
        "id": id, "lab": "istio-aks", "step": "deploy-app", "command": "check",
        "at": "2026-12-06T02:10:00Z", "duration_ms": 900, "status": "failed",
        "checks": [
            {"id": "app-namespace", "status": "passed", "duration_ms": 3},
            {"id": "store-front-available", "status": "failed",
             "diagnosis": "app-applied-to-wrong-namespace", "message": message}
        ]
    })
}

/// The submission ids stored for each learner, read from the database file itself.
pub fn stored_ids(db: &Path) -> Vec<(String, String)> {
    let conn = rusqlite::Connection::open(db).unwrap();
    let mut st = conn.prepare("SELECT learner, id FROM submissions").unwrap();
    st.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect()
}

/// A running class with alice and bob invited.
pub fn class_with(learners: &[&str]) -> (ClassDir, Server, Client, Vec<(String, String)>) {
    let class = ClassDir::new(learners);
    let port = crate::harness::free_port();
    let (tokens, pin) = class.invite(&format!("https://127.0.0.1:{port}"), &[]);
    assert!(
        pin.as_deref()
            .is_some_and(|p| p.starts_with("sha256:") && p.len() == 71)
    );
    let server = Server::start(&class, port, &[]);
    // The server states the pin the links carry.
    assert!(
        server.stdout.contains(pin.as_deref().unwrap()),
        "{}",
        server.stdout
    );
    let client = Client::new(port, pin);
    (class, server, client, tokens)
}

#[test]
fn a_result_is_accepted_once_and_the_dashboard_hears_of_it() {
    let (class, server, client, tokens) = class_with(&["alice", "bob"]);
    let key = server
        .key
        .clone()
        .expect("first start prints the instructor key");
    let alice = &tokens[0].1;
    let (who, body) = client.get("/api/v1/whoami", Some(alice));
    assert_eq!(
        (who, body.as_str()),
        (200, r#"{"learner":"alice","lab":"istio-aks"}"#)
    );

    // A dashboard listening for events before the result arrives.
    let listener = {
        let (key, sse) = (key.clone(), client.fresh());
        std::thread::spawn(move || sse_first_update(&sse, &key))
    };
    std::thread::sleep(Duration::from_millis(300));
    let s = submission("retry-me-0000000001", "store-front has 0/1 ready");
    let first = client.submit(alice, &s);
    assert_eq!(
        first,
        (200, r#"{"accepted":true,"duplicate":false}"#.to_owned())
    );
    // The learner retries (its answer was lost): acknowledged, not counted again.
    let again = client.submit(alice, &s);
    assert_eq!(
        again,
        (200, r#"{"accepted":true,"duplicate":true}"#.to_owned())
    );
    assert_eq!(stored_ids(&class.db()).len(), 1);
    let event = listener.join().unwrap();
    assert!(event.contains("event: update"), "no update event: {event}");

    // The dashboard and the exports show it, to the instructor only.
    let (code, page) = client.get("/", Some(&key));
    assert_eq!(code, 200);
    assert!(page.contains("store-front has 0/1 ready"), "{page}");
    assert!(page.contains("alice"));
    let (code, csv) = client.get("/export.csv", Some(&key));
    assert_eq!(code, 200);
    assert!(csv.lines().any(|l| l.starts_with("alice")), "{csv}");
    let (code, json) = client.get("/export.json", Some(&key));
    assert_eq!(code, 200);
    let v: Value = serde_json::from_str(&json).unwrap();
    assert_eq!(v["lab"], "istio-aks");
    let (code, xml) = client.get("/export.junit", Some(&key));
    assert_eq!(code, 200);
    assert!(xml.contains("<testsuites"));
    // The CLI export writes the same class from the database.
    assert!(class.export_csv().lines().any(|l| l.starts_with("alice")));
}

/// Open `/events` as the instructor and return what arrives up to the first `update`.
fn sse_first_update(client: &Client, key: &str) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    client.runtime.block_on(async {
        let tcp = tokio::net::TcpStream::connect(("127.0.0.1", client.port)).await.unwrap();
        let mut tls = tokio_rustls::TlsConnector::from(client.tls.clone())
            .connect(ServerName::try_from("localhost").unwrap(), tcp)
            .await
            .unwrap();
        let req = format!(
            "GET /events HTTP/1.1\r\nhost: localhost\r\nauthorization: Bearer {key}\r\naccept: text/event-stream\r\n\r\n"
        );
        tls.write_all(req.as_bytes()).await.unwrap();
        let mut seen = String::new();
        let mut buf = [0u8; 4096];
        let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
        while !seen.contains("event: update") {
            match tokio::time::timeout_at(deadline, tls.read(&mut buf)).await {
                Ok(Ok(n)) if n > 0 => seen.push_str(&String::from_utf8_lossy(&buf[..n])),
                _ => break,
            }
        }
        seen
    })
}

#[test]
fn kill_9_under_load_loses_no_acknowledged_submission() {
    let names: Vec<String> = (0..8).map(|i| format!("learner-{i}")).collect();
    let refs: Vec<&str> = names.iter().map(String::as_str).collect();
    let (class, mut server, client, tokens) = class_with(&refs);
    let acked = Arc::new(std::sync::Mutex::new(Vec::new()));
    let stop = Instant::now() + Duration::from_millis(1500);
    let workers: Vec<_> = tokens
        .iter()
        .cloned()
        .map(|(learner, token)| {
            let (client, acked) = (client.clone(), acked.clone());
            std::thread::spawn(move || {
                let client = client.fresh();
                for n in 0.. {
                    let id = format!("{learner}-{n:012}");
                    let body = serde_json::to_vec(&submission(&id, "x")).unwrap();
                    let auth = format!("Bearer {token}");
                    let r = client.try_request(
                        "POST",
                        "/api/v1/results",
                        Some(body),
                        &[("authorization", &auth)],
                    );
                    match r {
                        Ok((200, _)) => acked.lock().unwrap().push((learner.clone(), id)),
                        Ok((429, _)) => std::thread::sleep(Duration::from_millis(100)),
                        Ok(other) => panic!("unexpected answer {other:?}"),
                        Err(_) => return, // the server is gone
                    }
                    if Instant::now() > stop + Duration::from_secs(5) {
                        return;
                    }
                }
            })
        })
        .collect();
    std::thread::sleep(Duration::from_millis(1500));
    server.kill9();
    for w in workers {
        w.join().unwrap();
    }
    let acked = acked.lock().unwrap().clone();
    assert!(
        acked.len() > 10,
        "too little load: {} acknowledged",
        acked.len()
    );
    // Restart on the same database: everything acknowledged is there, the pin is unchanged.
    let server = Server::start(&class, server.port, &[]);
    let stored = stored_ids(&class.db());
    for a in &acked {
        assert!(stored.contains(a), "acknowledged {a:?} was lost");
    }
    assert!(
        server.key.is_none(),
        "the instructor key is kept across restarts"
    );
    let (code, _) = client.get("/api/v1/whoami", Some(&tokens[0].1));
    assert_eq!(
        code, 200,
        "the pinned certificate is the same after a restart"
    );
}

#[test]
fn the_dashboard_in_chromium_shows_a_result_without_a_reload() {
    let (_class, server, client, tokens) = class_with(&["alice", "bob"]);
    let key = server.key.clone().unwrap();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let base = format!("https://127.0.0.1:{}", server.port);
    runtime.block_on(async {
        let browser = Chromium::start().await;
        browser
            .client
            .goto(&format!("{base}/login?key={key}"))
            .await
            .unwrap();
        let source = browser.client.source().await.unwrap();
        assert!(source.contains("bob"), "{source}");
        assert!(!source.contains("cannot reach dashboard 42"));
        browser.mark().await;
        let s = submission("browser-test-000001", "cannot reach dashboard 42");
        let c = client.fresh();
        let alice = tokens[0].1.clone();
        let sent = tokio::task::spawn_blocking(move || c.submit(&alice, &s))
            .await
            .unwrap();
        assert_eq!(sent.0, 200);
        browser
            .wait_for_text("cannot reach dashboard 42", Duration::from_secs(15))
            .await;
        browser.assert_marked().await;
        browser.screenshot("class-serve-dashboard.png").await;
        browser.close().await;
    });
}

/// A roster with one learner who pushes and one the server pulls (from a snapshot, as `class
/// report` reads it): both are rows of the same dashboard and exports, each marked with how its
/// results arrive.
#[test]
fn a_pulled_learner_and_a_pushed_one_share_the_dashboard_and_exports() {
    let class = ClassDir::new(&["ana"]);
    let snapshot =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("labs/istio-aks/snapshots/finished-kind.json");
    let mut roster = std::fs::read_to_string(&class.roster).unwrap();
    roster.push_str(&format!(
        "  - {{ name: carol, snapshot: {} }}\n",
        serde_json::to_string(&snapshot).unwrap()
    ));
    std::fs::write(&class.roster, roster).unwrap();
    let port = crate::harness::free_port();
    let (tokens, pin) = class.invite(&format!("https://127.0.0.1:{port}"), &["ana"]);
    let server = Server::start(&class, port, &["--pull-every", "1s"]);
    let key = server.key.clone().unwrap();
    let client = Client::new(port, pin);
    let (code, _) = client.submit(&tokens[0].1, &submission("pushed-and-pulled-01", "x"));
    assert_eq!(code, 200);
    let rows = |json: &str| -> Vec<(String, String, String)> {
        let v: Value = serde_json::from_str(json).unwrap();
        v["learners"]
            .as_array()
            .unwrap()
            .iter()
            .map(|l| {
                let s = |k: &str| l[k].as_str().unwrap_or_default().to_owned();
                (s("name"), s("source"), s("status"))
            })
            .collect()
    };
    let deadline = Instant::now() + Duration::from_secs(30);
    let learners = loop {
        let (code, json) = client.get("/export.json", Some(&key));
        assert_eq!(code, 200, "{json}");
        let mut learners = rows(&json);
        learners.sort();
        if learners[1].2 == "done" {
            break learners;
        }
        assert!(Instant::now() < deadline, "carol was never pulled: {json}");
        std::thread::sleep(Duration::from_millis(200));
    };
    assert_eq!(
        learners,
        [
            (
                "ana".to_owned(),
                "pushed: sends results".to_owned(),
                "inProgress".to_owned()
            ),
            (
                "carol".to_owned(),
                "pulled: snapshot finished-kind.json".to_owned(),
                "done".to_owned()
            ),
        ]
    );
    let (_, page) = client.get("/", Some(&key));
    assert!(
        page.contains("data-learner=\"carol\"") && page.contains("pulled: snapshot"),
        "{page}"
    );
    let (_, csv) = client.get("/export.csv", Some(&key));
    assert!(
        csv.lines().any(|l| l.starts_with("carol,pulled: snapshot")),
        "{csv}"
    );
    assert!(
        server.stdout.contains("pulled: 1 learners"),
        "{}",
        server.stdout
    );
    // The CLI export pulls them too.
    let csv = class.export_csv();
    assert!(
        csv.lines().any(|l| l.starts_with("carol,pulled: snapshot")),
        "{csv}"
    );
    // `--pull-every 0` never pulls: carol is a row not heard from.
    drop(server);
    let port = crate::harness::free_port();
    let server = Server::start(&class, port, &["--pull-every", "0"]);
    assert!(!server.stdout.contains("pulled:"), "{}", server.stdout);
    let client = Client::new(port, None);
    let (_, json) = client.get("/export.json", Some(&key));
    let mut learners = rows(&json);
    learners.sort();
    assert_eq!(learners[1].2, "unreachable", "{json}");
    // An interval that is not one is a usage error.
    let out = command()
        .args([
            "class",
            "serve",
            class.roster.to_str().unwrap(),
            "--pull-every",
            "soon",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3), "{out:?}");
}
