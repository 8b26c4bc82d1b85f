//! Labs that build on labs (`requires:`), with `tests/labs-ok/on-minimal` (it requires
//! `minimal` through `onboard`): validate, list and show name the prerequisite; its mistakes are
//! located with a did-you-mean; `ci` replays the prerequisite as setup and cleans up both;
//! `start` grades the prerequisite first on a real API server and refuses a missing base.

use crate::ci::{assert_in_order, labctl_ci};
use crate::cli::{Run, labctl};
use crate::harness::{ADMIN, ControlPlane, ensure_namespaces, unique_name};
use crate::learner_flow::labelled_namespace;
use std::path::Path;

const REPO: &str = env!("CARGO_MANIFEST_DIR");

#[test]
fn validate_list_and_show_name_the_prerequisite() {
    let run = labctl(&["validate", "tests/labs-ok/on-minimal"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stdout.contains("requires minimal through onboard"),
        "{}",
        run.stdout
    );
    let list = labctl(&["--labs", "tests/labs-ok", "list"]);
    assert_eq!(list.code, 0, "{}", list.stderr);
    let row = list
        .stdout
        .lines()
        .find(|l| l.starts_with("on-minimal "))
        .unwrap_or_else(|| panic!("no row for on-minimal:\n{}", list.stdout));
    assert!(row.contains("minimal@onboard"), "{row}");
    assert!(list.stdout.lines().next().unwrap().contains("REQUIRES"));
    let show = labctl(&[
        "--labs",
        "tests/labs-ok",
        "show",
        "on-minimal",
        "--profile",
        "kind",
    ]);
    assert_eq!(show.code, 0, "{}", show.stderr);
    assert!(
        show.stdout
            .contains("requires: minimal, done through step `onboard`"),
        "{}",
        show.stdout
    );
    // The inherited variables are substituted like the lab's own.
    assert!(
        show.stdout.contains("istio.io/rev=asm-1-23"),
        "{}",
        show.stdout
    );
}

/// A folder with `minimal` and `on-minimal` (lab.yaml edited by `edit`), validated from inside
/// it so that paths in the messages are short and stable.
fn validate_edited(edit: &dyn Fn(&Path)) -> Run {
    let dir = tempfile::tempdir().unwrap();
    for lab in ["minimal", "on-minimal"] {
        let src = Path::new(REPO).join("tests/labs-ok").join(lab);
        let dst = dir.path().join(lab);
        std::fs::create_dir_all(dst.join("steps")).unwrap();
        for f in walk(&src) {
            let rel = f.strip_prefix(&src).unwrap();
            std::fs::copy(&f, dst.join(rel)).unwrap();
        }
    }
    edit(dir.path());
    let mut cmd = crate::cli::command();
    cmd.current_dir(dir.path()).args(["validate", "on-minimal"]);
    Run::of(&mut cmd)
}

fn walk(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else {
            out.push(p);
        }
    }
    out
}

fn replace(dir: &Path, lab: &str, from: &str, to: &str) {
    let file = dir.join(lab).join("lab.yaml");
    let text = std::fs::read_to_string(&file).unwrap();
    assert!(text.contains(from), "{from:?} not in {}", file.display());
    std::fs::write(&file, text.replacen(from, to, 1)).unwrap();
}

#[test]
fn requires_mistakes_are_located_and_suggest_the_fix() {
    type Edit = Box<dyn Fn(&Path)>;
    let cases: Vec<(&str, Edit)> = vec![
        (
            "unknown lab",
            Box::new(|d| replace(d, "on-minimal", "lab: minimal", "lab: minimall")),
        ),
        (
            "a path instead of a name",
            Box::new(|d| replace(d, "on-minimal", "lab: minimal", "lab: ../minimal")),
        ),
        (
            "unknown step",
            Box::new(|d| replace(d, "on-minimal", "through: onboard", "through: onbord")),
        ),
        (
            "through the cleanup step",
            Box::new(|d| replace(d, "on-minimal", "through: onboard", "through: cleanup")),
        ),
        (
            "typo in a field",
            Box::new(|d| replace(d, "on-minimal", "through: onboard", "thru: onboard")),
        ),
        (
            "a profile the prerequisite does not have",
            Box::new(|d| replace(d, "on-minimal", "  kind: {}", "  kind: {}\n  test: {}")),
        ),
        (
            "an inherited variable declared again",
            Box::new(|d| {
                replace(
                    d,
                    "on-minimal",
                    "variables:\n",
                    "variables:\n  revision:\n    default: asm-1-24\n",
                )
            }),
        ),
        (
            "a profile sets an inherited variable",
            Box::new(|d| {
                replace(
                    d,
                    "on-minimal",
                    "  kind: {}",
                    "  kind:\n    variables:\n      revision: asm-1-24",
                )
            }),
        ),
        (
            "labs that require each other",
            Box::new(|d| {
                let file = d.join("minimal/lab.yaml");
                let mut text = std::fs::read_to_string(&file).unwrap();
                text.push_str("requires:\n  lab: on-minimal\n  through: client\n");
                std::fs::write(file, text).unwrap();
            }),
        ),
        (
            "the prerequisite is broken",
            Box::new(|d| replace(d, "minimal", "title: A minimal lab", "titel: A minimal lab")),
        ),
    ];
    let mut golden = String::new();
    for (name, edit) in cases {
        let run = validate_edited(&*edit);
        assert_eq!(run.code, 2, "{name}: {}{}", run.stdout, run.stderr);
        assert!(!run.stderr.contains("panicked"), "{name}: {}", run.stderr);
        // One mistake, one message: the inherited variables are not reported as undefined.
        assert!(
            !run.stderr.contains("undefined variable"),
            "{name}: {}",
            run.stderr
        );
        golden.push_str(&format!("==== {name}\n{}\n", run.stderr));
    }
    insta::assert_snapshot!("requires_mistakes", golden);
}

/// `labctl ci tests/labs-ok/on-minimal` on the shared API server, `appNamespace` created first
/// (minimal's step labels it) unless `create` is false.
async fn replay(create: bool) -> (crate::ci::Run, String, String) {
    let cp = ControlPlane::shared().await;
    let admin = cp.client(ADMIN).await;
    let (app, client) = (unique_name("rq-app"), unique_name("rq-client"));
    if create {
        ensure_namespaces(&admin, &[app.clone()].into())
            .await
            .unwrap();
    }
    let kubeconfig = cp.kubeconfig_path(ADMIN);
    let (a, c) = (
        format!("appNamespace={app}"),
        format!("clientNamespace={client}"),
    );
    let args = [
        "tests/labs-ok/on-minimal",
        "--profile",
        "kind",
        "--var",
        &a,
        "--var",
        &c,
        "--kubeconfig",
        kubeconfig.to_str().unwrap(),
        "--timeout",
        "20s",
    ];
    let run = tokio::task::spawn_blocking({
        let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
        move || {
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            labctl_ci(&args, &[])
        }
    })
    .await
    .unwrap();
    (run, app, client)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ci_replays_the_prerequisite_as_setup_then_cleans_up_both() {
    let (run, app, client) = replay(true).await;
    assert_eq!(run.code, 0, "{}", run.stdout);
    // In order: minimal's step as setup, the lab, its cleanup, then minimal's cleanup.
    let order = [
        "▶ minimal 1/2 onboard",
        "▶ 1/2 client",
        "▶ 2/2 cleanup",
        "▶ minimal 2/2 cleanup",
    ];
    assert_in_order(&run.stdout, &order);
    assert!(
        run.stdout
            .contains(&format!("kubectl label namespace {app}"))
    );
    assert!(
        run.stdout
            .contains(&format!("kubectl delete namespace {client}"))
    );
    assert!(
        run.stdout
            .contains(&format!("kubectl delete namespace {app}"))
    );
    for suite in [
        "testsuite name=\"setup minimal/onboard\"",
        "testsuite name=\"client\"",
        "testsuite name=\"cleanup\"",
        "testsuite name=\"cleanup minimal/cleanup\"",
        "classname=\"minimal.onboard\"",
        "<property name=\"prerequisite\" value=\"minimal\"/>",
        "testcase name=\"leftovers\"",
    ] {
        assert!(
            run.junit.contains(suite),
            "{suite} missing in:\n{}",
            run.junit
        );
    }
    // The leftover list watches both labs' objects: it is in the last cleanup, and passed.
    let leftovers = run.junit.find("testcase name=\"leftovers\"").unwrap();
    let last_suite = run.junit.find("cleanup minimal/cleanup").unwrap();
    assert!(leftovers > last_suite, "{}", run.junit);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_setup_step_stops_the_lab_and_names_the_prerequisite() {
    // Nobody created the namespace minimal's step labels: the setup fails.
    let (run, app, _) = replay(false).await;
    assert_eq!(run.code, 1, "{}", run.stdout);
    assert!(
        run.stdout
            .contains(&format!("namespaces \"{app}\" not found")),
        "{}",
        run.stdout
    );
    assert!(
        run.junit
            .contains("step `minimal/onboard` failed before it"),
        "{}",
        run.junit
    );
}

/// A learner with a state folder of their own, on the shared API server.
struct Learner {
    state: tempfile::TempDir,
    kubeconfig: std::path::PathBuf,
    app: String,
}

impl Learner {
    async fn new() -> Learner {
        let cp = ControlPlane::shared().await;
        Learner {
            state: tempfile::tempdir().unwrap(),
            kubeconfig: cp.kubeconfig_path(&cp.fresh_learner()),
            app: unique_name("rq-start"),
        }
    }

    fn start(&self, extra: &[&str]) -> Run {
        let var = format!("appNamespace={}", self.app);
        let mut cmd = crate::cli::command();
        cmd.args([
            "start",
            "tests/labs-ok/on-minimal",
            "--profile",
            "kind",
            "--var",
            &var,
        ])
        .args(extra)
        .env("LABCTL_STATE_DIR", self.state.path())
        .env("KUBECONFIG", &self.kubeconfig);
        Run::of(&mut cmd)
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn start_grades_the_prerequisite_and_refuses_a_missing_base() {
    let cp = ControlPlane::shared().await;
    let admin = cp.client(ADMIN).await;
    let learner = Learner::new().await;

    // The namespace is there but not onboarded: minimal's step `onboard` is not done.
    crate::harness::apply_yaml(&admin, &labelled_namespace(&learner.app, false)).await;
    let refused = tokio::task::block_in_place(|| learner.start(&[]));
    assert_eq!(refused.code, 1, "{}{}", refused.stdout, refused.stderr);
    for needle in [
        "on-minimal builds on minimal: its steps up to `onboard` must be done",
        "✗ 1. onboard",
        &format!(
            "labctl ci minimal --profile kind --var appNamespace={} --keep",
            learner.app
        ),
        &format!(
            "labctl start minimal --profile kind --var appNamespace={}",
            learner.app
        ),
        "--skip-prerequisite",
    ] {
        assert!(
            refused.stdout.contains(needle),
            "{needle:?} missing in:\n{}",
            refused.stdout
        );
    }
    // Nothing was started.
    let status = tokio::task::block_in_place(|| {
        let mut cmd = crate::cli::command();
        cmd.arg("status")
            .env("LABCTL_STATE_DIR", learner.state.path());
        Run::of(&mut cmd)
    });
    assert_ne!(status.code, 0, "{}", status.stdout);

    // --skip-prerequisite starts anyway, and says so.
    let skipped =
        tokio::task::block_in_place(|| learner.start(&["--skip-prerequisite", "--force"]));
    assert_eq!(skipped.code, 0, "{}{}", skipped.stdout, skipped.stderr);
    assert!(
        skipped.stdout.contains("Not checked (--skip-prerequisite)"),
        "{}",
        skipped.stdout
    );

    // Onboarded: the prerequisite passes and the lab starts at its own step 1.
    crate::harness::apply_yaml(&admin, &labelled_namespace(&learner.app, true)).await;
    let started = tokio::task::block_in_place(|| learner.start(&["--force"]));
    assert_eq!(started.code, 0, "{}{}", started.stdout, started.stderr);
    assert!(
        started
            .stdout
            .contains("Required lab minimal is done through step `onboard`"),
        "{}",
        started.stdout
    );
    assert!(
        started.stdout.contains("Step 1/2 · client"),
        "{}",
        started.stdout
    );
}

#[test]
fn start_without_a_reachable_cluster_cannot_check_the_prerequisite() {
    let dir = tempfile::tempdir().unwrap();
    let kubeconfig = dir.path().join("kubeconfig");
    // A cluster nobody listens on.
    std::fs::write(
        &kubeconfig,
        "apiVersion: v1\nkind: Config\ncurrent-context: c\n\
         clusters: [{name: c, cluster: {server: 'https://127.0.0.1:9'}}]\n\
         contexts: [{name: c, context: {cluster: c, user: u}}]\n\
         users: [{name: u, user: {token: secret-token-do-not-print}}]\n",
    )
    .unwrap();
    let mut cmd = crate::cli::command();
    cmd.args(["start", "tests/labs-ok/on-minimal", "--profile", "kind"])
        .env("LABCTL_STATE_DIR", dir.path().join("state"))
        .env("KUBECONFIG", &kubeconfig);
    let run = Run::of(&mut cmd);
    assert_eq!(run.code, 2, "{}{}", run.stdout, run.stderr);
    assert!(
        run.stderr
            .contains("cannot check the required lab `minimal`"),
        "{}",
        run.stderr
    );
    assert!(!run.stderr.contains("secret-token"), "{}", run.stderr);
    assert!(
        !dir.path().join("state").exists()
            || std::fs::read_dir(dir.path().join("state")).unwrap().count() == 0
    );
}
