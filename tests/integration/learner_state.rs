//! Learner mode's state file through the `labctl` binary: `start`, `hint`, `status`, `reset`, a
//! corrupt file kept as a backup, and the file surviving `kill -9` in the middle of saves. The
//! state lives in a temporary folder (`LABCTL_STATE_DIR`); no cluster is needed.

use crate::cli::Run;
use labctl::learner::state::{Progress, StepProgress, Store};
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

/// A learner with a state folder of their own (also used by `learner_safety`).
pub(crate) struct Learner {
    pub(crate) dir: tempfile::TempDir,
}

impl Learner {
    pub(crate) fn new() -> Self {
        Learner {
            dir: tempfile::tempdir().expect("temp dir"),
        }
    }

    pub(crate) fn command(&self, args: &[&str]) -> Command {
        let mut cmd = crate::cli::command();
        cmd.args(args)
            .env("LABCTL_STATE_DIR", self.dir.path())
            .env_remove("XDG_STATE_HOME");
        cmd
    }

    pub(crate) fn run(&self, args: &[&str]) -> Run {
        let out = self.command(args).output().expect("run labctl");
        Run {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }

    pub(crate) fn ok(&self, args: &[&str]) -> String {
        let r = self.run(args);
        assert_eq!(
            r.code, 0,
            "labctl {args:?}\nstdout:\n{}\nstderr:\n{}",
            r.stdout, r.stderr
        );
        r.stdout
    }

    pub(crate) fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    pub(crate) fn state(&self, name: &str) -> Value {
        serde_json::from_str(&std::fs::read_to_string(self.path(name)).expect("state file"))
            .expect("state file is JSON")
    }

    pub(crate) fn write_state(&self, name: &str, v: &Value) {
        std::fs::write(self.path(name), serde_json::to_string_pretty(v).unwrap()).unwrap();
    }

    pub(crate) fn files(&self) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(self.dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }
}

pub(crate) const KIND: &str = "istio-aks@kind-lab.json";

pub(crate) fn start_kind(l: &Learner) -> String {
    l.ok(&[
        "start",
        "istio-aks",
        "--profile",
        "kind",
        "--context",
        "kind-lab",
    ])
}

#[test]
fn start_writes_state_and_prints_step_1() {
    let l = Learner::new();
    let out = start_kind(&l);
    assert!(out.contains("Step 1/7 · enable-addon"), "{out}");
    assert!(out.contains("[profile kind]"), "{out}");
    assert!(out.contains("What `labctl check` looks at:"), "{out}");
    assert!(out.contains("When done, run `labctl check`"), "{out}");
    assert!(!out.contains("Step 2/7"), "{out}");
    assert_eq!(l.files(), vec![KIND.to_owned()]);
    let s = l.state(KIND);
    assert_eq!(s["stateVersion"], 1);
    assert_eq!(s["lab"], "istio-aks");
    assert_eq!(s["profile"], "kind");
    assert_eq!(s["context"], "kind-lab");
    assert_eq!(s["current"], 0);
    assert!(Path::new(s["labDir"].as_str().unwrap()).is_absolute());
    assert!(s["startedAt"].as_str().unwrap().ends_with('Z'));
    assert!(s["steps"]["enable-addon"]["firstShownAt"].is_string());
    // It parses as the library's type, the one `labctl check` reads.
    let _: Progress = serde_json::from_value(s).unwrap();

    // Without --context: kubectl's current context, a file of its own; `--var`s are recorded.
    l.ok(&["start", "istio-aks", "--var", "revision=asm-1-24"]);
    let s = l.state("istio-aks@current.json");
    assert_eq!(s["context"], Value::Null);
    assert_eq!(s["profile"], "aks");
    assert_eq!(s["vars"], json!([["revision", "asm-1-24"]]));
}

#[test]
fn start_again_refuses_without_force() {
    let l = Learner::new();
    start_kind(&l);
    let mut s = l.state(KIND);
    s["current"] = json!(3);
    l.write_state(KIND, &s);
    let r = l.run(&[
        "start",
        "istio-aks",
        "--profile",
        "kind",
        "--context",
        "kind-lab",
    ]);
    assert_eq!(r.code, 3, "{}{}", r.stdout, r.stderr);
    assert!(r.stderr.contains("already started"), "{}", r.stderr);
    assert!(
        r.stderr.contains("labctl check") && r.stderr.contains("labctl status"),
        "{}",
        r.stderr
    );
    assert!(r.stderr.contains("--force"), "{}", r.stderr);
    assert_eq!(
        l.state(KIND)["current"],
        3,
        "refused start left the state alone"
    );

    let out = l.ok(&[
        "start",
        "istio-aks",
        "--profile",
        "kind",
        "--context",
        "kind-lab",
        "--force",
    ]);
    assert!(out.contains("Started over"), "{out}");
    assert_eq!(l.state(KIND)["current"], 0);

    // Starting errors are usage errors, and write nothing.
    let l2 = Learner::new();
    assert_eq!(l2.run(&["start", "no-such-lab"]).code, 3);
    assert_eq!(l2.run(&["start", "istio-aks", "--profile", "nope"]).code, 3);
    assert_eq!(l2.run(&["start", "istio-aks", "--var", "nope=1"]).code, 3);
    assert!(l2.files().is_empty());
}

#[test]
fn hint_reveals_one_more_per_call_then_says_none_are_left() {
    let l = Learner::new();
    start_kind(&l);
    let first = l.ok(&["hint"]);
    assert!(first.contains("Step 1/7 · enable-addon"), "{first}");
    let total: usize = first
        .split("Hint 1/")
        .nth(1)
        .and_then(|rest| rest.split(':').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no `Hint 1/N:` in\n{first}"));
    assert!(total >= 2, "the first step has several hints");
    assert!(!first.contains(&format!("Hint 2/{total}")), "{first}");
    assert_eq!(l.state(KIND)["steps"]["enable-addon"]["hintsShown"], 1);

    for n in 2..=total {
        let out = l.ok(&["hint"]);
        for i in 1..=n {
            assert!(out.contains(&format!("Hint {i}/{total}: ")), "{out}");
        }
        assert!(!out.contains(&format!("Hint {}/{total}", n + 1)), "{out}");
        assert_eq!(l.state(KIND)["steps"]["enable-addon"]["hintsShown"], n);
        if n == total {
            assert!(
                out.contains("last hint") && out.contains("labctl solve"),
                "{out}"
            );
        }
    }
    let out = l.ok(&["hint"]);
    assert!(out.contains("No hints left"), "{out}");
    assert!(out.contains("labctl solve"), "{out}");
    assert!(out.contains(&format!("Hint {total}/{total}: ")), "{out}");
    assert_eq!(l.state(KIND)["steps"]["enable-addon"]["hintsShown"], total);

    // --lab/--context pick the lab; an unknown one is a usage error naming what is started.
    l.ok(&["hint", "--lab", "istio-aks", "--context", "kind-lab"]);
    let r = l.run(&["hint", "--lab", "istio-aks", "--context", "other"]);
    assert_eq!(r.code, 3);
    assert!(
        r.stderr.contains("--lab istio-aks --context kind-lab"),
        "{}",
        r.stderr
    );
}

#[test]
fn status_shows_bar_and_steps() {
    let l = Learner::new();
    start_kind(&l);
    let out = l.ok(&["status"]);
    assert!(out.contains("istio-aks — "), "{out}");
    assert!(
        out.contains("profile kind · context: kind-lab · started "),
        "{out}"
    );
    assert!(out.contains("[░░░░░░░░░░░░░░] 0/7 steps done"), "{out}");
    assert!(out.contains("▶ 1/7 enable-addon · "), "{out}");
    assert!(out.contains("· 2/7 deploy-app · "), "{out}");
    assert!(
        !out.contains('\x1b'),
        "no escape codes without colour:\n{out}"
    );

    // Two steps done, the third failed its last check.
    let mut s = l.state(KIND);
    s["startedAt"] = json!("2025-01-01T10:00:00Z");
    s["current"] = json!(2);
    s["steps"] = json!({
        "enable-addon": {"firstShownAt": "2025-01-01T10:00:00Z", "doneAt": "2025-01-01T10:04:00Z",
                         "status": "passed", "summary": "passed", "checksRun": 2, "hintsShown": 0},
        "deploy-app": {"firstShownAt": "2025-01-01T10:04:00Z", "doneAt": "2025-01-01T10:30:00Z",
                       "status": "passed", "checksRun": 1, "hintsShown": 1},
        "onboard-mesh": {"firstShownAt": "2025-01-01T10:30:00Z", "status": "failed",
                         "summary": "1 of 2 checks passed", "lastCheckedAt": "2025-01-01T10:31:00Z",
                         "checksRun": 1, "hintsShown": 0}
    });
    l.write_state(KIND, &s);
    let out = l.ok(&["status"]);
    assert!(out.contains("[████░░░░░░░░░░] 2/7 steps done"), "{out}");
    assert!(out.contains("✔ 1/7 enable-addon · "), "{out}");
    assert!(out.contains("done in 4m"), "{out}");
    assert!(out.contains("✔ 2/7 deploy-app · "), "{out}");
    assert!(out.contains("done in 26m"), "{out}");
    assert!(out.contains("✘ 3/7 onboard-mesh · "), "{out}");
    assert!(out.contains("last check: 1 of 2 checks passed"), "{out}");
    assert!(out.contains("· 4/7 strict-mtls · "), "{out}");
    assert!(out.contains("Next: finish step 3"), "{out}");

    // Every step done.
    s["current"] = json!(7);
    l.write_state(KIND, &s);
    let out = l.ok(&["status"]);
    assert!(out.contains("7/7 steps done"), "{out}");
    assert!(out.contains("Lab finished"), "{out}");

    let colored = l.ok(&["status", "--color", "always"]);
    assert!(colored.contains('\x1b'), "{colored}");
}

#[test]
fn reset_step_then_reset_all() {
    let l = Learner::new();
    start_kind(&l);
    let mut s = l.state(KIND);
    s["current"] = json!(4);
    for id in &crate::grade_offline::STEPS[..4] {
        s["steps"][id] = json!({"doneAt": "2025-01-01T10:04:00Z", "status": "passed", "checksRun": 1, "hintsShown": 2});
    }
    s["steps"]["ingress"] = json!({"status": "failed", "checksRun": 3, "hintsShown": 1});
    l.write_state(KIND, &s);

    let out = l.ok(&["reset", "--step", "onboard-mesh"]);
    assert!(out.contains("Back to step 3/7 · onboard-mesh"), "{out}");
    let s = l.state(KIND);
    assert_eq!(s["current"], 2);
    assert_eq!(
        s["steps"]["deploy-app"]["status"], "passed",
        "earlier steps kept"
    );
    assert_eq!(s["steps"]["onboard-mesh"]["status"], Value::Null);
    assert_eq!(s["steps"]["onboard-mesh"]["hintsShown"], 0);
    assert!(s["steps"]["onboard-mesh"]["firstShownAt"].is_string());
    assert!(s["steps"].get("strict-mtls").is_none());
    assert!(s["steps"].get("ingress").is_none());

    // By number, 1-based.
    l.ok(&["reset", "--step", "2"]);
    let s = l.state(KIND);
    assert_eq!(s["current"], 1);
    assert!(s["steps"].get("onboard-mesh").is_none());
    assert_eq!(s["steps"]["enable-addon"]["status"], "passed");

    let r = l.run(&["reset", "--step", "99"]);
    assert_eq!(r.code, 3, "{}", r.stderr);
    let r = l.run(&["reset", "--step", "onbord-mesh"]);
    assert_eq!(r.code, 3);
    assert!(
        r.stderr.contains("did you mean `onboard-mesh`"),
        "{}",
        r.stderr
    );
    assert_eq!(l.state(KIND)["current"], 1, "failed resets change nothing");

    let out = l.ok(&["reset"]);
    assert!(out.contains("Forgot lab `istio-aks` on kind-lab"), "{out}");
    assert!(l.files().is_empty());
    let r = l.run(&["status"]);
    assert_eq!(r.code, 3);
    assert!(
        r.stderr.contains("no lab started; run `labctl start LAB`"),
        "{}",
        r.stderr
    );
}

#[test]
fn corrupt_state_is_reported_and_kept_never_reset() {
    let l = Learner::new();
    start_kind(&l);
    let text = std::fs::read_to_string(l.path(KIND)).unwrap();
    let torn = &text[..text.len() / 2];

    for cmd in ["status", "hint"] {
        // A torn file (the previous round's was moved aside).
        std::fs::write(l.path(KIND), torn).unwrap();
        let r = l.run(&[cmd]);
        assert_eq!(r.code, 2, "{cmd}: {}{}", r.stdout, r.stderr);
        assert!(r.stderr.contains("corrupt"), "{}", r.stderr);
        assert!(r.stderr.contains("Nothing was reset"), "{}", r.stderr);
        let backups: Vec<String> = l
            .files()
            .into_iter()
            .filter(|f| f.starts_with(&format!("{KIND}.corrupt-")))
            .collect();
        assert!(!backups.is_empty());
        assert!(
            backups.iter().any(|b| r.stderr.contains(b.as_str())),
            "the message says where the backup is: {}",
            r.stderr
        );
        for b in &backups {
            assert_eq!(std::fs::read_to_string(l.path(b)).unwrap(), torn);
        }
        assert!(!l.path(KIND).exists(), "no fresh state replaced it");
    }
    // Two backups (one per command), no state: the next command says so.
    assert_eq!(l.files().len(), 2, "{:?}", l.files());
    assert_eq!(l.run(&["status"]).code, 3);
}

/// Env var that turns [`kill9_child_saves_in_a_loop`] into the child of
/// [`state_file_survives_kill_9_during_saves`]: the state folder to save into.
const SAVE_LOOP: &str = "LABCTL_TEST_SAVE_LOOP";

/// Not a test on its own: with `LABCTL_TEST_SAVE_LOOP=DIR` it saves a growing and shrinking
/// state file in a tight loop until killed; otherwise it returns at once.
#[test]
fn kill9_child_saves_in_a_loop() {
    let Some(dir) = std::env::var_os(SAVE_LOOP) else {
        return;
    };
    let store = Store::at(PathBuf::from(dir));
    let path = store.path_for("istio-aks", Some("kill-9"));
    let mut p: Progress = match std::fs::read(&path) {
        Ok(text) => serde_json::from_slice(&text).expect("parses at child start"),
        Err(_) => Progress {
            state_version: 1,
            lab: "istio-aks".into(),
            lab_dir: PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("labs/istio-aks"),
            profile: "kind".into(),
            context: Some("kill-9".into()),
            kubeconfig: None,
            vars: Vec::new(),
            current: 0,
            started_at: "2025-01-01T10:00:00Z".into(),
            steps: Default::default(),
        },
    };
    loop {
        p.current += 1;
        // Sizes vary from a few hundred bytes to ~100 KB, so a torn write would not parse.
        let n = p.current % 40;
        p.vars = (0..n * 10)
            .map(|i| (format!("var{i}"), "x".repeat(200 + i)))
            .collect();
        p.steps.insert(
            format!("step-{}", p.current % 7),
            StepProgress {
                checks_run: p.current as u32,
                hints_shown: p.current % 5,
                ..StepProgress::default()
            },
        );
        store.save(&path, &p).expect("save");
    }
}

/// The save loop never outlives a failing test.
struct KillOnDrop(std::process::Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn state_file_survives_kill_9_during_saves() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::at(dir.path());
    let path = store.path_for("istio-aks", Some("kill-9"));
    let mut seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .subsec_nanos() as u64
        | 1;
    let mut random_ms = |max: u64| {
        // xorshift: a different kill moment every round and every run.
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        1 + seed % max
    };
    let mut last_current = 0;
    let rounds = 12;
    for round in 0..rounds {
        let mut child = KillOnDrop(
            Command::new(std::env::current_exe().unwrap())
                .args([
                    "--exact",
                    "learner_state::kill9_child_saves_in_a_loop",
                    "--nocapture",
                    "--test-threads",
                    "1",
                ])
                .env(SAVE_LOOP, dir.path())
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::null())
                .spawn()
                .expect("spawn the save loop"),
        );
        let child = &mut child.0;
        // Let it get going (until it has saved at least once: every read sees a whole file),
        // then kill it at a random moment of its saving.
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let saved = std::fs::read(&path)
                .ok()
                .map(|t| serde_json::from_slice::<Progress>(&t).expect("whole file while saving"))
                .is_some_and(|p| p.current > last_current);
            if saved {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "round {round}: the child never saved"
            );
            assert!(
                child.try_wait().unwrap().is_none(),
                "round {round}: the child exited"
            );
            std::thread::sleep(Duration::from_millis(1));
        }
        std::thread::sleep(Duration::from_millis(random_ms(80)));
        child.kill().expect("SIGKILL"); // std sends SIGKILL on Unix
        let status = child.wait().unwrap();
        assert!(
            status.code().is_none(),
            "round {round}: the child was killed, not finished: {status:?}"
        );

        let text = std::fs::read(&path).expect("the state file is still there");
        let p: Progress = serde_json::from_slice(&text).unwrap_or_else(|e| {
            panic!("round {round}: torn state file ({e}), {} bytes", text.len())
        });
        assert!(
            p.current > last_current,
            "round {round}: went back from {last_current} to {}",
            p.current
        );
        last_current = p.current;
    }
    // Leftover temporary files of killed saves never pass for state.
    let (chosen, p) = store
        .load(&labctl::learner::state::Which::default())
        .expect("loads");
    assert_eq!(chosen, path);
    assert_eq!(p.current, last_current);
}
