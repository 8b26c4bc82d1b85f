//! Learner commands act on one cluster (issue 13, items 1 and 8). Two real API servers and one
//! kubeconfig whose current context points at the *other* one: `solve`, `check` (its command
//! checks included), `grade` and `ci` given `--context ctx` act on `ctx` only — the other
//! server's audit log shows no request at all from the user of its context. And `check --wait`
//! against a server that accepts connections but never answers ends within the wait.

use crate::harness::{ADMIN, ControlPlane, ControlPlaneOptions, apply_yaml, unique_name};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

/// A lab whose step creates a ConfigMap with kubectl and checks it with a kubectl command check
/// (so the command check, too, must reach the right cluster); its cleanup deletes it.
fn write_pinned_lab(root: &Path) -> PathBuf {
    let dir = root.join("pinned");
    std::fs::create_dir_all(dir.join("steps")).unwrap();
    std::fs::write(
        dir.join("lab.yaml"),
        r#"name: pinned
title: Commands act on the pinned cluster
variables:
  ns:
    pattern: '^[a-z0-9]([-a-z0-9]*[a-z0-9])?$'
profiles:
  test: {}
steps:
  - id: make
    title: Make the ConfigMap
    instructions: steps/01-make.md
    checks:
      - id: made
        title: kubectl finds the ConfigMap
        command:
          run: kubectl get configmap pinned -n {{ ns }} -o name
        expect:
          exitCode: 0
  - id: cleanup
    type: cleanup
    title: Clean up
    instructions: steps/02-cleanup.md
    checks:
      - id: gone
        title: the ConfigMap is gone
        resource: { apiVersion: v1, kind: ConfigMap, namespace: "{{ ns }}", name: pinned }
        expect:
          absent: true
"#,
    )
    .unwrap();
    std::fs::write(
        dir.join("steps/01-make.md"),
        "# Make\n\n```bash solve\nkubectl create configmap pinned -n {{ ns }} --from-literal=k=v\n```\n",
    )
    .unwrap();
    std::fs::write(
        dir.join("steps/02-cleanup.md"),
        "# Clean up\n\n```bash solve\nkubectl delete configmap pinned -n {{ ns }}\n```\n",
    )
    .unwrap();
    dir
}

/// One kubeconfig, two contexts: `ctx` (server `a`, user `user_a`) and `other` (server `b`,
/// user `user_b`), the current one being `other`.
fn two_cluster_kubeconfig(
    a: &ControlPlane,
    user_a: &str,
    b: &ControlPlane,
    user_b: &str,
) -> String {
    use base64::Engine;
    let b64 = |cp: &ControlPlane| base64::engine::general_purpose::STANDARD.encode(cp.ca_pem());
    format!(
        "apiVersion: v1\nkind: Config\nclusters:\n\
         - name: a\n  cluster: {{server: '{}', certificate-authority-data: {}}}\n\
         - name: b\n  cluster: {{server: '{}', certificate-authority-data: {}}}\n\
         users:\n- name: ua\n  user: {{token: '{}'}}\n- name: ub\n  user: {{token: '{}'}}\n\
         contexts:\n- name: ctx\n  context: {{cluster: a, user: ua}}\n\
         - name: other\n  context: {{cluster: b, user: ub}}\ncurrent-context: other\n",
        a.server_url(),
        b64(a),
        b.server_url(),
        b64(b),
        a.token(user_a),
        b.token(user_b),
    )
}

fn labctl(state: &Path, kubeconfig: &Path, args: &[&str]) -> Output {
    crate::cli::command()
        .args(args)
        .env("LABCTL_STATE_DIR", state)
        .env("KUBECONFIG", kubeconfig)
        .output()
        .unwrap()
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn solve_check_grade_and_ci_act_on_the_pinned_context_only() {
    let a = ControlPlane::shared().await;
    let b = ControlPlane::start(ControlPlaneOptions {
        controller_manager: false,
        istio_crds: false,
    })
    .await;
    let (user_a, user_b) = (a.fresh_learner(), b.fresh_learner());
    let work = tempfile::tempdir().unwrap();
    let lab = write_pinned_lab(work.path());
    let lab = lab.to_str().unwrap();
    let kubeconfig = work.path().join("kubeconfig");
    std::fs::write(&kubeconfig, two_cluster_kubeconfig(a, &user_a, &b, &user_b)).unwrap();
    let ns = unique_name("pinned");
    let ns_yaml = format!("apiVersion: v1\nkind: Namespace\nmetadata:\n  name: {ns}\n");
    apply_yaml(&a.client(ADMIN).await, &ns_yaml).await;
    apply_yaml(&b.client(ADMIN).await, &ns_yaml).await; // the wrong cluster would succeed too
    let var = format!("ns={ns}");
    let state = work.path().join("state");
    let run = |args: &[&str]| labctl(&state, &kubeconfig, args);

    let o = run(&["start", lab, "--context", "ctx", "--var", &var]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let o = run(&["solve", "--yes"]);
    let out = text(&o);
    assert_eq!(o.status.code(), Some(0), "{out}");
    assert!(
        out.contains(&format!("against context `ctx` ({})", a.server_url())),
        "says which cluster before running:\n{out}"
    );
    assert!(
        out.contains("Step 1 done"),
        "the command check found it on ctx:\n{out}"
    );
    let o = run(&["grade", lab, "--context", "ctx", "--var", &var]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let o = run(&["solve", "--yes"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert!(text(&o).contains("complete"), "{}", text(&o));
    let o = run(&["ci", lab, "--context", "ctx", "--var", &var]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));

    // On ctx, the commands did their work: created the ConfigMap twice (solve, ci), deleted it.
    let on_a = a.audit_events(&user_a).await;
    let creates = on_a
        .iter()
        .filter(|e| e.verb == "create" && e.resource == "configmaps" && e.namespace == ns)
        .count();
    assert_eq!(creates, 2, "solve and ci created the ConfigMap on ctx");
    // The other cluster, kubectl's current context, was never even asked.
    let on_b = b.audit_events(&user_b).await;
    assert!(on_b.is_empty(), "requests on the other cluster: {on_b:#?}");
}

#[test]
fn check_wait_ends_within_its_limit_on_a_server_that_never_answers() {
    // Accepts connections, keeps them open, never answers (not even the TLS handshake).
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for conn in listener.incoming() {
            held.push(conn);
        }
    });
    let work = tempfile::tempdir().unwrap();
    let kubeconfig = work.path().join("kubeconfig");
    std::fs::write(
        &kubeconfig,
        format!(
            "apiVersion: v1\nkind: Config\nclusters:\n- name: c\n  cluster: {{server: 'https://127.0.0.1:{port}', insecure-skip-tls-verify: true}}\nusers:\n- name: u\n  user: {{token: t}}\ncontexts:\n- name: silent\n  context: {{cluster: c, user: u}}\ncurrent-context: silent\n"
        ),
    )
    .unwrap();
    let state = work.path().join("state");
    let o = labctl(&state, &kubeconfig, &["start", "tests/labs-ok/minimal"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let started = Instant::now();
    let o = labctl(&state, &kubeconfig, &["check", "--wait", "2s"]);
    let took = started.elapsed();
    let out = text(&o);
    assert_eq!(o.status.code(), Some(2), "{out}");
    assert!(out.contains("could not grade"), "{out}");
    // The usual bound on one look at a cluster is 30 s; the wait asked for 2 s.
    assert!(took < Duration::from_secs(20), "took {took:?}");
    assert!(
        !out.contains("connecting to"),
        "no spinner in a pipe:\n{out}"
    );

    // On a terminal (a pseudo-terminal from `script`), the learner sees where labctl is going.
    let exe = crate::cli::BIN;
    let pty = crate::tools::output(
        Command::new("script")
            .args(["-qec", &format!("{exe} check --wait 2s"), "/dev/null"])
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .env("LABCTL_STATE_DIR", &state)
            .env("KUBECONFIG", &kubeconfig)
            .env("NO_COLOR", "1"),
        "bsdutils",
    );
    let shown = String::from_utf8_lossy(&pty.stdout);
    assert!(
        shown.contains(&format!(
            "connecting to context `silent` (https://127.0.0.1:{port})"
        )),
        "{shown}"
    );
}
