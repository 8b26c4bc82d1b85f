//! The istio-aks-upgrade lab graded against its fixture states (`tests/fixtures/istio-aks-upgrade/`),
//! in memory like `grade_offline`: each state starts from istio-aks's finished state through
//! `egress` (the lab's `requires`), then adds this lab's files. Every finished state passes the
//! steps so far and fails the next; the rolled-back state passes step finish as well as the
//! completed one (the grader reads which revision remains); every broken state fails its step
//! naming its diagnosis. Command checks are not run offline: a step whose checks are all command
//! checks for a profile (kind: prepare-meshconfig) is reported skipped, and the replays in
//! `ci.rs` run those commands.

use crate::fixture_states::State;
use crate::grade_offline::{describe, grade_state};
use crate::harness::{Profile, State as FixtureState, fixture_dir, state_files};
use labctl::eval::result::Status;
use labctl::labfile::kinds::body::Body;
use labctl::labfile::lab::Lab;
use labctl::plan::resolve::Plan;
use labctl::report::event::GradeReport;
use labctl::view::query::queries;
use serde::Deserialize;
use std::path::{Path, PathBuf};

const LAB: &str = "istio-aks-upgrade";
/// The prerequisite's step this lab starts after (lab.yaml `requires.through`).
const THROUGH: &str = "egress";

fn lab() -> Lab {
    labctl::labfile::load::load(&Path::new(env!("CARGO_MANIFEST_DIR")).join("labs").join(LAB))
        .expect("istio-aks-upgrade is valid")
}

fn dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(LAB)
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct Files {
    #[serde(default)]
    common: Option<String>,
    #[serde(default)]
    aks: Option<String>,
    #[serde(default)]
    kind: Option<String>,
}

impl Files {
    fn for_profile(&self, p: Profile) -> Vec<PathBuf> {
        let own = match p {
            Profile::Aks => &self.aks,
            Profile::Kind => &self.kind,
        };
        self.common
            .iter()
            .chain(own)
            .map(|f| dir().join(f))
            .collect()
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Step {
    id: String,
    #[serde(flatten)]
    files: Files,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct Broken {
    name: String,
    step: String,
    base: String,
    #[serde(flatten)]
    files: Files,
    diagnosis: String,
    profiles: Vec<Profile>,
    #[allow(dead_code)]
    description: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Index {
    #[allow(dead_code)]
    variables: serde_json::Value,
    steps: Vec<Step>,
    rollback: Files,
    broken: Vec<Broken>,
}

fn index() -> Index {
    let text = std::fs::read_to_string(dir().join("index.yaml")).unwrap();
    serde_saphyr::from_str(&text).unwrap_or_else(|e| panic!("{LAB} index.yaml: {e}"))
}

/// The files of this lab's state `name` (a step id, or `finish-rollback`) for `p`, after the
/// prerequisite's.
fn files(index: &Index, p: Profile, name: &str) -> Vec<PathBuf> {
    let istio_aks = fixture_dir();
    let mut out: Vec<PathBuf> = state_files(p, &FixtureState::AfterStep(THROUGH.into()))
        .iter()
        .map(|f| istio_aks.join(f))
        .collect();
    let (upto, rollback) = match name {
        "finish-rollback" => ("move-workloads", true),
        step => (step, false),
    };
    let at = index
        .steps
        .iter()
        .position(|s| s.id == upto)
        .unwrap_or_else(|| panic!("no state {name}"));
    for s in &index.steps[..=at] {
        out.extend(s.files.for_profile(p));
    }
    if rollback {
        out.extend(index.rollback.for_profile(p));
    }
    out
}

/// Steps whose checks for `p` are all command checks: offline they can only be skipped.
fn command_only(lab: &Lab, p: Profile, step: &str) -> bool {
    let step = lab.steps.iter().find(|s| s.id == step).unwrap();
    step.checks_for(p.as_str())
        .all(|c| matches!(c.body, Body::Command(_)))
}

fn done(status: Status) -> bool {
    matches!(status, Status::Passed | Status::Skipped)
}

fn graded(lab: &Lab, p: Profile, index: &Index, name: &str, extra: &Files) -> GradeReport {
    let plan = Plan::new(lab, Some(p.as_str()), &[]).unwrap();
    let mut files = files(index, p, name);
    files.extend(extra.for_profile(p));
    grade_state(&plan, &State::of_files(&files, &plan.values))
}

#[test]
fn each_finished_state_passes_its_steps_and_fails_the_next() {
    let lab = lab();
    let index = index();
    let ids: Vec<&str> = lab.steps.iter().map(|s| s.id.as_str()).collect();
    assert_eq!(
        ids,
        index
            .steps
            .iter()
            .map(|s| s.id.as_str())
            .collect::<Vec<_>>(),
        "index.yaml names the lab's steps in order"
    );
    for p in Profile::ALL {
        for (n, step) in ids.iter().enumerate() {
            let report = graded(&lab, p, &index, step, &Files::default());
            if *step == "cleanup" {
                // Cleaning up undoes what the steps checked (the tag is gone): only it passes.
                let last = report.steps.last().unwrap();
                assert_eq!(
                    last.status,
                    Status::Passed,
                    "{p}: cleanup:\n{}",
                    describe(&report)
                );
                let finish = &report.steps[n - 1];
                assert_eq!(
                    finish.status,
                    Status::Failed,
                    "{p}: after cleanup:\n{}",
                    describe(&report)
                );
                continue;
            }
            for s in &report.steps[..=n] {
                assert!(
                    done(s.status),
                    "{p}: after {step}, step {} should pass:\n{}",
                    s.id,
                    describe(&report)
                );
            }
            // Steps with checks to evaluate offline pass (not merely skip) in their own state.
            let own = &report.steps[n];
            if !command_only(&lab, p, step) && *step != "find-target" {
                assert_eq!(
                    own.status,
                    Status::Passed,
                    "{p}: {step}:\n{}",
                    describe(&report)
                );
            }
            if let Some(next) = report.steps.get(n + 1) {
                let expected = if command_only(&lab, p, &next.id) {
                    Status::Skipped
                } else {
                    Status::Failed
                };
                assert_eq!(
                    next.status,
                    expected,
                    "{p}: after {step}, the next step {}:\n{}",
                    next.id,
                    describe(&report)
                );
            }
        }
    }
}

/// The other way out: rolled back instead of completed. Step finish passes on it too, and the
/// steps that only hold while the canary runs, or after completing, are skipped, not failed.
#[test]
fn the_rolled_back_state_passes_finish_like_the_completed_one() {
    let lab = lab();
    let index = index();
    for p in Profile::ALL {
        let report = graded(&lab, p, &index, "finish-rollback", &Files::default());
        let (cleanup, work) = report.steps.split_last().unwrap();
        assert!(
            work.iter().all(|s| done(s.status)),
            "{p}: rolled back:\n{}",
            describe(&report)
        );
        let finish = work.iter().find(|s| s.id == "finish").unwrap();
        assert_eq!(finish.status, Status::Passed, "{p}:\n{}", describe(&report));
        // The path shows in which checks ran: the rollback's, not the completion's.
        let status = |id: &str| finish.checks.iter().find(|c| c.id == id).unwrap().status;
        assert_eq!(status("tag-after-rollback"), Status::Passed);
        assert_eq!(status("proxies-after-rollback"), Status::Passed);
        assert_eq!(status("tag-after-complete"), Status::Skipped);
        assert_eq!(status("proxies-after-complete"), Status::Skipped);
        assert_eq!(
            cleanup.status,
            Status::Failed,
            "{p}: the tag is still there"
        );
    }
}

#[test]
fn each_broken_state_fails_its_step_with_the_known_diagnosis() {
    let lab = lab();
    let index = index();
    let ids: Vec<&str> = lab.steps.iter().map(|s| s.id.as_str()).collect();
    let mut problems = Vec::new();
    for b in &index.broken {
        for p in b.profiles.iter().copied() {
            let report = graded(&lab, p, &index, &b.base, &b.files);
            let step = report.steps.iter().find(|s| s.id == b.step).unwrap();
            let named: Vec<&str> = step
                .checks
                .iter()
                .filter(|c| c.status == Status::Failed)
                .flat_map(|c| c.diagnoses.iter().map(|d| d.id.as_str()))
                .collect();
            let at = ids.iter().position(|s| *s == b.step).unwrap();
            // A state after completing with an old proxy left is also not done moving workloads
            // (step move-workloads names the same pods); every other earlier step is done.
            let earlier_ok = report.steps[..at]
                .iter()
                .all(|s| done(s.status) || (b.step == "finish" && s.id == "move-workloads"));
            if step.status != Status::Failed
                || !named.contains(&b.diagnosis.as_str())
                || !earlier_ok
            {
                problems.push(format!(
                    "{p}/{}: step {} {:?}, expected diagnosis `{}`, named {named:?}, earlier steps done: {earlier_ok}\n{}",
                    b.name, b.step, step.status, b.diagnosis, describe(&report)
                ));
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// Mid-upgrade (the tag moved, store-front restarted, the rest not yet), the grade says per pod
/// which revision its proxy runs: store-front's check passes, and the failing one lists each
/// other workload "proxy from <fromRevision>".
#[test]
fn a_mid_upgrade_grade_names_each_pods_proxy_revision() {
    let lab = lab();
    let index = index();
    let broken = index
        .broken
        .iter()
        .find(|b| b.name == "mid-upgrade")
        .unwrap();
    for p in Profile::ALL {
        let report = graded(&lab, p, &index, &broken.base, &broken.files);
        let step = report
            .steps
            .iter()
            .find(|s| s.id == "move-workloads")
            .unwrap();
        let check = |id: &str| step.checks.iter().find(|c| c.id == id).unwrap();
        assert_eq!(check("store-front-on-target").status, Status::Passed);
        let workloads = check("workloads-on-target");
        assert_eq!(workloads.status, Status::Failed);
        for pod in [
            "order-service",
            "product-service",
            "rabbitmq-0",
            "curl-inside",
        ] {
            assert!(
                workloads
                    .actual
                    .lines()
                    .any(|l| l.contains(pod) && l.contains("proxy from asm-1-27")),
                "{p}: {pod} not named on asm-1-27 in:\n{}",
                workloads.actual
            );
        }
        assert!(
            !workloads.actual.contains("store-front"),
            "{p}: store-front is done and not listed:\n{}",
            workloads.actual
        );
    }
}

/// Runs a stand-in of `tests/ci-sim/bin` in a simulated cluster whose add-on runs `running` and,
/// when given, has an upgrade to `canary` in progress (the az stand-in's own state files). kubectl
/// points at no cluster: whatever a stand-in refuses, it refuses before touching objects.
fn upgrade_stand_in(
    name: &str,
    running: &str,
    canary: Option<&str>,
    args: &[&str],
) -> (i32, String) {
    let sim = tempfile::tempdir().unwrap();
    std::fs::write(
        sim.path().join("sim.env"),
        "RESOURCE_GROUP=rg\nCLUSTER_NAME=aks\nLOCATION=westeurope\nK8S_VERSION=1.33.2\n\
MESH_REVISIONS=\"asm-1-27=1.33 asm-1-28=1.33\"\nMESH_UPGRADES=\"asm-1-27=asm-1-28\"\n\
ADDON_ROOT_NAMESPACE=aks-istio-system\nADDON_INGRESS_NAMESPACE=aks-istio-ingress\n\
LB_IP=203.0.113.10\nISTIO_VERSION=1.27.9\n",
    )
    .unwrap();
    std::fs::write(sim.path().join("addon-revision"), format!("{running}\n")).unwrap();
    if let Some(c) = canary {
        std::fs::write(sim.path().join("upgrade-revision"), format!("{c}\n")).unwrap();
    }
    let out = std::process::Command::new(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/ci-sim/bin")
            .join(name),
    )
    .args(args)
    .env("LABCTL_SIM_DIR", sim.path())
    .env("KUBECONFIG", "/nonexistent")
    .output()
    .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.code().unwrap_or(-1), text)
}

/// The upgrade commands of the stand-ins answer from their arguments and state, and refuse what
/// AKS and istioctl refuse: a second `upgrade start` while one is in progress, a target that is
/// not offered, complete/rollback without --yes or without an upgrade, tags without --revision.
#[test]
fn the_stand_ins_model_the_upgrade_commands_and_refuse_what_aks_refuses() {
    let cluster = ["--resource-group", "rg", "--name", "aks"];
    let az = |canary: Option<&str>, cmd: &[&str]| {
        let args: Vec<&str> = cmd.iter().chain(cluster.iter()).copied().collect();
        upgrade_stand_in("az", "asm-1-27", canary, &args)
    };
    // get-upgrades: the running revision and what it may go to, as JSON and as the lab's query.
    let (code, out) = az(None, &["aks", "mesh", "get-upgrades"]);
    assert_eq!(code, 0, "{out}");
    let json: serde_json::Value = serde_json::from_str(&out).expect(&out);
    assert_eq!(json["revision"], "asm-1-27");
    assert_eq!(json["upgrades"], serde_json::json!(["asm-1-28"]));
    let (code, out) = az(
        None,
        &[
            "aks",
            "mesh",
            "get-upgrades",
            "--query",
            "upgrades",
            "-o",
            "tsv",
        ],
    );
    assert_eq!((code, out.as_str()), (0, "asm-1-28\n"));
    // AKS shows both revisions while the upgrade runs.
    let (code, out) = az(
        Some("asm-1-28"),
        &[
            "aks",
            "show",
            "--query",
            "serviceMeshProfile.istio.revisions",
            "-o",
            "tsv",
        ],
    );
    assert_eq!((code, out.as_str()), (0, "asm-1-27\nasm-1-28\n"));
    for (canary, cmd, says) in [
        (
            Some("asm-1-28"),
            &["aks", "mesh", "upgrade", "start", "--revision", "asm-1-28"][..],
            "an upgrade from asm-1-27 to asm-1-28 is in progress",
        ),
        (
            None,
            &["aks", "mesh", "upgrade", "start", "--revision", "asm-1-29"][..],
            "'asm-1-29' is not an upgrade of asm-1-27",
        ),
        (
            None,
            &["aks", "mesh", "upgrade", "start"][..],
            "required: --revision",
        ),
        (
            Some("asm-1-28"),
            &["aks", "mesh", "upgrade", "complete"][..],
            "refusing to complete without --yes",
        ),
        (
            None,
            &["aks", "mesh", "upgrade", "rollback", "--yes"][..],
            "no upgrade is in progress",
        ),
        (
            Some("asm-1-28"),
            &[
                "aks",
                "mesh",
                "upgrade",
                "complete",
                "--yes",
                "--revision",
                "asm-1-28",
            ][..],
            "unrecognized arguments: --revision",
        ),
    ] {
        let (code, out) = az(canary, cmd);
        assert_eq!(code, 2, "az {cmd:?}: {out}");
        assert!(out.contains(says), "az {cmd:?}: {out}");
    }
    let istioctl = |args: &[&str]| upgrade_stand_in("istioctl", "asm-1-27", None, args);
    for (args, says) in [
        (
            &["tag", "set", "prod-stable"][..],
            "tag set needs --revision",
        ),
        (
            &["tag", "set", "a", "b", "--revision", "asm-1-27"][..],
            "exactly one tag name",
        ),
        (&["tag", "list"][..], "unsupported: istioctl tag list"),
        (
            &["tag", "remove", "prod-stable", "--overwrite"][..],
            "unsupported argument --overwrite",
        ),
        (
            &["install", "-y", "--istioNamespace", "aks-istio-system"][..],
            "unsupported argument --istioNamespace for istioctl install",
        ),
    ] {
        let (code, out) = istioctl(args);
        assert_eq!(code, 2, "istioctl {args:?}: {out}");
        assert!(out.contains(says), "istioctl {args:?}: {out}");
    }
}

/// `labctl ci istio-aks-upgrade` for `profile`, taking the `finish` way out: the prerequisite
/// istio-aks replayed through egress as setup, this lab, its cleanup, istio-aks's cleanup, with
/// the stand-ins and nothing left over. The revisions are the test's own (injector webhooks are
/// cluster-scoped and named after them), pinned with --var: see the report on discovery.
async fn replay_upgrade(profile: Profile, finish: &str, from: &str, to: &str) -> crate::ci::Run {
    let tag = crate::harness::unique_name("tag");
    let run = crate::ci::replay_with(
        profile,
        LAB,
        "90s",
        &[
            ("revision", from),
            ("fromRevision", from),
            ("toRevision", to),
            ("revisionTag", &tag),
            ("finish", finish),
            ("toIstioVersion", "1.28.0"),
        ],
        &["1.28.0"],
    )
    .await;
    assert_eq!(run.code, 0, "{}", run.stdout);
    for step in [
        "find-target",
        "prepare-meshconfig",
        "start-canary",
        "revision-tag",
        "move-workloads",
        "finish",
    ] {
        assert!(
            run.stdout.contains(&format!("✔ {step} passed")),
            "{step} not passed:\n{}",
            run.stdout
        );
    }
    assert!(run.stdout.contains("leftovers: none"), "{}", run.stdout);
    run
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_upgrade_replays_on_kind_and_completes() {
    replay_upgrade(Profile::Kind, "complete", "asm-1-61", "asm-1-62").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_upgrade_replays_on_kind_and_rolls_back() {
    replay_upgrade(Profile::Kind, "rollback", "asm-1-63", "asm-1-64").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_upgrade_replays_on_aks_and_completes() {
    // The region's revision for the test's cluster and the upgrade it offers (ci.rs's sim.env).
    let run = replay_upgrade(Profile::Aks, "complete", "asm-1-97", "asm-1-98").await;
    assert!(
        run.stdout.contains(
            "$ az aks mesh upgrade start --resource-group rg-ci --name aks-ci --revision asm-1-98"
        ),
        "{}",
        run.stdout
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_upgrade_replays_on_aks_and_rolls_back() {
    let run = replay_upgrade(Profile::Aks, "rollback", "asm-1-97", "asm-1-98").await;
    assert!(
        run.stdout.contains("az aks mesh upgrade rollback"),
        "{}",
        run.stdout
    );
}

/// A snapshot file of this lab's state `name` (plus `extra`) for `p`, as `labctl snapshot` would
/// have captured it from a learner's cluster.
fn snapshot_of(dir: &Path, p: Profile, name: &str, extra: &Files) -> PathBuf {
    let (lab, index) = (lab(), index());
    let plan = Plan::new(&lab, Some(p.as_str()), &[]).unwrap();
    let mut files = files(&index, p, name);
    files.extend(extra.for_profile(p));
    let objects = State::of_files(&files, &plan.values).object_set(queries(&plan, None));
    let snap = labctl::view::snapshot::Snapshot::capture(&plan, None, &objects);
    let path = dir.join(format!("{name}-{p}.json"));
    labctl::view::snapshot::write_snapshot(&path, &snap).unwrap();
    path
}

#[test]
fn the_class_report_shows_who_is_mid_upgrade() {
    // Three learners on kind: one whose workloads are half moved (store-front on the new
    // revision, the rest on the old), one who completed and one who rolled back. The report
    // puts the first on step move-workloads with the failing check; the others are done.
    let dir = tempfile::tempdir().unwrap();
    let index = index();
    let mid = index
        .broken
        .iter()
        .find(|b| b.name == "mid-upgrade")
        .unwrap();
    let p = Profile::Kind;
    let learners = [
        ("ana", snapshot_of(dir.path(), p, &mid.base, &mid.files)),
        (
            "ben",
            snapshot_of(dir.path(), p, "finish", &Files::default()),
        ),
        (
            "cy",
            snapshot_of(dir.path(), p, "finish-rollback", &Files::default()),
        ),
    ];
    let mut roster = format!("lab: {LAB}\nprofile: kind\nlearners:\n");
    for (name, file) in &learners {
        roster.push_str(&format!(
            "  - {{ name: {name}, snapshot: '{}' }}\n",
            file.display()
        ));
    }
    let roster_file = dir.path().join("class.yaml");
    std::fs::write(&roster_file, roster).unwrap();
    let json_file = dir.path().join("class.json");
    let run = crate::cli::Run::of(
        crate::cli::command()
            .args(["class", "report"])
            .arg(&roster_file)
            .arg("--json")
            .arg(&json_file),
    );
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json_file).unwrap()).unwrap();
    let learner = |name: &str| {
        report["learners"]
            .as_array()
            .unwrap()
            .iter()
            .find(|l| l["name"] == name)
            .unwrap_or_else(|| panic!("no {name} in {report}"))
            .clone()
    };
    let ana = learner("ana");
    assert_eq!(ana["currentStep"], "move-workloads", "{ana}");
    assert!(ana.to_string().contains("workloads-on-target"), "{ana}");
    for done in ["ben", "cy"] {
        assert_eq!(learner(done)["status"], "done", "{}", learner(done));
    }
    assert!(run.stdout.contains("move-workloads"), "{}", run.stdout);
}
