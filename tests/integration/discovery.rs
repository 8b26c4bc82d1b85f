//! Variables read from the cluster, on the real API server: istio-aks's `revision` comes from
//! the istiod Deployment in the root namespace, so a cluster at a revision the lab has never
//! heard of (`asm-1-99`: every fixture rendered for it) grades right without `--var revision`:
//! finished states pass, broken states fail their step with their diagnosis, the output names
//! the revision and the object it came from, and a snapshot keeps both. Nothing found (before
//! step 1) grades with the lab's default and says so. A canary upgrade (two istiods) takes the
//! revision the app namespace names, or stops with exit 2 naming both. The audit log proves
//! that discovery costs no LIST of its own: still one per (kind, namespace).

use crate::cli::Run;
use crate::grade_live::{diagnoses, grade, step};
use crate::grade_offline::WORK_STEPS;
use crate::harness::{
    ADMIN, FixtureIndex, Kubectl, Profile, State, Vars, apply_yaml, fixture_control_plane,
    literal_namespaces, render, render_file, try_apply_state, unique_name,
};
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::Path;

/// A revision no lab file mentions.
const NEW_REVISION: &str = "asm-1-99";

/// Unique variables with every fixture rendered at `rev`.
fn vars_at(p: Profile, rev: &str) -> Vars {
    let mut vars = Vars::unique(p);
    vars.insert("revision".into(), rev.into());
    let mesh = render(p.mesh_config_map_template(), &vars);
    vars.insert("meshConfigMap".into(), mesh);
    vars
}

/// What the command line says: everything but the revision and what derives from it.
fn without_revision(vars: &Vars) -> Vars {
    let mut v = vars.clone();
    v.remove("revision");
    v.remove("meshConfigMap");
    v
}

fn discovered_text(report: &Value) -> String {
    report["discovered"][0]["text"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

/// The line every grade of a state at `vars` must show.
fn discovered_line(vars: &Vars) -> String {
    let rev = vars.var("revision");
    format!(
        "revision {rev} (discovered: Deployment istiod-{rev} in {})",
        vars.var("rootNamespace")
    )
}

fn lab_default_revision() -> String {
    let lab: Value = serde_saphyr::from_str(
        &std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/labs/istio-aks/lab.yaml"
        ))
        .unwrap(),
    )
    .unwrap();
    lab["variables"]["revision"]["default"]
        .as_str()
        .unwrap()
        .to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_revision_the_lab_never_heard_of_is_discovered_and_graded_right() {
    let cp = fixture_control_plane().await;
    let admin = cp.client(ADMIN).await;
    let kubeconfig = cp.kubeconfig_path(ADMIN);
    let mut states = Vec::new();
    for p in Profile::ALL {
        states.push((p, State::AfterStep("egress".into())));
        for b in FixtureIndex::get().broken.iter() {
            let s = State::Broken(b.name.clone());
            if b.profiles.contains(&p) && literal_namespaces(p, &s).is_empty() {
                states.push((p, s));
            }
        }
    }
    let applied = futures::future::join_all(states.into_iter().map(|(p, s)| {
        let admin = admin.clone();
        async move {
            let vars = vars_at(p, NEW_REVISION);
            try_apply_state(&admin, p, &s, &vars)
                .await
                .unwrap_or_else(|e| panic!("{p} {s}: {e}"));
            (p, s, vars)
        }
    }))
    .await;
    let mut problems = Vec::new();
    for (p, s, vars) in &applied {
        let (code, report, stderr) = grade(&kubeconfig, *p, &without_revision(vars), &[]);
        let what = format!("{p} {s}");
        if report["revision"] != NEW_REVISION || discovered_text(&report) != discovered_line(vars) {
            problems.push(format!(
                "{what}: revision {} discovered {:?}\n{stderr}",
                report["revision"], report["discovered"]
            ));
        }
        match s {
            State::AfterStep(_) => {
                let failed: Vec<&str> = WORK_STEPS
                    .iter()
                    .filter(|w| step(&report, w)["status"] != "passed")
                    .copied()
                    .collect();
                if code != 0 || !failed.is_empty() {
                    problems.push(format!("{what}: exit {code}, not passed: {failed:?}"));
                }
            }
            State::Broken(name) => {
                let b = FixtureIndex::get().broken(name);
                let st = step(&report, &b.step);
                let named = diagnoses(st);
                if code != 1 || st["status"] != "failed" || !named.contains(&b.diagnosis) {
                    problems.push(format!(
                        "{what}: exit {code}, step {} {}, diagnoses {named:?}, expected {}",
                        b.step, st["status"], b.diagnosis
                    ));
                }
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));

    // The terminal says it too, and a snapshot keeps the value and where it came from.
    let (_, _, vars) = applied
        .iter()
        .find(|(p, s, _)| *p == Profile::Aks && matches!(s, State::AfterStep(_)))
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let snap = dir.path().join("snap.json");
    let mut args = vec![
        "snapshot".to_owned(),
        "istio-aks".into(),
        "--profile".into(),
    ];
    args.extend(["aks".into(), "-o".into(), snap.display().to_string()]);
    let out = labctl(&kubeconfig, &args, &without_revision(vars));
    assert_eq!(out.0, 0, "{}", out.1);
    assert!(out.1.contains(&discovered_line(vars)), "{}", out.1);
    let captured: Value = serde_json::from_str(&std::fs::read_to_string(&snap).unwrap()).unwrap();
    assert_eq!(captured["variables"]["revision"], NEW_REVISION);
    assert_eq!(
        captured["discovered"][0]["origin"]["object"],
        format!(
            "Deployment istiod-{NEW_REVISION} in {}",
            vars.var("rootNamespace")
        )
    );
    let graded = crate::cli::command()
        .args(["grade", "istio-aks", "--snapshot"])
        .arg(&snap)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&graded.stdout);
    assert_eq!(graded.status.code(), Some(0), "{text}");
    assert!(text.contains(&discovered_line(vars)), "{text}");
}

/// `labctl ARGS --kubeconfig K --var …` (stdout and stderr together).
fn labctl(kubeconfig: &Path, args: &[String], vars: &Vars) -> (i32, String) {
    let mut cmd = crate::cli::command();
    cmd.args(args).arg("--kubeconfig").arg(kubeconfig);
    for (k, v) in vars.iter() {
        cmd.arg("--var").arg(format!("{k}={v}"));
    }
    let run = Run::of(&mut cmd);
    (run.code, run.all())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn before_step_one_the_lab_default_is_used_and_the_output_says_so() {
    let cp = fixture_control_plane().await;
    let kubeconfig = cp.kubeconfig_path(ADMIN);
    // Fresh namespaces: nothing of the lab exists yet.
    let vars = Vars::unique(Profile::Aks);
    let (code, report, stderr) = grade(
        &kubeconfig,
        Profile::Aks,
        &without_revision(&vars),
        &["--step", "enable-addon"],
    );
    let default = lab_default_revision();
    assert_eq!(code, 1, "{stderr}");
    assert_eq!(report["revision"], default.as_str());
    assert_eq!(
        discovered_text(&report),
        format!(
            "revision {default} (the lab's default: none found, looked for Deployment objects in \
             {} matching `app=istiod`)",
            vars.var("rootNamespace")
        )
    );
    assert_eq!(report["discovered"][0]["found"], false);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_canary_upgrade_grades_the_app_namespace_revision_or_asks_which() {
    let cp = fixture_control_plane().await;
    let admin = cp.client(ADMIN).await;
    let p = Profile::Aks;
    let vars = vars_at(p, NEW_REVISION);
    try_apply_state(&admin, p, &State::AfterStep("egress".into()), &vars)
        .await
        .unwrap();
    // The canary: a second control plane, at asm-1-98, beside the first.
    let mut canary = vars.clone();
    canary.insert("revision".into(), "asm-1-98".into());
    apply_yaml(
        &admin,
        &render_file("aks/01-enable-addon.yaml", &canary).unwrap(),
    )
    .await;

    // The app namespace says asm-1-99: that one is graded, and the output says why.
    let learner = cp.fresh_learner();
    let kubeconfig = cp.kubeconfig_path(&learner);
    let (code, report, stderr) = grade(&kubeconfig, p, &without_revision(&vars), &[]);
    assert_eq!(code, 0, "{stderr}\n{report}");
    assert_eq!(report["revision"], NEW_REVISION);
    assert_eq!(
        discovered_text(&report),
        format!(
            "{}; 2 found, Namespace {} names this one)",
            discovered_line(&vars).trim_end_matches(')'),
            vars.var("appNamespace")
        )
    );
    // Discovery read through the checks' fetch: still one LIST per (kind, namespace).
    let mut lists: BTreeMap<(String, String, String), usize> = BTreeMap::new();
    for e in cp.audit_events(&learner).await {
        if e.verb == "list" {
            *lists
                .entry((e.api_group, e.resource, e.namespace))
                .or_default() += 1;
        }
    }
    let deployments = (
        "apps".to_owned(),
        "deployments".to_owned(),
        vars.var("rootNamespace").to_owned(),
    );
    assert_eq!(lists.get(&deployments), Some(&1), "{lists:?}");
    assert!(lists.values().all(|n| *n == 1), "{lists:?}");

    // The app namespace names neither: no guessing, exit 2 naming both.
    let ns = vars.var("appNamespace");
    Kubectl::new(cp.kubeconfig_path(ADMIN))
        .run(&[
            "label",
            "namespace",
            ns,
            "istio.io/rev=asm-1-97",
            "--overwrite",
        ])
        .await
        .expect_success("relabel the app namespace");
    let (code, _, stderr) = grade(&kubeconfig, p, &without_revision(&vars), &[]);
    assert_eq!(code, 2, "{stderr}");
    let root = vars.var("rootNamespace");
    assert!(
        stderr.contains(&format!(
            "found 2 values for `revision`: asm-1-98 (Deployment istiod-asm-1-98 in {root}), \
             asm-1-99 (Deployment istiod-asm-1-99 in {root}); Namespace {ns} names `asm-1-97`, \
             none of them: say which with --var revision=<value>"
        )),
        "{stderr}"
    );
    // An explicit --var always wins: no question asked.
    let mut given = without_revision(&vars);
    given.insert("revision".into(), NEW_REVISION.into());
    let (code, report, stderr) = grade(&kubeconfig, p, &given, &[]);
    assert_eq!(code, 1, "{stderr}");
    assert!(report.get("discovered").is_none(), "{report}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_class_report_reads_each_learners_revision_from_their_namespaces() {
    use crate::class_report::{labctl, variables_yaml};
    let cp = fixture_control_plane().await;
    let admin = cp.client(ADMIN).await;
    let p = Profile::Kind;
    // ada runs asm-1-99; bo is mid-upgrade (asm-1-98 beside it) with the app namespace naming
    // neither: ada is graded at her revision, bo's row says which values were found.
    let finished = State::AfterStep("egress".into());
    let (ada, bo) = (vars_at(p, NEW_REVISION), vars_at(p, NEW_REVISION));
    for vars in [&ada, &bo] {
        try_apply_state(&admin, p, &finished, vars).await.unwrap();
    }
    let mut canary = bo.clone();
    canary.insert("revision".into(), "asm-1-98".into());
    apply_yaml(
        &admin,
        &render_file("kind/01-enable-addon.yaml", &canary).unwrap(),
    )
    .await;
    Kubectl::new(cp.kubeconfig_path(ADMIN))
        .run(&[
            "label",
            "namespace",
            bo.var("appNamespace"),
            "istio.io/rev-",
        ])
        .await
        .expect_success("unlabel bo's app namespace");

    let dir = tempfile::tempdir().unwrap();
    let roster = dir.path().join("class.yaml");
    let mut text = format!(
        "lab: istio-aks\nprofile: kind\nclusters:\n  workshop: {{ kubeconfig: {} }}\nlearners:\n",
        cp.kubeconfig_path(ADMIN).display()
    );
    for (name, vars) in [("ada", &ada), ("bo", &bo)] {
        let given = variables_yaml(&without_revision(vars));
        text.push_str(&format!(
            "  - {{ name: {name}, cluster: workshop, variables: {given} }}\n"
        ));
    }
    std::fs::write(&roster, text).unwrap();
    let json = dir.path().join("class.json");
    let (code, stdout, stderr, _) = labctl(&[
        "class",
        "report",
        roster.to_str().unwrap(),
        "--json",
        json.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{stdout}{stderr}");
    let report: Value = serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    let row = |name: &str| {
        report["learners"]
            .as_array()
            .unwrap()
            .iter()
            .find(|l| l["name"] == name)
            .unwrap()
            .clone()
    };
    let a = row("ada");
    assert_eq!(a["status"], "done", "{a}");
    assert_eq!(a["revision"], NEW_REVISION);
    assert_eq!(
        a["discovered"][0]["origin"]["object"],
        format!(
            "Deployment istiod-{NEW_REVISION} in {}",
            ada.var("rootNamespace")
        )
    );
    let b = row("bo");
    assert_eq!(b["status"], "error", "{b}");
    let message = b["message"].as_str().unwrap_or_default();
    assert!(
        message.contains("found 2 values for `revision`: asm-1-98")
            && message.contains("--var revision="),
        "{message}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_learner_sees_the_default_at_start_and_the_revision_installed_meanwhile_at_check() {
    let cp = fixture_control_plane().await;
    let admin = cp.client(ADMIN).await;
    let (app, root) = (unique_name("pets"), unique_name("mesh-root"));
    let state = tempfile::tempdir().unwrap();
    let kubeconfig = cp.kubeconfig_path(ADMIN);
    let run = |args: &[&str]| {
        let run = Run::of(
            crate::cli::command()
                .args(args)
                .env("LABCTL_STATE_DIR", state.path())
                .env("KUBECONFIG", &kubeconfig),
        );
        (run.code, run.all())
    };
    let (app_var, root_var) = (
        format!("appNamespace={app}"),
        format!("rootNamespace={root}"),
    );
    let lab = "tests/labs-ok/discover";
    let (code, out) = run(&["start", lab, "--var", &app_var, "--var", &root_var]);
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains(&format!(
            "revision asm-1-27 (the lab's default: none found, looked for Deployment objects in \
             {root} matching `app=istiod`)"
        )) && out.contains("istio.io/rev=asm-1-27"),
        "{out}"
    );
    // The learner installs asm-1-88 and labels the namespace for it.
    apply_yaml(
        &admin,
        &format!(
            "apiVersion: v1\nkind: Namespace\nmetadata: {{name: {root}}}\n---\n\
             apiVersion: v1\nkind: Namespace\nmetadata: {{name: {app}, labels: {{istio.io/rev: asm-1-88}}}}\n---\n\
             apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: istiod-asm-1-88\n  namespace: {root}\n\
             \x20 labels: {{app: istiod, istio.io/rev: asm-1-88}}\nspec:\n  selector: {{matchLabels: {{app: istiod}}}}\n\
             \x20 template:\n    metadata: {{labels: {{app: istiod}}}}\n    spec: {{containers: [{{name: discovery, image: istio/pilot}}]}}\n"
        ),
    )
    .await;
    let (code, out) = run(&["check"]);
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains(&format!(
            "revision asm-1-88 (discovered: Deployment istiod-asm-1-88 in {root})"
        )),
        "{out}"
    );
}
