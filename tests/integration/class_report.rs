//! `labctl class report` on the real control plane: 50 learners in mixed fixture states (each
//! in namespaces of their own, on one shared cluster), one learner whose kubeconfig points at a
//! dead port, two whose credentials are forbidden everything (a shared cluster of their own, so
//! the cluster-wide LIST is refused and the per-namespace fallback runs), and one graded from a
//! snapshot. Every learner's row is checked against the state the test gave them; the exports
//! are checked (CSV rows, JUnit against the XSD); the audit log shows only reads and far fewer
//! LISTs than learners; headless Chromium renders the HTML (one row per learner) and keeps a
//! screenshot at `target/test-artifacts/class-report.png`.

use crate::grade_offline::WORK_STEPS;
use crate::harness::{
    ADMIN, CONTEXT, FixtureIndex, NOBODY, Profile, State, Vars, all_step_states, broken_states,
    fixture_control_plane, free_port, literal_namespaces, try_apply_state,
};
use futures::StreamExt;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

/// What the test expects of a learner: their first unfinished step (None: done) and the
/// diagnosis the report must name there.
fn expected(state: &State) -> (Option<usize>, Option<String>) {
    match state {
        State::AfterStep(id) if id == "cleanup" => (Some(0), None),
        State::AfterStep(id) => {
            let k = WORK_STEPS.iter().position(|w| w == id).unwrap();
            ((k + 1 < WORK_STEPS.len()).then_some(k + 1), None)
        }
        State::Broken(name) => {
            let b = FixtureIndex::get().broken(name);
            let step = WORK_STEPS.iter().position(|w| *w == b.step).unwrap();
            (Some(step), Some(b.diagnosis.clone()))
        }
    }
}

/// The states learners are given, round-robin: every finished state, and every broken state
/// that stays in the learner's own namespaces.
fn mixed_states() -> Vec<State> {
    let p = Profile::Kind;
    all_step_states(p)
        .into_iter()
        .chain(broken_states(p))
        .filter(|s| literal_namespaces(p, s).is_empty())
        .collect()
}

pub fn variables_yaml(vars: &Vars) -> String {
    let inner: Vec<String> = vars.iter().map(|(k, v)| format!("{k}: \"{v}\"")).collect();
    format!("{{ {} }}", inner.join(", "))
}

fn learner_name(i: usize, state: &State) -> String {
    let what = match state {
        State::AfterStep(id) => format!("after-{id}"),
        State::Broken(name) => name.clone(),
    };
    format!("l{i:02}-{what}")
}

/// Applies `n` learners' states on the fixture control plane (`buffer` at a time); returns each
/// learner's name, state and variables.
pub async fn apply_learners(
    client: &kube::Client,
    n: usize,
    buffer: usize,
) -> Vec<(String, State, Vars)> {
    let states = mixed_states();
    futures::stream::iter((0..n).map(|i| {
        let state = states[i % states.len()].clone();
        let client = client.clone();
        async move {
            let vars = Vars::unique(Profile::Kind);
            try_apply_state(&client, Profile::Kind, &state, &vars)
                .await
                .unwrap_or_else(|e| panic!("learner {i} {state}: {e}"));
            (learner_name(i, &state), state, vars)
        }
    }))
    .buffered(buffer)
    .collect()
    .await
}

pub fn labctl(args: &[&str]) -> (i32, String, String, std::time::Duration) {
    let start = Instant::now();
    let out = crate::cli::command()
        .args(args)
        .env_remove("KUBECONFIG")
        .output()
        .expect("run labctl");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
        start.elapsed(),
    )
}

fn artifacts() -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/test-artifacts");
    std::fs::create_dir_all(&dir).expect("create target/test-artifacts");
    dir
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn class_report_grades_fifty_learners_a_dead_port_a_forbidden_pair_and_a_snapshot() {
    let cp = fixture_control_plane().await;
    let admin = cp.client(ADMIN).await;
    let instructor = cp.fresh_learner();
    let learners = apply_learners(&admin, 50, 6).await;

    let dir = tempfile::tempdir().unwrap();
    let kubeconfig = cp.kubeconfig_path(&instructor);
    let dead = dir.path().join("dead.yaml");
    let text = std::fs::read_to_string(&kubeconfig).unwrap();
    let server = text
        .lines()
        .find_map(|l| l.trim().strip_prefix("server: "))
        .unwrap();
    let dead_url = format!("https://127.0.0.1:{}", free_port());
    std::fs::write(&dead, text.replace(server, &dead_url)).unwrap();
    let snapshot =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("labs/istio-aks/snapshots/finished-kind.json");

    let mut roster = format!(
        "lab: istio-aks\nprofile: kind\nclusters:\n  workshop: {{ kubeconfig: {}, context: {CONTEXT} }}\n  locked: {{ kubeconfig: {} }}\nlearners:\n",
        kubeconfig.display(),
        cp.kubeconfig_path(NOBODY).display()
    );
    for (name, _, vars) in &learners {
        writeln!(
            roster,
            "  - name: {name}\n    cluster: workshop\n    variables: {}",
            variables_yaml(vars)
        )
        .unwrap();
    }
    writeln!(roster, "  - {{ name: dead-port, kubeconfig: ./dead.yaml }}").unwrap();
    writeln!(
        roster,
        "  - {{ name: from-snapshot, snapshot: {} }}",
        snapshot.display()
    )
    .unwrap();
    for name in ["locked-1", "locked-2"] {
        let vars = Vars::unique(Profile::Kind);
        writeln!(
            roster,
            "  - {{ name: {name}, cluster: locked, variables: {} }}",
            variables_yaml(&vars)
        )
        .unwrap();
    }
    let roster_path = dir.path().join("class.yaml");
    std::fs::write(&roster_path, &roster).unwrap();

    let out = |ext: &str| dir.path().join(format!("class.{ext}"));
    let seen = cp.audit_events(&instructor).await.len();
    let (code, stdout, stderr, wall) = labctl(&[
        "class",
        "report",
        roster_path.to_str().unwrap(),
        "--html",
        out("html").to_str().unwrap(),
        "--csv",
        out("csv").to_str().unwrap(),
        "--json",
        out("json").to_str().unwrap(),
        "--junit",
        out("xml").to_str().unwrap(),
        "--timeout",
        "20s",
        "--stats",
    ]);
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    println!("{stdout}\n{stderr}\nwall time {wall:?}");

    // Every learner's row is what their state says.
    let report: Value =
        serde_json::from_str(&std::fs::read_to_string(out("json")).unwrap()).unwrap();
    let rows: BTreeMap<String, &Value> = report["learners"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| (l["name"].as_str().unwrap().to_owned(), l))
        .collect();
    assert_eq!(rows.len(), 54);
    let mut problems = Vec::new();
    let mut finished = vec![0usize; WORK_STEPS.len()];
    for (name, state, _) in &learners {
        let row = rows[name];
        let cells: Vec<&str> = row["cells"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c.as_str().unwrap())
            .collect();
        let (current, diagnosis) = expected(state);
        let want_current = current.map(|i| WORK_STEPS[i]);
        if row["currentStep"].as_str() != want_current {
            problems.push(format!(
                "{name}: current step {}, expected {want_current:?}",
                row["currentStep"]
            ));
            continue;
        }
        let upto = current.unwrap_or(WORK_STEPS.len());
        if cells[..upto].iter().any(|c| *c != "passed") {
            problems.push(format!(
                "{name}: {cells:?}, expected passed before step {upto}"
            ));
        }
        if let Some(i) = current {
            if cells[i] != "failed" {
                problems.push(format!("{name}: {cells:?}, expected failed at {i}"));
            }
            if cells[i + 1..]
                .iter()
                .any(|c| !matches!(*c, "notReached" | "passed"))
            {
                problems.push(format!("{name}: {cells:?} after the current step"));
            }
        }
        if let (Some(d), Some(i)) = (diagnosis, current) {
            let named: Vec<&str> = row["steps"][i]["checks"]
                .as_array()
                .unwrap()
                .iter()
                .flat_map(|c| c["diagnoses"].as_array().unwrap())
                .filter_map(|d| d["id"].as_str())
                .collect();
            if !named.contains(&d.as_str()) {
                problems.push(format!("{name}: diagnoses {named:?}, expected {d}"));
            }
        }
        for (i, c) in cells.iter().enumerate() {
            finished[i] += usize::from(*c == "passed");
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    assert_eq!(rows["dead-port"]["status"], "unreachable");
    assert!(
        rows["dead-port"]["message"]
            .as_str()
            .unwrap()
            .contains(&format!("connection refused at {dead_url}")),
        "{}",
        rows["dead-port"]
    );
    assert_eq!(
        rows["from-snapshot"]["status"], "done",
        "{}",
        rows["from-snapshot"]
    );
    for c in rows["from-snapshot"]["cells"].as_array().unwrap() {
        assert_eq!(c, "passed");
    }
    for name in ["locked-1", "locked-2"] {
        assert_eq!(rows[name]["status"], "error");
        assert!(
            rows[name]["message"]
                .as_str()
                .unwrap()
                .starts_with("forbidden"),
            "{}",
            rows[name]
        );
    }
    let summary_finished: Vec<u64> = report["summary"]["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["finished"].as_u64().unwrap())
        .collect();
    let want: Vec<u64> = finished.iter().map(|n| *n as u64 + 1).collect(); // + the snapshot learner
    assert_eq!(summary_finished, want);
    assert!(
        report["summary"]["headline"].is_u64(),
        "{}",
        report["summary"]
    );

    // The terminal: a row per learner, sorted by progress, and what to explain to the room.
    for name in rows.keys() {
        // Long names are cut to the name column (20 characters here); the prefixes are unique.
        let shown: String = name.chars().take(19).collect();
        assert_eq!(
            stdout.lines().filter(|l| l.starts_with(&shown)).count(),
            1,
            "{name}:\n{stdout}"
        );
    }
    let order: Vec<usize> = report["learners"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["progress"].as_u64().unwrap() as usize)
        .collect();
    assert!(
        order.windows(2).all(|w| w[0] >= w[1]),
        "not sorted by progress: {order:?}"
    );
    assert!(stdout.contains("To explain to the room:"), "{stdout}");

    // CSV: a header and a row per learner; JUnit: a suite per learner, valid for CI.
    let csv = std::fs::read_to_string(out("csv")).unwrap();
    assert_eq!(csv.lines().count(), 55);
    assert!(csv.starts_with("learner,source,score,steps,current_step,enable-addon,deploy-app,onboard-mesh,strict-mtls,ingress,egress,details"));
    let junit = std::fs::read_to_string(out("xml")).unwrap();
    assert_eq!(junit.matches("<testsuite ").count(), 54);
    crate::tools::assert_valid_junit(&out("xml"));

    // Only reads, and far fewer LISTs than learners (a kind is listed across all namespaces).
    let events = cp.audit_events(&instructor).await.split_off(seen);
    let writes: Vec<String> = events
        .iter()
        .filter(|e| !matches!(e.verb.as_str(), "get" | "list" | "watch"))
        .map(|e| format!("{} {}", e.verb, e.request_uri))
        .collect();
    assert!(writes.is_empty(), "{writes:?}");
    let lists = events.iter().filter(|e| e.verb == "list").count();
    assert!(lists > 0 && lists < 50, "{lists} LISTs for 50 learners");

    // The HTML in a real browser.
    let html = artifacts().join("class-report.html");
    std::fs::copy(out("html"), &html).unwrap();
    let dom = chromium(&["--dump-dom"], &html);
    assert_eq!(
        dom.matches("class=\"learner\"").count(),
        54,
        "rendered rows"
    );
    assert!(dom.contains("To explain to the room"));
    let png = artifacts().join("class-report.png");
    let _ = std::fs::remove_file(&png);
    chromium(
        &[
            "--screenshot=".to_owned() + png.to_str().unwrap(),
            "--window-size=1400,1000".into(),
            "--hide-scrollbars".into(),
        ]
        .iter()
        .map(String::as_str)
        .collect::<Vec<_>>(),
        &html,
    );
    let size = std::fs::metadata(&png).map(|m| m.len()).unwrap_or(0);
    assert!(
        size > 10_000,
        "screenshot {} is {size} bytes",
        png.display()
    );
}

/// Headless Chromium (Debian's package, installed by scripts/test.sh) on a local file, with
/// a profile of its own and nothing fetched from the network; returns stdout.
fn chromium(args: &[&str], page: &Path) -> String {
    let profile = tempfile::tempdir().unwrap();
    let program = ["chromium", "chromium-browser"]
        .into_iter()
        .find(|p| {
            Command::new(p)
                .arg("--version")
                .output()
                .is_ok_and(|o| o.status.success())
        })
        .expect(
            "chromium is missing: run `bash scripts/test.sh`, which installs Debian's chromium",
        );
    let out = Command::new(program)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .args(args)
        .arg(format!("file://{}", page.display()))
        .output()
        .expect("run chromium");
    assert!(
        out.status.success(),
        "chromium failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn every_roster_mistake_is_explained_at_its_place() {
    for roster in [
        "tests/class/bad-roster.yaml",
        "tests/class/typo-roster.yaml",
    ] {
        let (code, stdout, stderr, _) = labctl(&["class", "report", roster]);
        assert_eq!(code, 2, "{roster}: {stdout}{stderr}");
        let name = Path::new(roster)
            .file_stem()
            .unwrap()
            .to_string_lossy()
            .into_owned();
        insta::assert_snapshot!(name, stderr);
    }
    let (code, _, stderr, _) = labctl(&[
        "class",
        "report",
        "tests/class/aks-snapshots.yaml",
        "--lab",
        "other",
    ]);
    assert_eq!(code, 3, "{stderr}");
    assert!(stderr.contains("no lab named `other`"), "{stderr}");
}

#[test]
fn snapshots_are_graded_offline_and_command_checks_are_not_run() {
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("class.json");
    let (code, stdout, stderr, _) = labctl(&[
        "class",
        "report",
        "tests/class/aks-snapshots.yaml",
        "--json",
        json.to_str().unwrap(),
        "--watch",
        "1s",
        "--rounds",
        "2",
    ]);
    assert_eq!(code, 0, "{stdout}{stderr}");
    // Not a terminal: each round is printed in turn.
    assert_eq!(stdout.matches("Class report · ").count(), 2, "{stdout}");
    assert!(stdout.contains("──── round 2 ────"), "{stdout}");
    let report: Value = serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    let alice = &report["learners"][0];
    assert_eq!(
        (alice["name"].as_str(), alice["status"].as_str()),
        (Some("alice"), Some("done"))
    );
    let skipped: Vec<&Value> = alice["steps"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|s| s["checks"].as_array().unwrap())
        .filter(|c| c["id"] == "addon-revision")
        .collect();
    assert!(!skipped.is_empty());
    for c in skipped {
        assert_eq!(
            (c["status"].as_str(), c["message"].as_str()),
            (Some("skipped"), Some("not run in class reports"))
        );
    }
    let bob = &report["learners"][1];
    assert_eq!(bob["status"], "error");
    let message = bob["message"].as_str().unwrap();
    assert!(
        message.starts_with("the snapshot was captured for profile `kind`, not `aks`"),
        "{message}"
    );
}

/// Issue 13, item 13: many snapshot learners on a few files. Each file is read once and the
/// learners whose grade cannot differ share one (`--stats` counts both); a learner with a
/// variable of their own gets a grade of their own. Piped, nothing but the report and the stats
/// is written; on a terminal (a pty from `script`), stderr shows the progress bar.
#[test]
fn many_snapshot_learners_share_their_files_and_grades() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let files = [
        root.join("labs/istio-aks/snapshots/finished-aks.json"),
        root.join("tests/snapshots/mode-permissive-aks.json"),
        root.join("labs/istio-aks/snapshots/finished-kind.json"),
    ];
    let mut roster = String::from("lab: istio-aks\nprofile: aks\nlearners:\n");
    for i in 0..3000 {
        let file = files[i % files.len()].display();
        writeln!(roster, "  - {{ name: s{i:04}, snapshot: {file} }}").unwrap();
    }
    writeln!(
        roster,
        "  - {{ name: own, snapshot: {}, variables: {{ appNamespace: pets-own }} }}",
        files[1].display()
    )
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("many.yaml");
    std::fs::write(&path, roster).unwrap();
    let json = dir.path().join("class.json");
    let (code, stdout, stderr, _) = labctl(&[
        "class",
        "report",
        path.to_str().unwrap(),
        "--stats",
        "--json",
        json.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{stderr}");
    assert!(
        stderr.contains("3001 learners, 0 connections, 0 LIST requests (0 kinds listed across all namespaces), 3 snapshot files (4 distinct grades)"),
        "{stderr}"
    );
    assert_eq!(
        stderr.lines().count(),
        1,
        "only the stats when piped: {stderr:?}"
    );
    let report: Value = serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    let rows = report["learners"].as_array().unwrap();
    assert_eq!(rows.len(), 3001);
    let status = |name: &str| {
        let row = rows.iter().find(|r| r["name"] == name).unwrap();
        (
            row["status"].as_str().unwrap().to_owned(),
            row["currentStep"].clone(),
        )
    };
    assert_eq!(status("s0000"), ("done".to_owned(), Value::Null));
    assert_eq!(status("s2997"), ("done".to_owned(), Value::Null));
    assert_eq!(
        status("s0001"),
        ("inProgress".to_owned(), json!("strict-mtls"))
    );
    assert_eq!(status("s0002").0, "error");
    // Their own namespace, their own grade: nothing of pets-own is in the snapshot.
    assert_ne!(status("own"), status("s0001"));
    let rows_in_terminal = stdout
        .lines()
        .filter(|l| l.starts_with('s') && l.contains("/6"))
        .count();
    assert_eq!(rows_in_terminal, 2000, "{stdout}");

    // On a terminal: the progress bar, on stderr only.
    let pty = dir.path().join("pty.txt");
    let command = format!(
        "{} class report {} > {}",
        crate::cli::BIN,
        path.display(),
        dir.path().join("out.txt").display()
    );
    let run = crate::tools::output(
        std::process::Command::new("script")
            .args(["-qec", &command, pty.to_str().unwrap()])
            .stdin(std::process::Stdio::null()),
        "bsdutils",
    );
    assert!(run.status.success(), "{run:?}");
    let seen = std::fs::read_to_string(&pty).unwrap();
    assert!(
        seen.contains("grading") && seen.contains("/3001"),
        "{seen:?}"
    );
    let out = std::fs::read_to_string(dir.path().join("out.txt")).unwrap();
    assert!(
        !out.contains("grading") && out.starts_with("Class report"),
        "{out}"
    );
}

#[test]
fn a_class_on_a_lab_that_requires_another_is_graded_on_its_own_steps() {
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("class.json");
    let (code, stdout, stderr, _) = labctl(&[
        "class",
        "report",
        "tests/class/zero-trust-snapshots.yaml",
        "--json",
        json.to_str().unwrap(),
    ]);
    // bob's snapshot is of istio-aks: his row says he cannot be graded on this lab; the
    // report itself is made.
    assert_eq!(code, 0, "{stdout}{stderr}");
    assert!(
        stdout.contains("Zero trust on the Istio add-on"),
        "{stdout}"
    );
    let report: Value = serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    let learners = report["learners"].as_array().unwrap();
    assert_eq!(learners[0]["name"], "alice");
    assert_eq!(learners[0]["status"], "done", "{}", learners[0]);
    let steps: Vec<&str> = learners[0]["steps"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|s| s["id"].as_str())
        .collect();
    // The lab's own steps only: istio-aks's are its prerequisite, not part of this report.
    assert_eq!(steps.first(), Some(&"identities"), "{steps:?}");
    assert!(!steps.contains(&"enable-addon"), "{steps:?}");
    assert!(
        learners[1]
            .to_string()
            .contains("the snapshot is of lab `istio-aks`"),
        "{}",
        learners[1]
    );
}
