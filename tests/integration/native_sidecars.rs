//! istio-aks graded with native sidecars: `istio-proxy` as an init container with
//! `restartPolicy: Always` (native sidecar mode, the add-on's default on recent AKS versions and
//! revisions) instead of an entry in `spec.containers`.
//!
//! The test API server (Kubernetes 1.20) drops `initContainers[].restartPolicy`, so it cannot hold
//! such a pod. These tests therefore grade objects converted after the fact, with
//! [`make_sidecar_native`]: every fixture state in memory, and the bundled snapshots of the
//! finished lab (captured from the fixture states on the real server, kept current by
//! `bundled.rs`) through `labctl grade --snapshot`, as a learner or instructor would.

use crate::cli::Run;
use crate::fixture_states::{State, make_sidecar_native};
use crate::grade_offline::{WORK_STEPS, info, lab};
use crate::harness::{FixtureIndex, Profile, State as FixtureState};
use labctl::eval::facts::StaticFacts;
use labctl::grade::run::grade;
use labctl::plan::resolve::Plan;
use labctl::report::event::GradeReport;
use labctl::report::set::ReporterSet;
use labctl::view::query::queries;
use serde_json::Value;
use std::path::Path;

fn grade_state(plan: &Plan, state: &State) -> GradeReport {
    let facts = StaticFacts::offline(state.object_set(queries(plan, None)), "offline");
    grade(plan, None, &facts, info(plan), &mut ReporterSet::new())
}

/// Per step: its status and, per check, the status and the diagnoses named.
fn verdicts(report: &GradeReport) -> Vec<String> {
    report
        .steps
        .iter()
        .flat_map(|s| {
            std::iter::once(format!("{} {:?}", s.id, s.status)).chain(s.checks.iter().map(|c| {
                let d: Vec<&str> = c.diagnoses.iter().map(|d| d.id.as_str()).collect();
                format!("  {} {:?} {d:?}", c.id, c.status)
            }))
        })
        .collect()
}

#[test]
fn every_fixture_state_grades_the_same_with_native_sidecars() {
    let lab = lab();
    let mut states: Vec<(Profile, FixtureState)> = Vec::new();
    for profile in Profile::ALL {
        for step in WORK_STEPS.iter() {
            states.push((profile, FixtureState::AfterStep(step.to_string())));
        }
    }
    for b in &FixtureIndex::get().broken {
        for profile in b.profiles.iter().copied() {
            states.push((profile, FixtureState::Broken(b.name.clone())));
        }
    }
    let mut converted_states = 0;
    for (profile, fixture) in states {
        let plan = Plan::new(&lab, Some(profile.as_str()), &[]).unwrap();
        let classic = State::of(profile, &fixture, &plan.values);
        let native = classic.with_native_sidecars();
        if native.pods_with_native_sidecars() > 0 {
            converted_states += 1;
        }
        assert_eq!(
            verdicts(&grade_state(&plan, &native)),
            verdicts(&grade_state(&plan, &classic)),
            "{profile}/{fixture}: native sidecars grade differently"
        );
    }
    // Every state from onboard-mesh on has injected pods, on both profiles.
    assert!(
        converted_states >= 8,
        "only {converted_states} states had sidecars to convert"
    );
}

/// `labctl grade istio-aks --snapshot FILE -o OUTPUT`: exit code and stdout.
fn grade_snapshot(file: &Path, output: &str) -> (i32, String) {
    let run = Run::of(
        crate::cli::command()
            .args(["grade", "istio-aks", "--snapshot"])
            .arg(file)
            .args(["-o", output]),
    );
    (run.code, run.all())
}

/// A bundled finished snapshot with every sidecar made native; also how many pods changed.
fn native_snapshot(profile: Profile) -> (Value, usize) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join(format!("labs/istio-aks/snapshots/finished-{profile}.json"));
    let mut snapshot: Value =
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let mut converted = 0;
    for list in snapshot["lists"].as_array_mut().unwrap() {
        for item in list["items"].as_array_mut().into_iter().flatten() {
            converted += usize::from(make_sidecar_native(item));
        }
    }
    (snapshot, converted)
}

#[test]
fn the_finished_lab_with_native_sidecars_passes_from_a_snapshot() {
    for profile in Profile::ALL {
        let (snapshot, converted) = native_snapshot(profile);
        // the app's four pods and curl-inside; gateway pods keep their only container
        assert_eq!(converted, 5, "{profile}: pods converted");
        let text = serde_json::to_string(&snapshot).unwrap();
        assert!(text.contains(r#""restartPolicy":"Always""#));
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("native.json");
        std::fs::write(&file, &text).unwrap();
        let (code, json) = grade_snapshot(&file, "json");
        assert_eq!(code, 0, "{profile}: {json}");
        let report: Value = serde_json::from_str(&json).unwrap();
        let steps: Vec<(&str, &str)> = report["steps"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| (s["id"].as_str().unwrap(), s["status"].as_str().unwrap()))
            .collect();
        assert!(
            steps.iter().all(|(_, st)| *st == "passed"),
            "{profile}: {steps:?}"
        );
    }
}

#[test]
fn a_native_sidecar_that_is_not_ready_is_shown_as_one() {
    // store-front's native sidecar is not ready: the pod is not Ready, the app pods check fails,
    // and its actual text counts the sidecar among the pod's containers and names its layout.
    let (mut snapshot, _) = native_snapshot(Profile::Aks);
    let store_front = snapshot["lists"]
        .as_array_mut()
        .unwrap()
        .iter_mut()
        .filter(|l| l["kind"] == "Pod")
        .flat_map(|l| l["items"].as_array_mut().unwrap().iter_mut())
        .find(|p| p["metadata"]["labels"]["app"] == "store-front")
        .expect("a store-front pod");
    store_front["status"]["initContainerStatuses"]
        .as_array_mut()
        .unwrap()
        .iter_mut()
        .filter(|s| s["name"] == "istio-proxy")
        .for_each(|s| s["ready"] = Value::Bool(false));
    for c in store_front["status"]["conditions"].as_array_mut().unwrap() {
        if c["type"] == "Ready" || c["type"] == "ContainersReady" {
            c["status"] = Value::String("False".into());
        }
    }
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("native.json");
    std::fs::write(&file, serde_json::to_string(&snapshot).unwrap()).unwrap();
    let (code, text) = grade_snapshot(&file, "text");
    assert_eq!(code, 1, "{text}");
    assert!(text.contains("✘ app-pods-injected"), "{text}");
    assert!(
        text.contains(
            "1/2 containers ready, istio-proxy present (native sidecar: init container with restartPolicy Always)"
        ),
        "{text}"
    );
}
