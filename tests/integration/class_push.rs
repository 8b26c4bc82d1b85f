//! The learner's side of a live class (issue 16): `labctl class join` and the results `check`
//! and `solve` send, against a small class server run by this test over real TLS (a certificate
//! made at run time and pinned by its SHA-256, as `labctl class serve` does), and a real API
//! server to grade. The server stores each submission id once and can be stopped, made slow, or
//! made to lose an answer after storing (so the learner must send again and be told
//! "duplicate").

use crate::cli::{Run, command};
use crate::harness::{
    ADMIN, Ca, ControlPlane, ControlPlaneOptions, FixtureIndex, Profile, Vars, apply_yaml,
    fixture_control_plane, free_port, harness_runtime, render_file, unique_name,
};
use http_body_util::{BodyExt, Full};
use hyper::body::{Bytes, Incoming};
use hyper::{Request, Response};
use labctl::class::wire::{StepStatus, Submission, SubmitCommand};
use std::convert::Infallible;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const TOKEN: &str = "tok-0123456789abcdef";
const LAB: &str = "pushed";

/// What the class server has seen.
#[derive(Default)]
struct Seen {
    /// Stored submissions, each id once, in the order they arrived.
    stored: Mutex<Vec<Submission>>,
    /// Every POST, duplicates included.
    posts: Mutex<usize>,
    /// Store the next submission but answer only after the learner's budget is spent.
    slow_once: AtomicBool,
}

struct ClassServer {
    port: u16,
    pin: String,
    seen: Arc<Seen>,
    task: tokio::task::JoinHandle<()>,
    tls: Arc<rustls::ServerConfig>,
}

fn tls_config() -> (Arc<rustls::ServerConfig>, String) {
    let ca = Ca::new("labctl-test-class");
    let leaf = ca.server_cert("labctl-class", &["127.0.0.1"]);
    let digest = ring::digest::digest(&ring::digest::SHA256, &leaf.cert_der);
    let hex: String = digest.as_ref().iter().map(|b| format!("{b:02x}")).collect();
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut tls = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(
            vec![rustls::pki_types::CertificateDer::from(leaf.cert_der)],
            rustls::pki_types::PrivateKeyDer::Pkcs8(leaf.key_der.into()),
        )
        .unwrap();
    tls.alpn_protocols = vec![b"http/1.1".to_vec()];
    (Arc::new(tls), format!("sha256:{hex}"))
}

impl ClassServer {
    fn start() -> ClassServer {
        let (tls, pin) = tls_config();
        let seen = Arc::new(Seen::default());
        let port = free_port();
        let task = serve(port, tls.clone(), seen.clone());
        ClassServer {
            port,
            pin,
            seen,
            task,
            tls,
        }
    }

    /// Stop listening: connections are refused, as when the server is down.
    fn stop(&self) {
        self.task.abort();
        // Wait until the port is free again.
        for _ in 0..100 {
            if std::net::TcpStream::connect(("127.0.0.1", self.port)).is_err() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Listen again on the same port with the same certificate and what it stored.
    fn restart(&mut self) {
        self.task = serve(self.port, self.tls.clone(), self.seen.clone());
    }

    fn link(&self, pin: &str) -> String {
        format!(
            "https://127.0.0.1:{}/join?learner=ana&token={TOKEN}&pin={pin}",
            self.port
        )
    }

    fn stored(&self) -> Vec<Submission> {
        self.seen.stored.lock().unwrap().clone()
    }
}

fn serve(
    port: u16,
    tls: Arc<rustls::ServerConfig>,
    seen: Arc<Seen>,
) -> tokio::task::JoinHandle<()> {
    let listener = std::net::TcpListener::bind(("127.0.0.1", port)).expect("bind class port");
    listener.set_nonblocking(true).unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(tls);
    harness_runtime().spawn(async move {
        let listener = tokio::net::TcpListener::from_std(listener).unwrap();
        let mut connections = tokio::task::JoinSet::new();
        loop {
            let Ok((tcp, _)) = listener.accept().await else {
                continue;
            };
            let (acceptor, seen) = (acceptor.clone(), seen.clone());
            // Owned by this task: stopping the server ends its connections too.
            connections.spawn(async move {
                let Ok(tls) = acceptor.accept(tcp).await else {
                    return;
                };
                let service = hyper::service::service_fn(move |req| handle(req, seen.clone()));
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(hyper_util::rt::TokioIo::new(tls), service)
                    .await;
            });
        }
    })
}

async fn handle(
    req: Request<Incoming>,
    seen: Arc<Seen>,
) -> Result<Response<Full<Bytes>>, Infallible> {
    let reply = |code: u16, body: String| {
        Ok(Response::builder()
            .status(code)
            .header("content-type", "application/json")
            .body(Full::new(Bytes::from(body)))
            .unwrap())
    };
    let authorized = req
        .headers()
        .get("authorization")
        .is_some_and(|v| v == format!("Bearer {TOKEN}").as_str());
    if !authorized {
        return reply(401, r#"{"error":"unknown token"}"#.into());
    }
    match (req.method().as_str(), req.uri().path()) {
        ("GET", "/api/v1/whoami") => reply(200, format!(r#"{{"learner":"ana","lab":"{LAB}"}}"#)),
        ("POST", "/api/v1/results") => {
            let body = req.into_body().collect().await.unwrap().to_bytes();
            *seen.posts.lock().unwrap() += 1;
            let Ok(s) = serde_json::from_slice::<Submission>(&body) else {
                return reply(400, r#"{"error":"malformed"}"#.into());
            };
            if s.step == "unknown-step" {
                return reply(422, r#"{"error":"unknown step \u001b[31mid"}"#.into());
            }
            let duplicate = {
                let mut stored = seen.stored.lock().unwrap();
                let duplicate = stored.iter().any(|x| x.id == s.id);
                if !duplicate {
                    stored.push(s);
                }
                duplicate
            };
            if seen.slow_once.swap(false, Ordering::SeqCst) {
                tokio::time::sleep(Duration::from_secs(5)).await;
            }
            reply(
                200,
                format!(r#"{{"accepted":true,"duplicate":{duplicate}}}"#),
            )
        }
        _ => reply(404, r#"{"error":"no such path"}"#.into()),
    }
}

/// A one-step lab: the ConfigMap `pushed` exists in `{{ ns }}`.
fn write_lab(root: &Path) -> PathBuf {
    let dir = root.join(LAB);
    std::fs::create_dir_all(dir.join("steps")).unwrap();
    std::fs::write(
        dir.join("lab.yaml"),
        format!(
            r#"name: {LAB}
title: Results pushed to a class
variables:
  ns:
    pattern: '^[a-z0-9]([-a-z0-9]*[a-z0-9])?$'
profiles:
  test: {{}}
steps:
  - id: make
    title: Make the ConfigMap
    instructions: steps/01-make.md
    checks:
      - id: made
        title: the ConfigMap exists
        resource: {{ apiVersion: v1, kind: ConfigMap, namespace: "{{{{ ns }}}}", name: pushed }}
  - id: cleanup
    type: cleanup
    title: Clean up
    instructions: steps/02-cleanup.md
    checks:
      - id: gone
        title: the ConfigMap is gone
        resource: {{ apiVersion: v1, kind: ConfigMap, namespace: "{{{{ ns }}}}", name: pushed }}
        expect:
          absent: true
"#
        ),
    )
    .unwrap();
    std::fs::write(
        dir.join("steps/01-make.md"),
        "# Make\n\n```bash solve\nkubectl create configmap pushed -n {{ ns }}\n```\n",
    )
    .unwrap();
    std::fs::write(
        dir.join("steps/02-cleanup.md"),
        "# Clean up\n\n```bash solve\nkubectl delete configmap pushed -n {{ ns }}\n```\n",
    )
    .unwrap();
    dir
}

/// A learner: a state folder, a kubeconfig for a fresh user, a namespace, the lab started.
struct Learner {
    _work: tempfile::TempDir,
    state: PathBuf,
    kubeconfig: PathBuf,
    ns: String,
}

impl Learner {
    /// A learner of `cp` with the test lab started.
    async fn start(cp: &ControlPlane) -> Learner {
        let learner = Learner::new(cp).await;
        let lab = write_lab(learner._work.path());
        let var = format!("ns={}", learner.ns);
        let r = learner.run(&["start", lab.to_str().unwrap(), "--var", &var]);
        assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
        learner
    }

    /// A learner of `cp`: its own user, kubeconfig, namespace and state folder; nothing started.
    async fn new(cp: &ControlPlane) -> Learner {
        let work = tempfile::tempdir().unwrap();
        let user = cp.fresh_learner();
        let ns = unique_name("push");
        let yaml = format!("apiVersion: v1\nkind: Namespace\nmetadata:\n  name: {ns}\n");
        apply_yaml(&cp.client(ADMIN).await, &yaml).await;
        Learner {
            state: work.path().join("state"),
            kubeconfig: cp.kubeconfig_path(&user),
            ns,
            _work: work,
        }
    }

    fn run(&self, args: &[&str]) -> Run {
        Run::of(
            command()
                .args(args)
                .env("LABCTL_STATE_DIR", &self.state)
                .env("KUBECONFIG", &self.kubeconfig),
        )
    }

    /// [`Learner::run`] from an async test, without holding up the runtime's other tasks (the
    /// browser session's).
    fn blocking_run(&self, args: &[&str]) -> Run {
        tokio::task::block_in_place(|| self.run(args))
    }

    fn queued(&self, folder: &str) -> usize {
        std::fs::read_dir(self.state.join("push").join(folder))
            .map(|d| d.count())
            .unwrap_or(0)
    }
}

fn all(r: &Run) -> String {
    format!("{}{}", r.stdout, r.stderr)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn results_queue_while_the_server_is_down_and_arrive_once_in_order() {
    let cp = ControlPlane::shared().await;
    let mut server = ClassServer::start();
    let learner = Learner::start(cp).await;
    let r = learner.run(&["class", "join", &server.link(&server.pin)]);
    assert_eq!(r.code, 0, "{}", all(&r));
    assert!(r.stdout.contains("Joined the class"), "{}", all(&r));
    assert!(
        !all(&r).contains(TOKEN),
        "the token is never printed:\n{}",
        all(&r)
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let meta = std::fs::metadata(learner.state.join("push/join.json")).unwrap();
        assert_eq!(meta.permissions().mode() & 0o777, 0o600);
    }

    // Up: a failing check is sent at once.
    let r = learner.run(&["check"]);
    assert_eq!(r.code, 1, "{}", all(&r));
    assert!(r.stdout.contains("Sent to the class"), "{}", all(&r));
    assert_eq!(server.stored().len(), 1);

    // Down: two more results wait, in order, and status says so.
    server.stop();
    let r = learner.run(&["check"]);
    assert!(r.stdout.contains("1 result waiting"), "{}", all(&r));
    let yaml = format!(
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: pushed\n  namespace: {}\n",
        learner.ns
    );
    apply_yaml(&cp.client(ADMIN).await, &yaml).await;
    let r = learner.run(&["check"]);
    assert_eq!(r.code, 0, "{}", all(&r));
    assert!(r.stdout.contains("2 results waiting"), "{}", all(&r));
    let r = learner.run(&["status"]);
    let url = format!("https://127.0.0.1:{}", server.port);
    assert!(
        r.stdout.contains(&format!("results: 2 pending for {url}")),
        "{}",
        all(&r)
    );
    assert_eq!(learner.queued("queue"), 2);

    // Up again, but the answer to the first is lost after it was stored: it stays queued, is
    // sent again, and the server counts it once.
    server.restart();
    server.seen.slow_once.store(true, Ordering::SeqCst);
    let r = learner.run(&["status"]);
    assert!(r.stdout.contains("results: 2 pending"), "{}", all(&r));
    assert_eq!(
        server.stored().len(),
        2,
        "stored before the answer was lost"
    );
    let r = learner.run(&["status"]);
    assert!(r.stdout.contains("results: all sent to"), "{}", all(&r));
    assert_eq!(learner.queued("queue"), 0);

    let stored = server.stored();
    let statuses: Vec<StepStatus> = stored.iter().map(|s| s.status).collect();
    assert_eq!(
        statuses,
        [StepStatus::Failed, StepStatus::Failed, StepStatus::Passed],
        "every result once, in the order made"
    );
    assert_eq!(
        *server.seen.posts.lock().unwrap(),
        4,
        "one sent twice, counted once"
    );
    let first = &stored[0];
    assert_eq!((first.lab.as_str(), first.step.as_str()), (LAB, "make"));
    assert_eq!(first.command, SubmitCommand::Check);
    assert_eq!(first.checks[0].id, "made");
    let text = serde_json::to_string(&stored).unwrap();
    assert!(!text.contains("certificate-authority-data") && !text.contains("token"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_that_never_answers_costs_about_a_second_and_the_result_waits() {
    let cp = ControlPlane::shared().await;
    let learner = Learner::start(cp).await;
    // Accepts connections and never says a word (not even TLS).
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let pin = format!("sha256:{}", "a".repeat(64));
    let joined = format!(
        r#"{{"server":"https://127.0.0.1:{port}","learner":"ana","lab":"{LAB}","token":"{TOKEN}","pin":"{pin}"}}"#
    );
    std::fs::create_dir_all(learner.state.join("push")).unwrap();
    std::fs::write(learner.state.join("push/join.json"), joined).unwrap();
    let started = Instant::now();
    let r = learner.run(&["check"]);
    let took = started.elapsed();
    assert_eq!(r.code, 1, "{}", all(&r));
    assert!(
        r.stdout.contains("1 result waiting") && r.stdout.contains("no answer within"),
        "{}",
        all(&r)
    );
    assert_eq!(learner.queued("queue"), 1);
    // Grading itself takes time too; this only guards against waiting on the server for long.
    assert!(took < Duration::from_secs(20), "took {took:?}");
    drop(listener);
}

#[test]
fn a_wrong_pin_or_a_refused_result_is_said_clearly() {
    let server = ClassServer::start();
    let state = tempfile::tempdir().unwrap();
    let run = |args: &[&str]| Run::of(command().args(args).env("LABCTL_STATE_DIR", state.path()));
    let wrong = format!("sha256:{}", "0".repeat(64));
    let r = run(&["class", "join", &server.link(&wrong)]);
    assert_eq!(r.code, 2, "{}", all(&r));
    assert!(
        r.stderr.contains("not the one pinned in the join link"),
        "{}",
        all(&r)
    );
    assert!(
        !state.path().join("push/join.json").exists(),
        "nothing saved"
    );
    assert!(!all(&r).contains(TOKEN));

    // Plain HTTP off this machine, and a link that is not one, are usage errors.
    let r = run(&[
        "class",
        "join",
        "http://10.1.2.3:8080/join?learner=a&token=b",
    ]);
    assert_eq!(r.code, 3, "{}", all(&r));
    assert!(r.stderr.contains("only to this machine"), "{}", all(&r));
    let r = run(&["class", "join", "https://127.0.0.1:1/join?learner=a"]);
    assert_eq!(r.code, 3, "{}", all(&r));
    assert!(r.stderr.contains("no `token=`"), "{}", all(&r));

    // A wrong token.
    let bad = format!(
        "https://127.0.0.1:{}/join?learner=ana&token=nope&pin={}",
        server.port, server.pin
    );
    let r = run(&["class", "join", &bad]);
    assert_eq!(r.code, 2, "{}", all(&r));
    assert!(r.stderr.contains("does not know this token"), "{}", all(&r));

    // Joined; a result the server refuses for good moves aside (said once: it is no longer
    // queued), the server's reason made safe to print.
    let r = run(&["class", "join", &server.link(&server.pin)]);
    assert_eq!(r.code, 0, "{}", all(&r));
    let refused = format!(
        r#"{{"id":"refused-0123456789abcdef","lab":"{LAB}","step":"unknown-step","command":"check","at":"2026-12-06T02:10:00Z","duration_ms":1,"status":"failed","checks":[]}}"#
    );
    let queue = state.path().join("push/queue");
    std::fs::create_dir_all(&queue).unwrap();
    std::fs::write(
        queue.join("00000000000000000001-refused-0123456789abcdef.json"),
        refused,
    )
    .unwrap();
    let done = labctl::learner::push::send::deliver(
        &labctl::learner::push::join::Joined::load(state.path())
            .unwrap()
            .unwrap(),
        &labctl::learner::push::queue::Queue::new(&state.path().join("push")),
        Duration::from_secs(5),
    );
    assert_eq!(done.rejected.len(), 1, "{done:?}");
    assert_eq!(done.rejected[0].1, 422);
    assert!(!done.rejected[0].2.contains('\u{1b}'), "escaped: {done:?}");
    assert!(
        state
            .path()
            .join("push/rejected")
            .read_dir()
            .unwrap()
            .count()
            == 1
    );
}

/// The issue's end to end: two learners, each with only the kubeconfig of their own API server,
/// start istio-aks with `--join` and work through its first two steps with `check` (their
/// clusters made to pass each step with the fixture objects of the state after it). The real
/// `labctl class serve` stores each result under the right learner, and its dashboard, open in
/// headless Chromium all along, shows every result arrive without a reload.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_learners_on_two_api_servers_progress_through_istio_aks_on_the_live_dashboard() {
    use crate::browser::Chromium;
    use crate::class_server::{ClassDir, Server, stored_ids};
    // No controller-manager: the fixture states' pods are the only ones, as written.
    let a = fixture_control_plane().await;
    let b = ControlPlane::start(ControlPlaneOptions {
        controller_manager: false,
        istio_crds: true,
    })
    .await;
    let class = ClassDir::new(&["ana", "ben"]);
    let port = free_port();
    let url = format!("https://127.0.0.1:{port}");
    let (tokens, pin) = class.invite(&url, &[]);
    let pin = pin.expect("a self-signed server pins its certificate");
    // It waits for the server with a runtime of its own.
    let server = tokio::task::block_in_place(|| Server::start(&class, port, &[]));
    assert!(
        server.stdout.contains("invite learners:"),
        "{}",
        server.stdout
    );
    let key = server.key.clone().expect("first start prints the key");
    let browser = Chromium::start().await;
    browser
        .client
        .goto(&format!("{url}/login?key={key}"))
        .await
        .unwrap();
    browser.wait_for_text("data-learner=\"ben\"", WAIT).await;
    browser.mark().await;

    let steps = ["enable-addon", "deploy-app"];
    for ((name, token), cp) in tokens.iter().zip([a, &b]) {
        let learner = Learner::new(cp).await;
        let vars = Vars::unique(Profile::Kind);
        let link = format!("{url}/join?learner={name}&token={token}&pin={pin}");
        let mut args = vec!["start", "istio-aks", "--profile", "kind", "--join", &link];
        let assignments: Vec<String> = vars.iter().map(|(k, v)| format!("{k}={v}")).collect();
        for v in &assignments {
            args.extend(["--var", v]);
        }
        let r = learner.blocking_run(&args);
        assert_eq!(r.code, 0, "{}", all(&r));
        assert!(
            r.stdout.contains(&format!("as {name} (lab istio-aks)")),
            "{}",
            all(&r)
        );
        // Nothing done yet: step 1 fails, and the dashboard says so.
        let r = learner.blocking_run(&["check"]);
        assert_eq!(r.code, 1, "{}", all(&r));
        assert!(
            r.stdout.contains(&format!("Sent to the class at {url}.")),
            "{}",
            all(&r)
        );
        assert_eq!(
            dashboard_row(&browser, name, |(_, cells)| cells
                .first()
                .map(String::as_str)
                == Some("failed"))
            .await
            .0,
            0
        );
        let admin = cp.client(ADMIN).await;
        for (done, step) in steps.iter().enumerate() {
            for file in FixtureIndex::get().step(step).files(Profile::Kind) {
                // Each step's own objects, on top of the last: the state after the step.
                let yaml = render_file(&file, &vars).unwrap();
                apply_yaml(&admin, &yaml).await;
            }
            let r = learner.blocking_run(&["check"]);
            assert_eq!(r.code, 0, "{step}: {}", all(&r));
            assert!(
                r.stdout.contains(&format!("Step {} done", done + 1))
                    && r.stdout.contains(&format!("Sent to the class at {url}.")),
                "{step}: {}",
                all(&r)
            );
            let (progress, cells) = dashboard_row(&browser, name, |(p, _)| *p == done + 1).await;
            assert_eq!(progress, done + 1);
            assert!(
                cells[..=done].iter().all(|c| c == "passed"),
                "{name}: {cells:?}"
            );
        }
        let r = learner.blocking_run(&["status"]);
        assert!(r.stdout.contains("results: all sent to"), "{}", all(&r));
    }
    browser.assert_marked().await;
    let shot = browser.screenshot("class-serve-e2e.png").await;
    browser.close().await;
    let mut learners: Vec<String> = stored_ids(&class.db())
        .into_iter()
        .map(|(l, _)| l)
        .collect();
    learners.sort();
    assert_eq!(
        learners,
        ["ana", "ana", "ana", "ben", "ben", "ben"],
        "three results each, under their learner (screenshot: {})",
        shot.display()
    );
    drop(server);
}

/// How long the dashboard may take to show a result.
const WAIT: Duration = Duration::from_secs(20);

/// Wait until the dashboard's row of `learner` satisfies `done`: its progress (steps finished)
/// and its cells' states (`passed`, `failed`, `notReached`, ...), in step order.
async fn dashboard_row(
    browser: &crate::browser::Chromium,
    learner: &str,
    done: impl Fn(&(usize, Vec<String>)) -> bool,
) -> (usize, Vec<String>) {
    let script = format!(
        "const r = document.querySelector('tr.learner[data-learner={}]');\n\
         if (!r) return null;\n\
         return [Number(r.dataset.progress), [...r.querySelectorAll('span.cell')].map(c => c.classList[1])];",
        serde_json::json!(learner)
    );
    let parse = |v: &serde_json::Value| -> Option<(usize, Vec<String>)> {
        serde_json::from_value(v.clone()).ok()
    };
    let v = browser
        .wait_for(&script, WAIT, |v| parse(v).is_some_and(|row| done(&row)))
        .await;
    parse(&v).unwrap()
}
