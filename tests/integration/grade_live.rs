//! `labctl grade` against a real API server holding the fixture states: every finished state
//! passes the steps so far and fails the next, every broken state fails its step naming the
//! known diagnosis, and the audit log proves the grader only read (get/list/watch).

use crate::grade_offline::WORK_STEPS;
use crate::harness::{
    ADMIN, FixtureIndex, FixtureLab, Profile, State, Vars, all_step_states, fixture_control_plane,
    literal_namespace_lock, literal_namespaces, remove_literal_namespace_objects, state_paths,
    try_apply_lab_state, try_apply_state,
};
use serde_json::Value;
use std::path::Path;

/// Run `labctl grade` for a state's variables; returns the exit code and the JSON report.
pub(crate) fn grade(
    kubeconfig: &Path,
    profile: Profile,
    vars: &Vars,
    extra: &[&str],
) -> (i32, Value, String) {
    grade_lab("istio-aks", kubeconfig, profile, vars, extra)
}

/// [`grade`] for the lab `lab`.
pub(crate) fn grade_lab(
    lab: &str,
    kubeconfig: &Path,
    profile: Profile,
    vars: &Vars,
    extra: &[&str],
) -> (i32, Value, String) {
    let mut cmd = crate::cli::command();
    cmd.args(["grade", lab, "--profile", profile.as_str(), "--kubeconfig"])
        .arg(kubeconfig)
        // Pods never run on the test server: probes have their own tests (probes.rs).
        .args(["-o", "json", "--timeout", "20s", "--no-probes"])
        .args(extra);
    for (k, v) in vars.iter() {
        cmd.arg("--var").arg(format!("{k}={v}"));
    }
    let out = cmd.output().expect("run labctl");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let report = serde_json::from_str(&stdout).unwrap_or(Value::Null);
    (
        out.status.code().unwrap_or(-1),
        report,
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

pub(crate) fn step<'a>(report: &'a Value, id: &str) -> &'a Value {
    report["steps"]
        .as_array()
        .and_then(|s| s.iter().find(|s| s["id"] == id))
        .unwrap_or_else(|| panic!("no step {id} in {report}"))
}

pub(crate) fn diagnoses(step: &Value) -> Vec<String> {
    step["checks"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|c| c["diagnoses"].as_array().into_iter().flatten())
        .filter_map(|d| d["id"].as_str().map(str::to_owned))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_fixture_state_grades_as_expected_and_the_grader_only_reads() {
    let cp = fixture_control_plane().await;
    let admin = cp.client(ADMIN).await;
    let learner = cp.fresh_learner();
    let kubeconfig = cp.kubeconfig_path(&learner);

    // Apply every state (except those writing to literal namespaces) concurrently, each in its own namespaces.
    let mut states = Vec::new();
    for profile in Profile::ALL {
        for state in all_step_states(profile)
            .into_iter()
            .filter(|s| !matches!(s, State::AfterStep(id) if id == "cleanup"))
        {
            states.push((profile, state));
        }
        for b in FixtureIndex::get()
            .broken
            .iter()
            .filter(|b| b.profiles.contains(&profile))
        {
            states.push((profile, State::Broken(b.name.clone())));
        }
    }
    let (shared, literal): (Vec<_>, Vec<_>) = states
        .into_iter()
        .partition(|(p, s)| literal_namespaces(*p, s).is_empty());
    let applied = futures::future::join_all(shared.into_iter().map(|(p, s)| {
        let admin = admin.clone();
        async move {
            let vars = Vars::unique(p);
            try_apply_state(&admin, p, &s, &vars)
                .await
                .unwrap_or_else(|e| panic!("{p} {s}: {e}"));
            (p, s, vars)
        }
    }))
    .await;

    let mut problems = Vec::new();
    let mut check = |p: Profile, s: &State, vars: &Vars| {
        let (code, report, stderr) = grade(&kubeconfig, p, vars, &[]);
        let what = format!("{p} {s}");
        match s {
            State::AfterStep(id) => {
                let n = WORK_STEPS.iter().position(|w| w == id).unwrap();
                let want = if n + 1 == WORK_STEPS.len() { 0 } else { 1 };
                if code != want {
                    problems.push(format!("{what}: exit {code}, expected {want}\n{stderr}"));
                }
                for (i, w) in WORK_STEPS.iter().enumerate() {
                    let status = step(&report, w)["status"]
                        .as_str()
                        .unwrap_or("?")
                        .to_owned();
                    let expected = if i <= n {
                        "passed"
                    } else if i == n + 1 {
                        "failed"
                    } else {
                        continue;
                    };
                    if status != expected {
                        problems.push(format!("{what}: step {w} {status}, expected {expected}"));
                    }
                }
            }
            State::Broken(name) => {
                let b = FixtureIndex::get().broken(name);
                let st = step(&report, &b.step);
                let named = diagnoses(st);
                if code != 1 || st["status"] != "failed" || !named.contains(&b.diagnosis) {
                    problems.push(format!("{what}: exit {code}, step {} {}, diagnoses {named:?}, expected {}\n{stderr}", b.step, st["status"], b.diagnosis));
                }
            }
        }
    };
    for (p, s, vars) in &applied {
        check(*p, s, vars);
    }
    for (p, s) in literal {
        let _guard = literal_namespace_lock().await;
        let vars = Vars::unique(p);
        try_apply_state(&admin, p, &s, &vars)
            .await
            .unwrap_or_else(|e| panic!("{p} {s}: {e}"));
        check(p, &s, &vars);
        remove_literal_namespace_objects(&admin, p, &s, &vars)
            .await
            .unwrap();
    }
    assert!(
        problems.is_empty(),
        "{} states graded wrong:\n{}",
        problems.len(),
        problems.join("\n")
    );

    // Read-only: the learner's identity sent nothing but get/list/watch.
    let events = cp.audit_events(&learner).await;
    assert!(
        events.len() >= 20,
        "expected the grades in the audit log, found {}",
        events.len()
    );
    let writes: Vec<String> = events
        .iter()
        .filter(|e| !matches!(e.verb.as_str(), "get" | "list" | "watch"))
        .map(|e| format!("{} {} {}", e.verb, e.resource, e.name))
        .collect();
    assert!(
        writes.is_empty(),
        "the grader wrote to the cluster: {writes:?}"
    );
}

/// The second lab (it requires istio-aks) on the real API server: each of its finished states
/// (istio-aks's finished state underneath) passes its steps and fails the next, each broken
/// state fails its step naming its diagnosis. The troubleshooting step's command checks run
/// istioctl, which this machine does not have: that step's own status is not asserted for the
/// finished states (its resource checks' diagnoses are, through its broken states).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn zero_trust_every_fixture_state_grades_as_expected_on_the_api_server() {
    let lab = FixtureLab::ZERO_TRUST;
    let cp = fixture_control_plane().await;
    let admin = cp.client(ADMIN).await;
    let kubeconfig = cp.kubeconfig_path(&cp.fresh_learner());
    let steps: Vec<String> = lab
        .index()
        .steps
        .iter()
        .filter(|s| !s.reset)
        .map(|s| s.id.clone())
        .collect();
    let mut states = Vec::new();
    for p in Profile::ALL {
        for s in lab.step_states().into_iter().chain(lab.broken_states(p)) {
            if !matches!(&s, State::AfterStep(id) if !steps.contains(id)) {
                states.push((p, s));
            }
        }
    }
    // States that write to kube-system (aks: the managed Prometheus agent and its settings) share
    // it: they are applied and graded one at a time, the others a few at a time (each is
    // istio-aks's whole finished state plus this lab's objects, every pod through the injector).
    let literal = |p: Profile, s: &State| {
        state_paths(lab, p, s)
            .iter()
            .any(|f| std::fs::read_to_string(f).is_ok_and(|t| t.contains("namespace: kube-system")))
    };
    let (alone, together): (Vec<_>, Vec<_>) = states.into_iter().partition(|(p, s)| literal(*p, s));
    use futures::StreamExt;
    let applied: Vec<_> = futures::stream::iter(together.into_iter().map(|(p, s)| {
        let admin = admin.clone();
        async move {
            let vars = lab.unique(p);
            try_apply_lab_state(&admin, lab, p, &s, &vars)
                .await
                .unwrap_or_else(|e| panic!("{p} {s}: {e}"));
            (p, s, vars)
        }
    }))
    .buffer_unordered(4)
    .collect()
    .await;
    let mut problems = Vec::new();
    let check = |p: Profile, s: &State, vars: &Vars, problems: &mut Vec<String>| {
        let (code, report, stderr) = tokio::task::block_in_place(|| {
            grade_lab("istio-aks-zero-trust", &kubeconfig, p, vars, &[])
        });
        let what = format!("{p} {s}");
        match s {
            State::AfterStep(id) => {
                let n = steps.iter().position(|w| w == id).unwrap();
                for (i, w) in steps.iter().enumerate() {
                    let expected = match i {
                        _ if w == "troubleshooting" => continue,
                        i if i <= n => "passed",
                        i if i == n + 1 => "failed",
                        _ => continue,
                    };
                    let status = step(&report, w)["status"]
                        .as_str()
                        .unwrap_or("?")
                        .to_owned();
                    if status != expected {
                        problems.push(format!(
                            "{what}: step {w} {status}, expected {expected} (exit {code})\n{stderr}"
                        ));
                    }
                }
            }
            State::Broken(name) => {
                let b = lab.index().broken(name);
                let st = step(&report, &b.step);
                let named = diagnoses(st);
                if !matches!(code, 1 | 2)
                    || st["status"] == "passed"
                    || !named.contains(&b.diagnosis)
                {
                    problems.push(format!(
                        "{what}: exit {code}, step {} {}, diagnoses {named:?}, expected {}\n{stderr}",
                        b.step, st["status"], b.diagnosis
                    ));
                }
            }
        }
    };
    for (p, s, vars) in &applied {
        check(*p, s, vars, &mut problems);
    }
    for (p, s) in alone {
        let vars = lab.unique(p);
        try_apply_lab_state(&admin, lab, p, &s, &vars)
            .await
            .unwrap_or_else(|e| panic!("{p} {s}: {e}"));
        check(p, &s, &vars, &mut problems);
    }
    assert!(
        problems.is_empty(),
        "{} states graded wrong:\n{}",
        problems.len(),
        problems.join("\n")
    );
}

#[test]
fn an_unreachable_cluster_is_exit_2_with_a_clear_message_and_no_secrets() {
    let dir = tempfile::tempdir().unwrap();
    let kubeconfig = dir.path().join("config");
    std::fs::write(
        &kubeconfig,
        "apiVersion: v1\nkind: Config\nclusters:\n- name: c\n  cluster: {server: 'https://127.0.0.1:1', insecure-skip-tls-verify: true}\nusers:\n- name: u\n  user: {token: very-secret-token}\ncontexts:\n- name: dead\n  context: {cluster: c, user: u}\ncurrent-context: dead\n",
    )
    .unwrap();
    let out = crate::cli::command()
        .args(["grade", "istio-aks", "--kubeconfig"])
        .arg(&kubeconfig)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert_eq!(
        stderr.trim(),
        "error: could not grade: cluster unreachable: connection refused at https://127.0.0.1:1"
    );
    assert!(
        !stderr.contains("very-secret-token")
            && !String::from_utf8_lossy(&out.stdout).contains("very-secret-token")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_forbidden_user_gets_exit_2_naming_what_was_refused() {
    let cp = fixture_control_plane().await;
    let kubeconfig = cp.kubeconfig_path(crate::harness::NOBODY);
    let out = crate::cli::command()
        .args(["grade", "istio-aks", "--step", "deploy-app", "--kubeconfig"])
        .arg(&kubeconfig)
        .output()
        .unwrap();
    // The revision is read first (from the Deployments of the root namespace): a discovery
    // that cannot read its list stops the grade, naming what was refused.
    let output = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(out.status.code(), Some(2), "{output}");
    assert!(
        output.contains(
            "could not grade: cannot discover `revision`: forbidden: cannot list deployments.apps \
             in namespace aks-istio-system"
        ),
        "{output}"
    );
}
