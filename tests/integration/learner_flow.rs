//! A learner's session end to end against the real API server, with the minimal lab
//! (`tests/labs-ok/minimal`: label a namespace with the revision, then clean up):
//! `check` fails, the object appears, `check` passes and moves on; `check --wait` notices the
//! change by watching; `solve` asks on a real terminal (a pseudo-terminal from `script`) before
//! it runs anything.

use crate::harness::{ADMIN, ControlPlane, apply_yaml, unique_name};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// A learner of the minimal lab: a state folder of their own, a kubeconfig, their namespace.
pub(crate) struct Learner {
    state: tempfile::TempDir,
    kubeconfig: PathBuf,
    pub(crate) namespace: String,
}

impl Learner {
    async fn new(cp: &ControlPlane) -> Learner {
        let user = cp.fresh_learner();
        Learner::with_kubeconfig(cp.kubeconfig_path(&user))
    }

    pub(crate) fn with_kubeconfig(kubeconfig: PathBuf) -> Learner {
        Learner {
            state: tempfile::tempdir().unwrap(),
            kubeconfig,
            namespace: unique_name("pets"),
        }
    }

    pub(crate) fn cmd(&self, args: &[&str]) -> Command {
        let mut c = crate::cli::command();
        c.args(args)
            .env("LABCTL_STATE_DIR", self.state.path())
            .env("KUBECONFIG", &self.kubeconfig);
        c
    }

    /// `labctl check --wait 60s`, running, its output piped.
    pub(crate) fn spawn_check_wait(&self) -> std::process::Child {
        self.cmd(&["check", "--wait", "60s"])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
    }

    pub(crate) fn run(&self, args: &[&str]) -> (i32, String) {
        let out = self.cmd(args).stdin(Stdio::null()).output().unwrap();
        (
            out.status.code().unwrap_or(-1),
            format!(
                "{}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            ),
        )
    }

    pub(crate) fn start(&self) {
        let var = format!("appNamespace={}", self.namespace);
        let (code, out) = self.run(&[
            "start",
            "tests/labs-ok/minimal",
            "--profile",
            "kind",
            "--var",
            &var,
        ]);
        assert_eq!(code, 0, "{out}");
    }
}

pub(crate) fn labelled_namespace(name: &str, label: bool) -> String {
    let labels = if label {
        "\n  labels: {istio.io/rev: asm-1-23}"
    } else {
        ""
    };
    format!("apiVersion: v1\nkind: Namespace\nmetadata:\n  name: {name}{labels}\n")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn check_fails_then_passes_once_the_step_is_done_and_moves_on() {
    let cp = ControlPlane::shared().await;
    let admin = cp.client(ADMIN).await;
    let l = Learner::new(cp).await;
    l.start();
    let (code, out) = l.run(&["check"]);
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("namespace-labelled")
            && out.contains(&format!("no Namespace {} exists", l.namespace)),
        "{out}"
    );
    apply_yaml(&admin, &labelled_namespace(&l.namespace, true)).await;
    let (code, out) = l.run(&["check"]);
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains("Step 1 done") && out.contains("cleanup"),
        "the next step is shown:\n{out}"
    );
    let (code, out) = l.run(&["status"]);
    assert_eq!(code, 0, "{out}");
    // A bare `show` renders the learner's current step, now the second one.
    let (code, out) = l.run(&["show"]);
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains("Step 2/2 · cleanup")
            && out.contains(&format!("kubectl delete namespace {}", l.namespace)),
        "{out}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn check_wait_returns_soon_after_the_state_becomes_true() {
    let cp = ControlPlane::shared().await;
    let admin = cp.client(ADMIN).await;
    let l = Learner::new(cp).await;
    l.start();
    apply_yaml(&admin, &labelled_namespace(&l.namespace, false)).await;
    let mut child = l.spawn_check_wait();
    // Give it time to make its first (failing) attempt and start watching.
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert!(
        child.try_wait().unwrap().is_none(),
        "check --wait returned before the step was done"
    );
    apply_yaml(&admin, &labelled_namespace(&l.namespace, true)).await;
    let changed = Instant::now();
    let status = tokio::task::spawn_blocking(move || child.wait_with_output().unwrap())
        .await
        .unwrap();
    let latency = changed.elapsed();
    eprintln!("check --wait noticed the change after {latency:?}");
    assert_eq!(
        status.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&status.stdout)
    );
    // Watch-based, so well under the 15 s safety re-check (a generous bound: no timing claims here).
    assert!(
        latency < Duration::from_secs(10),
        "took {latency:?}: not watch-driven"
    );
}

/// Run `labctl solve` on a pseudo-terminal, typing `answer` at the prompt.
fn solve_on_a_terminal(l: &Learner, answer: &str) -> (i32, String) {
    let exe = crate::cli::BIN;
    let mut child = Command::new("script")
        .args(["-qec", &format!("{exe} solve"), "/dev/null"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env("LABCTL_STATE_DIR", l.state.path())
        .env("KUBECONFIG", &l.kubeconfig)
        .env("NO_COLOR", "1")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    // Answer only once the question is on the screen would be ideal; the pty buffers input.
    std::io::Write::write_all(
        child.stdin.as_mut().unwrap(),
        format!("{answer}\n").as_bytes(),
    )
    .unwrap();
    let out = child.wait_with_output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn solve_shows_the_commands_and_runs_them_only_when_confirmed() {
    let cp = ControlPlane::shared().await;
    let admin = cp.client(ADMIN).await;
    let l = Learner::new(cp).await;
    l.start();
    apply_yaml(&admin, &labelled_namespace(&l.namespace, false)).await;

    // Without a terminal and without --yes nothing runs.
    let (code, out) = l.run(&["solve"]);
    assert_eq!(code, 3, "{out}");
    assert!(out.contains("pass --yes"), "{out}");

    let (code, out) = solve_on_a_terminal(&l, "n");
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains(&format!(
            "kubectl label namespace {} istio.io/rev=asm-1-23 --overwrite",
            l.namespace
        )),
        "commands shown first:\n{out}"
    );
    assert!(
        out.contains("Run them now? [y/N]") && out.contains("Nothing was run."),
        "{out}"
    );
    let labels = crate::harness::Kubectl::new(l.kubeconfig.clone())
        .run(&[
            "get",
            "ns",
            &l.namespace,
            "-o",
            "jsonpath={.metadata.labels}",
        ])
        .await;
    assert!(
        !labels.stdout.contains("istio.io/rev"),
        "declining ran something: {}",
        labels.stdout
    );

    let (code, out) = solve_on_a_terminal(&l, "y");
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains("labeled") && out.contains("Step 1 done"),
        "ran, streamed kubectl's output, then checked:\n{out}"
    );
}

#[test]
fn learner_commands_without_a_started_lab_say_how_to_start() {
    let dir = tempfile::tempdir().unwrap();
    let out = crate::cli::command()
        .arg("check")
        .env("LABCTL_STATE_DIR", dir.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3));
    assert!(String::from_utf8_lossy(&out.stderr).contains("labctl start"));
}
