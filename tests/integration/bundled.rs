//! Snapshots shipped in the repository, captured by `labctl snapshot` from a real API server
//! holding fixture states with the lab's default variables:
//! - `labs/istio-aks/snapshots/finished-{aks,kind}.json`: a finished lab (the README's main job
//!   grades one with no cluster);
//! - `labs/istio-aks-zero-trust/snapshots/finished-{aks,kind}.json`: the lab built on it, finished
//!   (its fixture states start from istio-aks's finished one);
//! - `tests/snapshots/mode-permissive-aks.json`: a known mistake, for golden output.
//!
//! The test re-captures each one and checks that grading the fresh capture and the bundled file
//! gives the same result. `LABCTL_BLESS=1` rewrites the bundled files.

use crate::harness::{
    ADMIN, ControlPlane, ControlPlaneOptions, FixtureLab, Profile, State, try_apply_lab_state,
};
use std::path::{Path, PathBuf};

fn labctl(args: &[&str]) -> (i32, String, String) {
    let out = crate::cli::command().args(args).output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Per step and check: (step, check, status), the part of a report that must not drift.
fn verdicts(json: &str) -> Vec<(String, String, String)> {
    let v: serde_json::Value = serde_json::from_str(json).unwrap_or_else(|e| panic!("{e}: {json}"));
    let mut out = Vec::new();
    for s in v["steps"].as_array().unwrap() {
        for c in s["checks"].as_array().unwrap() {
            out.push((
                s["id"].as_str().unwrap().into(),
                c["id"].as_str().unwrap().into(),
                c["status"].as_str().unwrap().into(),
            ));
        }
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bundled_snapshots_are_current_and_grade_as_expected() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let cases = [
        (
            FixtureLab::ISTIO_AKS,
            Profile::Aks,
            State::AfterStep("egress".into()),
            "labs/istio-aks/snapshots/finished-aks.json",
            0,
        ),
        (
            FixtureLab::ISTIO_AKS,
            Profile::Kind,
            State::AfterStep("egress".into()),
            "labs/istio-aks/snapshots/finished-kind.json",
            0,
        ),
        (
            FixtureLab::ISTIO_AKS,
            Profile::Aks,
            State::Broken("mode-permissive".into()),
            "tests/snapshots/mode-permissive-aks.json",
            1,
        ),
        (
            FixtureLab::ZERO_TRUST,
            Profile::Aks,
            State::AfterStep("troubleshooting".into()),
            "labs/istio-aks-zero-trust/snapshots/finished-aks.json",
            0,
        ),
        (
            FixtureLab::ZERO_TRUST,
            Profile::Kind,
            State::AfterStep("troubleshooting".into()),
            "labs/istio-aks-zero-trust/snapshots/finished-kind.json",
            0,
        ),
    ];
    let bless = std::env::var_os("LABCTL_BLESS").is_some();
    for (lab, profile, state, bundled, want) in cases {
        // A private server per case: default variables name fixed namespaces (`pets`, ...).
        let cp = ControlPlane::start(ControlPlaneOptions {
            controller_manager: false,
            istio_crds: true,
        })
        .await;
        let admin = cp.client(ADMIN).await;
        try_apply_lab_state(&admin, lab, profile, &state, &lab.defaults(profile))
            .await
            .unwrap_or_else(|e| panic!("{} {state}: {e}", lab.0));
        let dir = tempfile::tempdir().unwrap();
        let fresh: PathBuf = dir.path().join("snapshot.json");
        let kubeconfig = cp.kubeconfig_path(ADMIN);
        let (code, _, err) = labctl(&[
            "snapshot",
            lab.0,
            "--profile",
            profile.as_str(),
            "--kubeconfig",
            kubeconfig.to_str().unwrap(),
            "-o",
            fresh.to_str().unwrap(),
        ]);
        assert_eq!(code, 0, "snapshot {state}: {err}");
        let text = std::fs::read_to_string(&fresh).unwrap();
        assert!(
            !text.contains("\"kind\": \"Secret\""),
            "snapshots never hold Secrets"
        );
        if bless {
            std::fs::write(root.join(bundled), &text).unwrap();
        }
        let (fresh_code, fresh_json, e1) = labctl(&[
            "grade",
            lab.0,
            "--snapshot",
            fresh.to_str().unwrap(),
            "-o",
            "json",
        ]);
        let (bundled_code, bundled_json, e2) =
            labctl(&["grade", lab.0, "--snapshot", bundled, "-o", "json"]);
        assert_eq!(fresh_code, want, "{state} fresh: {e1}\n{fresh_json}");
        assert_eq!(
            bundled_code, want,
            "{bundled} is stale (rerun with LABCTL_BLESS=1): {e2}\n{bundled_json}"
        );
        assert_eq!(
            verdicts(&fresh_json),
            verdicts(&bundled_json),
            "{bundled} is stale: rerun with LABCTL_BLESS=1"
        );
    }
}

/// Golden text, JUnit and JSON output of grading a known mistake (durations and times redacted).
#[test]
fn golden_output_of_a_failed_grade() {
    let dir = tempfile::tempdir().unwrap();
    let junit = dir.path().join("r.xml");
    let json = dir.path().join("r.json");
    let snap = "tests/snapshots/mode-permissive-aks.json";
    let (code, text, err) = labctl(&[
        "grade",
        "istio-aks",
        "--snapshot",
        snap,
        "--junit",
        junit.to_str().unwrap(),
        "--json",
        json.to_str().unwrap(),
        "--learner",
        "ada",
    ]);
    assert_eq!(code, 1, "{err}");
    let filters = vec![
        (r"\d+(\.\d+)?(ms|s)\b", "[duration]"),
        (r#"time="[0-9.]+""#, r#"time="[t]""#),
        (r#""durationMs": \d+"#, r#""durationMs": [t]"#),
        (r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z", "[timestamp]"),
        (r"labctl \d+\.\d+\.\d+", "labctl [version]"),
    ];
    insta::with_settings!({ filters => filters }, {
        insta::assert_snapshot!("grade_mode_permissive_text", text);
        insta::assert_snapshot!("grade_mode_permissive_junit", std::fs::read_to_string(&junit).unwrap());
        insta::assert_snapshot!("grade_mode_permissive_json", std::fs::read_to_string(&json).unwrap());
    });
    // The JUnit file is valid against the schema CI systems use.
    crate::tools::assert_valid_junit(&junit);
}

#[test]
fn the_main_job_grades_the_bundled_finished_lab() {
    for profile in ["aks", "kind"] {
        let (code, text, err) = labctl(&[
            "grade",
            "istio-aks",
            "--snapshot",
            &format!("labs/istio-aks/snapshots/finished-{profile}.json"),
        ]);
        assert_eq!(code, 0, "{text}{err}");
        assert!(text.contains("6/6 steps passed"), "{text}");
    }
    let (code, _, err) = labctl(&[
        "grade",
        "istio-aks",
        "--snapshot",
        "labs/istio-aks/snapshots/finished-aks.json",
        "--profile",
        "kind",
    ]);
    assert_eq!(code, 3, "{err}");
    assert!(err.contains("captured for profile `aks`"), "{err}");
}
