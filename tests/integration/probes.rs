//! Probes against the real API server, with the probe test lab (`tests/labs-ok/probes`). Pods
//! never run here (no kubelet), so these tests prove what labctl does around them: the probe pod
//! it creates (labels, deadline, no token), the timeout path, reading a result the test writes
//! into the pod's status as a kubelet would, deletion on every path including Ctrl-C, requests
//! labctl makes itself, exec errors, and `--no-probes` — and, from the audit log, that labctl
//! wrote nothing but its probe pods.

use crate::cli::Run;
use crate::harness::{ADMIN, ControlPlane, apply_yaml, unique_name, wait_until};
use k8s_openapi::api::core::v1::{Pod, Service};
use kube::api::{Api, ListParams, Patch, PatchParams};
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::Duration;

const LAB: &str = "tests/labs-ok/probes";

fn grade(kubeconfig: &Path, ns: &str, step: &str, extra: &[&str]) -> Command {
    let mut cmd = crate::cli::command();
    cmd.args(["grade", LAB, "--profile", "test", "--step", step])
        .arg("--kubeconfig")
        .arg(kubeconfig)
        .args(["--var", &format!("ns={ns}"), "--timeout", "20s"])
        .args(extra)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    cmd
}

async fn finish(child: std::process::Child) -> Output {
    tokio::task::spawn_blocking(move || child.wait_with_output().unwrap())
        .await
        .unwrap()
}

fn check<'a>(report: &'a Value, id: &str) -> &'a Value {
    report["steps"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|s| s["checks"].as_array().into_iter().flatten())
        .find(|c| c["id"] == id)
        .unwrap_or_else(|| panic!("no check {id} in {report}"))
}

/// One test's world: the shared API server, a fresh learner identity (so the audit log shows
/// this test's requests only) and a fresh namespace.
struct World {
    cp: &'static ControlPlane,
    admin: kube::Client,
    learner: String,
    kubeconfig: PathBuf,
    ns: String,
    pods: Api<Pod>,
}

impl World {
    async fn new() -> World {
        let cp = ControlPlane::shared().await;
        let admin = cp.client(ADMIN).await;
        let learner = cp.fresh_learner();
        let ns = unique_name("probe");
        apply_yaml(
            &admin,
            &format!("apiVersion: v1\nkind: Namespace\nmetadata:\n  name: {ns}\n"),
        )
        .await;
        World {
            cp,
            kubeconfig: cp.kubeconfig_path(&learner),
            pods: Api::namespaced(admin.clone(), &ns),
            admin,
            learner,
            ns,
        }
    }
}

fn json_of(out: &Output) -> Value {
    serde_json::from_slice(&out.stdout).unwrap_or(Value::Null)
}

/// The first probe pod that appears in `ns`.
async fn probe_pod(pods: &Api<Pod>) -> Pod {
    wait_until("the probe pod", Duration::from_secs(30), || async {
        let list = pods
            .list(&ListParams::default())
            .await
            .map_err(|e| e.to_string())?;
        list.items
            .into_iter()
            .next()
            .ok_or_else(|| "no pod yet".to_owned())
    })
    .await
}

async fn pod_names(pods: &Api<Pod>) -> Vec<String> {
    pods.list(&ListParams::default())
        .await
        .unwrap()
        .items
        .into_iter()
        .filter_map(|p| p.metadata.name)
        .collect()
}

/// What `user` changed in the cluster: every request that is not get/list/watch.
async fn writes(cp: &ControlPlane, user: &str) -> Vec<String> {
    cp.audit_events(user)
        .await
        .into_iter()
        .filter(|e| !matches!(e.verb.as_str(), "get" | "list" | "watch"))
        .map(|e| {
            format!(
                "{} {}{} {}/{}",
                e.verb,
                e.resource,
                if e.subresource.is_empty() {
                    String::new()
                } else {
                    format!("/{}", e.subresource)
                },
                e.namespace,
                e.name
            )
        })
        .collect()
}

/// Nothing but creating and deleting probe pods in `ns`.
fn only_probe_pods(writes: &[String], ns: &str) {
    assert!(!writes.is_empty(), "no writes audited at all");
    for w in writes {
        let ok = (w.starts_with(&format!("create pods {ns}/"))
            || w.starts_with(&format!("delete pods {ns}/labctl-probe-")))
            && !w.contains("/status");
        assert!(ok, "labctl wrote more than probe pods: {writes:?}");
    }
}

/// After a grade: no probe pod left in `ns`, and `user` wrote nothing but probe pods there.
/// Returns those writes.
async fn left_clean(cp: &ControlPlane, user: &str, pods: &Api<Pod>, ns: &str) -> Vec<String> {
    assert!(
        pod_names(pods).await.is_empty(),
        "probe pods were left behind"
    );
    let w = writes(cp, user).await;
    only_probe_pods(&w, ns);
    w
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_probe_pod_is_labelled_bounded_and_deleted_when_it_does_not_finish() {
    let World {
        cp,
        learner,
        kubeconfig,
        ns,
        pods,
        ..
    } = World::new().await;
    let child = grade(&kubeconfig, &ns, "pod-times-out", &["-o", "json"])
        .spawn()
        .unwrap();

    let pod = probe_pod(&pods).await;
    let labels = pod.metadata.labels.clone().unwrap_or_default();
    assert_eq!(labels["app.kubernetes.io/managed-by"], "labctl");
    assert_eq!(labels["labctl.dev/check"], "short-deadline");
    assert!(!labels["labctl.dev/run"].is_empty());
    assert_eq!(labels["sidecar.istio.io/inject"], "false", "mesh: false");
    let spec = pod.spec.as_ref().unwrap();
    assert_eq!(spec.active_deadline_seconds, Some(2));
    assert_eq!(spec.restart_policy.as_deref(), Some("Never"));
    assert_eq!(spec.automount_service_account_token, Some(false));
    assert_eq!(
        spec.containers[0].image.as_deref(),
        Some("curlimages/curl:8.11.1")
    );
    assert!(
        spec.containers[0]
            .resources
            .as_ref()
            .unwrap()
            .limits
            .is_some()
    );

    let out = finish(child).await;
    let report: Value = json_of(&out);
    assert_eq!(out.status.code(), Some(2), "could not grade: {report}");
    let c = check(&report, "short-deadline");
    assert_eq!(c["status"], "error");
    let message = c["message"].as_str().unwrap();
    assert!(
        message.contains("did not finish within 2s") && message.contains("labctl-probe-"),
        "{message}"
    );
    let w = left_clean(cp, &learner, &pods, &ns).await;
    assert_eq!(w.len(), 2, "one create, one delete: {w:?}");
}

/// Play the kubelet for the next probe pod in `pods`: its probe container ran curl, which got a
/// 200 and the store front page. Returns the pod as labctl created it.
async fn answer_next_probe_pod(pods: &Api<Pod>) -> Pod {
    let report = "labctl-probe 1\nexit 0\ncode 200\nerror \nbody\n<!doctype html><title>Contoso Pet Store</title>\n";
    report_next_probe_pod(pods, report).await
}

/// Play the kubelet for the next probe pod: it finished and left `report` (the probe script's
/// output) as its termination message.
async fn report_next_probe_pod(pods: &Api<Pod>, report: &str) -> Pod {
    let pod = probe_pod(pods).await;
    let name = pod.metadata.name.clone().unwrap();
    let status = json!({"status": {"phase": "Succeeded", "containerStatuses": [{
        "name": "probe", "ready": false, "restartCount": 0,
        "image": "curlimages/curl:8.11.1", "imageID": "",
        "state": {"terminated": {"exitCode": 0, "reason": "Completed", "message": report}}
    }]}});
    pods.patch_status(&name, &PatchParams::default(), &Patch::Merge(&status))
        .await
        .unwrap();
    pod
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_probe_pods_report_is_read_from_its_status_then_the_pod_is_deleted() {
    let World {
        cp,
        learner,
        kubeconfig,
        ns,
        pods,
        ..
    } = World::new().await;

    let child = grade(&kubeconfig, &ns, "pod-answers", &["-o", "json"])
        .spawn()
        .unwrap();
    answer_next_probe_pod(&pods).await;
    let out = finish(child).await;
    let json: Value = json_of(&out);
    assert_eq!(out.status.code(), Some(0), "{json}");
    let c = check(&json, "store-front-from-pod");
    assert_eq!(c["status"], "passed");
    assert_eq!(c["actual"], "HTTP 200");
    assert!(
        pod_names(&pods).await.is_empty(),
        "the probe pod was left behind"
    );

    // `mesh: true`: the pod waits for its sidecar; one that got none (no injector here) was not
    // in the mesh, whatever it got back — a failed check, not a pass.
    let child = grade(&kubeconfig, &ns, "pod-in-mesh", &["-o", "json"])
        .spawn()
        .unwrap();
    let pod = answer_next_probe_pod(&pods).await;
    let annotations = pod.metadata.annotations.unwrap_or_default();
    assert!(annotations["proxy.istio.io/config"].contains("holdApplicationUntilProxyStarts"));
    assert!(
        !pod.metadata
            .labels
            .unwrap_or_default()
            .contains_key("sidecar.istio.io/inject")
    );
    let out = finish(child).await;
    let json: Value = json_of(&out);
    assert_eq!(out.status.code(), Some(1), "{json}");
    let c = check(&json, "store-front-from-mesh");
    assert_eq!(
        c["actual"],
        "the probe pod got no istio-proxy sidecar, so it was not inside the mesh"
    );
    let w = left_clean(cp, &learner, &pods, &ns).await;
    assert_eq!(w.len(), 4, "two creates, two deletes: {w:?}");
}

/// A negative probe proves its mechanism only by the failure that mechanism produces: STRICT's
/// reset passes, a plaintext answer fails, and a timeout (curl exit 28) is "could not prove"
/// (exit 2), never a pass — through a real probe pod whose report the test writes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_negative_probe_passes_only_on_its_mechanisms_failure() {
    let World {
        cp,
        learner,
        kubeconfig,
        ns,
        pods,
        ..
    } = World::new().await;
    let reset = "labctl-probe 1\nexit 56\ncode 000\nerror curl: (56) Recv failure: Connection reset by peer\nbody\n";
    let answered =
        "labctl-probe 1\nexit 0\ncode 200\nerror \nbody\n<title>Contoso Pet Store</title>\n";
    let timed_out = "labctl-probe 1\nexit 28\ncode 000\nerror curl: (28) Connection timed out after 10002 milliseconds\nbody\n";
    let mut results = Vec::new();
    for report in [reset, answered, timed_out] {
        let child = grade(&kubeconfig, &ns, "strict-signature", &["-o", "json"])
            .spawn()
            .unwrap();
        report_next_probe_pod(&pods, report).await;
        let out = finish(child).await;
        let json: Value = json_of(&out);
        results.push((out.status.code(), check(&json, "plaintext-refused").clone()));
    }
    let [
        (passed_code, passed),
        (failed_code, failed),
        (error_code, error),
    ] = <[_; 3]>::try_from(results).unwrap();
    assert_eq!(passed_code, Some(0), "{passed}");
    assert_eq!(
        passed["actual"],
        "connection reset: curl exit 56: (56) Recv failure: Connection reset by peer"
    );
    assert_eq!(failed_code, Some(1), "{failed}");
    assert_eq!(failed["status"], "failed");
    assert_eq!(
        failed["actual"],
        "HTTP 200, body \"<title>Contoso Pet Store</title>\""
    );
    assert_eq!(error_code, Some(2), "{error}");
    assert_eq!(error["status"], "error");
    let message = error["message"].as_str().unwrap();
    assert!(
        message.starts_with("could not prove it: GET http://store-front.")
            && message.contains(
                "should fail this way: connection reset or empty reply, but got timed out: curl exit 28"
            ),
        "{message}"
    );
    let w = left_clean(cp, &learner, &pods, &ns).await;
    assert_eq!(w.len(), 6, "three creates, three deletes: {w:?}");
}

/// Probes run concurrently: four probe pods that each time out after 2s take about 2s, not 8s.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn probes_run_at_once_and_every_probe_pod_is_deleted() {
    let World {
        cp,
        learner,
        kubeconfig,
        ns,
        pods,
        ..
    } = World::new().await;
    let start = std::time::Instant::now();
    let out = grade(&kubeconfig, &ns, "four-time-out", &["-o", "json"])
        .output()
        .unwrap();
    let took = start.elapsed();
    eprintln!("four 2s probe timeouts graded in {took:?}");
    let json = json_of(&out);
    assert_eq!(out.status.code(), Some(2), "{json}");
    assert!(
        took < Duration::from_secs(6),
        "took {took:?}: not concurrent"
    );
    for i in 1..=4 {
        assert_eq!(check(&json, &format!("deadline-{i}"))["status"], "error");
    }
    let w = left_clean(cp, &learner, &pods, &ns).await;
    assert_eq!(w.len(), 8, "four creates, four deletes: {w:?}");
}

/// Ctrl-C (SIGINT) and SIGTERM (a CI job's timeout) while a probe pod lives: labctl deletes it
/// and exits as shells report the signal.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ctrl_c_and_sigterm_delete_the_live_probe_pod() {
    let World {
        cp,
        learner,
        kubeconfig,
        ns,
        pods,
        ..
    } = World::new().await;
    for (signal, code, said) in [
        (libc::SIGINT, 130, "error: interrupted"),
        (libc::SIGTERM, 143, "error: terminated"),
    ] {
        let child = grade(&kubeconfig, &ns, "pod-answers", &[]).spawn().unwrap();
        probe_pod(&pods).await;
        // SAFETY: kill(2) on our own child's pid; no memory is involved.
        let sent = unsafe { libc::kill(child.id() as libc::pid_t, signal) };
        assert_eq!(sent, 0);
        let out = finish(child).await;
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(code), "{stderr}");
        assert_eq!(stderr.trim(), said);
        left_clean(cp, &learner, &pods, &ns).await;
    }
}

/// A one-request-at-a-time HTTP server answering every request with `body`.
async fn http_server(body: &'static str) -> u16 {
    answering(move |_| {
        format!(
            "content-type: text/html\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
            body.len()
        )
    })
    .await
}

/// A one-request-at-a-time HTTP server: a 200 whose headers and body (after the status line)
/// are `answer(n)` for the n-th request.
async fn answering(answer: impl Fn(usize) -> String + Send + 'static) -> u16 {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    crate::harness::harness_runtime().spawn(async move {
        let mut n = 0;
        while let Ok((mut s, _)) = listener.accept().await {
            let mut buf = [0u8; 4096];
            let _ = s.read(&mut buf).await;
            let _ = s
                .write_all(format!("HTTP/1.1 200 OK\r\n{}", answer(n)).as_bytes())
                .await;
            n += 1;
        }
    });
    port
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn labctl_requests_the_external_address_read_from_the_service() {
    let World {
        cp,
        admin,
        learner,
        kubeconfig,
        ns,
        ..
    } = World::new().await;
    let port = http_server("<html><title>Contoso Pet Store</title></html>").await;
    let dead = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    apply_yaml(
        &admin,
        &format!(
            "apiVersion: v1\nkind: Service\nmetadata:\n  name: gw\n  namespace: {ns}\nspec:\n  type: LoadBalancer\n  selector: {{app: gw}}\n  ports:\n  - {{name: http2, port: 80}}\n"
        ),
    )
    .await;
    let services: Api<Service> = Api::namespaced(admin.clone(), &ns);
    let lb = json!({"status": {"loadBalancer": {"ingress": [{"ip": "127.0.0.1"}]}}});
    services
        .patch_status("gw", &PatchParams::default(), &Patch::Merge(&lb))
        .await
        .unwrap();

    let vars = [
        "--var".to_owned(),
        format!("port={port}"),
        "--var".to_owned(),
        format!("deadPort={dead}"),
        "-o".to_owned(),
        "json".to_owned(),
    ];
    let vars: Vec<&str> = vars.iter().map(String::as_str).collect();
    let out = grade(&kubeconfig, &ns, "from-labctl", &vars)
        .output()
        .unwrap();
    let json: Value = json_of(&out);
    assert_eq!(out.status.code(), Some(0), "{json}");
    assert_eq!(
        check(&json, "store-front-via-gateway")["actual"],
        "HTTP 200"
    );
    let refused = check(&json, "dead-port-refused");
    assert_eq!(refused["status"], "passed");
    assert!(
        refused["actual"]
            .as_str()
            .unwrap()
            .starts_with("connection refused"),
        "{refused}"
    );
    // From labctl itself: not a single write.
    assert!(writes(cp, &learner).await.is_empty());

    // Without an external address the probe cannot be made: could not grade, and why.
    let none = json!({"status": {"loadBalancer": {"ingress": null}}});
    services
        .patch_status("gw", &PatchParams::default(), &Patch::Merge(&none))
        .await
        .unwrap();
    let out = grade(&kubeconfig, &ns, "from-labctl", &vars)
        .output()
        .unwrap();
    let json: Value = json_of(&out);
    assert_eq!(out.status.code(), Some(2), "{json}");
    let c = check(&json, "store-front-via-gateway");
    assert!(
        c["message"]
            .as_str()
            .unwrap()
            .contains(&format!("Service gw in {ns} has no external address yet")),
        "{c}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exec_into_a_pod_that_does_not_run_cannot_grade_and_says_why() {
    let World {
        cp,
        admin,
        learner,
        kubeconfig,
        ns,
        pods,
    } = World::new().await;

    // No pod at all.
    let out = grade(&kubeconfig, &ns, "exec", &["-o", "json"])
        .output()
        .unwrap();
    let json: Value = json_of(&out);
    assert_eq!(out.status.code(), Some(2), "{json}");
    assert!(
        check(&json, "from-curl-pod")["message"]
            .as_str()
            .unwrap()
            .contains(&format!("no running pod matches app=curl in {ns}")),
        "{json}"
    );

    // A pod that claims to run but has no node: the API server refuses the exec (400), which
    // is an answer, not a protocol problem — no kubectl fallback.
    apply_yaml(
        &admin,
        &format!("apiVersion: v1\nkind: Pod\nmetadata:\n  name: curl-0\n  namespace: {ns}\n  labels: {{app: curl}}\nspec:\n  containers:\n  - {{name: curl, image: curlimages/curl:8.11.1}}\n"),
    )
    .await;
    pods.patch_status(
        "curl-0",
        &PatchParams::default(),
        &Patch::Merge(&json!({"status": {"phase": "Running"}})),
    )
    .await
    .unwrap();
    let out = grade(&kubeconfig, &ns, "exec", &["-o", "json"])
        .output()
        .unwrap();
    let json: Value = json_of(&out);
    assert_eq!(out.status.code(), Some(2), "{json}");
    let message = check(&json, "from-curl-pod")["message"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(
        message.contains("exec into pod curl-0")
            && message.contains("does not have a host assigned"),
        "{message}"
    );
    let w = writes(cp, &learner).await;
    assert!(
        w.iter()
            .all(|w| w.starts_with(&format!("create pods/exec {ns}/curl-0"))),
        "only the exec request: {w:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_probes_skips_them_and_says_so_in_every_format() {
    let World {
        cp,
        learner,
        kubeconfig,
        ns,
        ..
    } = World::new().await;
    let dir = tempfile::tempdir().unwrap();
    let (junit, json) = (dir.path().join("r.xml"), dir.path().join("r.json"));
    let out = grade(
        &kubeconfig,
        &ns,
        "pod-answers",
        &[
            "--no-probes",
            "--junit",
            junit.to_str().unwrap(),
            "--json",
            json.to_str().unwrap(),
        ],
    )
    .output()
    .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert!(
        text.contains("1 probe check skipped: probes are not run with --no-probes"),
        "{text}"
    );
    let report: Value = serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    let c = check(&report, "store-front-from-pod");
    assert_eq!(c["status"], "skipped");
    assert_eq!(c["message"], "probes are not run with --no-probes");
    assert!(
        std::fs::read_to_string(&junit)
            .unwrap()
            .contains(r#"<skipped message="probes are not run with --no-probes"/>"#)
    );
    assert!(
        writes(cp, &learner).await.is_empty(),
        "--no-probes writes nothing"
    );
}

/// The learner's `labctl check` runs the current step's probes the same way, and `--no-probes`
/// skips them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn learner_check_runs_the_steps_probes_and_no_probes_skips_them() {
    let World {
        cp,
        admin,
        learner,
        kubeconfig,
        ns,
        pods,
    } = World::new().await;
    let state = tempfile::tempdir().unwrap();
    let run = |args: &[&str]| {
        let run = Run::of(
            crate::cli::command()
                .args(args)
                .env("LABCTL_STATE_DIR", state.path())
                .env("KUBECONFIG", &kubeconfig)
                .stdin(Stdio::null()),
        );
        (run.code, run.all())
    };
    let var = format!("ns={ns}");
    let (code, out) = run(&["start", LAB, "--profile", "test", "--var", &var]);
    assert_eq!(code, 0, "{out}");
    // Step 1 (pod-times-out): its probe pod never runs here.
    let (code, out) = tokio::task::block_in_place(|| run(&["check"]));
    assert_eq!(code, 2, "{out}");
    let flat = out.split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(flat.contains("did not finish within 2s"), "{out}");
    let before = left_clean(cp, &learner, &pods, &ns).await;

    // `check --wait` re-grades when a watched object changes. Pods in the namespace are watched
    // here, but not the probe pods each attempt creates and deletes, or every attempt would
    // trigger the next until the deadline. A bystander pod appearing mid-wait costs exactly one
    // re-grade: four attempts in all (the first look, `until`'s first attempt, the bystander's,
    // the one at the deadline), one probe pod each.
    let mut cmd = crate::cli::command();
    cmd.args(["check", "--wait", "12s"])
        .env("LABCTL_STATE_DIR", state.path())
        .env("KUBECONFIG", &kubeconfig)
        .stdin(Stdio::null())
        .stdout(Stdio::piped());
    let child = cmd.spawn().unwrap();
    tokio::time::sleep(Duration::from_secs(7)).await;
    apply_yaml(
        &admin,
        &format!("apiVersion: v1\nkind: Pod\nmetadata:\n  name: bystander\n  namespace: {ns}\nspec:\n  containers:\n  - {{name: c, image: busybox}}\n"),
    )
    .await;
    let out = finish(child).await;
    assert_eq!(out.status.code(), Some(2));
    let waited = writes(cp, &learner).await;
    only_probe_pods(&waited, &ns);
    assert_eq!(
        waited.len(),
        before.len() + 8,
        "four attempts, one probe pod each: {waited:?}"
    );
    let before = waited;

    let (code, out) = tokio::task::block_in_place(|| run(&["check", "--no-probes"]));
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains("1 probe check skipped: probes are not run with --no-probes"),
        "{out}"
    );
    assert_eq!(
        writes(cp, &learner).await,
        before,
        "--no-probes writes nothing"
    );
}

/// The distribution check `id` of a finished grade: its status (passed: exit 0, failed: exit
/// 1), and its `actual` naming each of `counts`.
fn split_judged(out: &Output, id: &str, status: &str, counts: &[&str]) {
    let json = json_of(out);
    let code = if status == "passed" { 0 } else { 1 };
    assert_eq!(out.status.code(), Some(code), "{json}");
    let c = check(&json, id);
    assert_eq!(c["status"], status, "{c}");
    let actual = c["actual"].as_str().unwrap_or_default();
    for want in counts {
        assert!(actual.contains(want), "{want}: {c}");
    }
}

/// A distribution (issue 14's canary): one probe pod sends all N requests and reports counts,
/// which the test writes into its status as a kubelet would. A 88/12 answer set passes against
/// 90/10, a 50/50 one fails with the counts in `actual`, a report that is not one is an error
/// (exit 2), a pod that never runs times out, `--no-probes` skips — and the probe pod is deleted
/// on every path.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_distribution_is_counted_in_one_probe_pod_and_judged() {
    let World {
        cp,
        learner,
        kubeconfig,
        ns,
        pods,
        ..
    } = World::new().await;
    let run = |report: String| {
        let (kubeconfig, ns, pods) = (kubeconfig.clone(), ns.clone(), pods.clone());
        async move {
            let child = grade(&kubeconfig, &ns, "canary", &["-o", "json"])
                .spawn()
                .unwrap();
            let pod = report_next_probe_pod(&pods, &report).await;
            let out = finish(child).await;
            assert!(
                pod_names(&pods).await.is_empty(),
                "the probe pod was left behind"
            );
            (pod, out)
        }
    };

    let counts = |v1: u32, v2: u32| {
        format!("labctl-distribution 1\nsent 100\n     {v1} 0 200  v1\n     {v2} 0 200  v2\n")
    };
    let (pod, out) = run(counts(88, 12)).await;
    split_judged(
        &out,
        "canary-split",
        "passed",
        &["v1: 88 of 100 = 88.0%", "v2: 12 of 100 = 12.0%"],
    );
    // One pod, labelled for the check, sends all 100 requests in one shell loop.
    let labels = pod.metadata.labels.clone().unwrap_or_default();
    assert_eq!(labels["labctl.dev/check"], "canary-split");
    let spec = pod.spec.unwrap();
    assert_eq!(spec.active_deadline_seconds, Some(30));
    let script = &spec.containers[0].command.as_ref().unwrap()[2];
    assert!(
        script.contains(r#"[ "$i" -lt 100 ]"#) && script.contains("'^x-version:'"),
        "{script}"
    );

    let (_, out) = run(counts(50, 50)).await;
    split_judged(
        &out,
        "canary-split",
        "failed",
        &["v1: 50 of 100 = 50.0%", "v2: 50 of 100 = 50.0%"],
    );

    // Not a report (an image without curl): could not grade, and says what was printed.
    let (_, out) = run("sh: curl: not found".into()).await;
    let json = json_of(&out);
    assert_eq!(out.status.code(), Some(2), "{json}");
    let c = check(&json, "canary-split");
    assert_eq!(c["status"], "error", "{c}");
    assert!(
        c["message"].as_str().unwrap().contains("curl: not found"),
        "{c}"
    );

    // A probe pod that never runs: the deadline, then the delete.
    let out = grade(&kubeconfig, &ns, "canary-times-out", &["-o", "json"])
        .output()
        .unwrap();
    let json = json_of(&out);
    assert_eq!(out.status.code(), Some(2), "{json}");
    let c = check(&json, "canary-deadline");
    assert!(
        c["message"]
            .as_str()
            .unwrap()
            .contains("did not finish within 2s"),
        "{c}"
    );

    // --no-probes: skipped, and nothing is created.
    let before = writes(cp, &learner).await.len();
    let out = grade(&kubeconfig, &ns, "canary", &["-o", "json", "--no-probes"])
        .output()
        .unwrap();
    let json = json_of(&out);
    assert_eq!(out.status.code(), Some(0), "{json}");
    let c = check(&json, "canary-split");
    assert_eq!(c["status"], "skipped");
    assert_eq!(c["message"], "probes are not run with --no-probes");
    assert_eq!(writes(cp, &learner).await.len(), before);

    let w = left_clean(cp, &learner, &pods, &ns).await;
    assert_eq!(w.len(), 8, "four creates, four deletes: {w:?}");
}

/// A distribution from labctl itself (`http.url`, no pod): 40 real requests to a server that
/// names v2 in one answer in four; 30/10 passes against 75/25 and writes nothing to the cluster.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_distribution_from_labctl_sends_every_request_itself() {
    let World {
        cp,
        learner,
        kubeconfig,
        ns,
        ..
    } = World::new().await;
    let port = answering(|n| {
        let v = if n % 4 == 3 { "v2" } else { "v1" };
        format!("x-version: {v}\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok")
    })
    .await;
    let port = format!("port={port}");
    let out = grade(
        &kubeconfig,
        &ns,
        "canary-from-labctl",
        &["--var", &port, "-o", "json"],
    )
    .output()
    .unwrap();
    split_judged(
        &out,
        "canary-split-from-labctl",
        "passed",
        &["v1: 30 of 40 = 75.0%", "v2: 10 of 40 = 25.0%"],
    );
    assert!(writes(cp, &learner).await.is_empty());
}
