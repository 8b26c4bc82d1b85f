//! The istio-aks lab graded against its fixture states, in memory: every finished state passes
//! all steps so far, the state before a step fails exactly that step, and every broken state
//! fails its step naming the expected diagnosis. Fast and exact; the live tests repeat the key
//! cases through a real API server.

use crate::fixture_states::State;
use crate::harness::{FixtureIndex, Profile, State as FixtureState};
use labctl::eval::facts::StaticFacts;
use labctl::eval::result::Status;
use labctl::grade::run::grade;
use labctl::plan::resolve::Plan;
use labctl::report::event::{GradeReport, RunInfo};
use labctl::view::query::queries;
use std::path::Path;

pub fn lab() -> labctl::spec::lab::Lab {
    labctl::spec::load::load(&Path::new(env!("CARGO_MANIFEST_DIR")).join("labs/istio-aks"))
        .expect("istio-aks is valid")
}

pub fn info(plan: &Plan) -> RunInfo {
    RunInfo {
        lab: plan.lab.clone(),
        title: plan.title.clone(),
        profile: plan.profile.clone(),
        revision: plan.values.get("revision").cloned(),
        context: None,
        snapshot: Some("fixtures".into()),
        learner: None,
        started_at: "2026-11-23T10:00:00Z".into(),
        warnings: Vec::new(),
        discovered: Vec::new(),
    }
}

fn grade_state(plan: &Plan, state: &State) -> GradeReport {
    let facts = StaticFacts::offline(
        state.object_set(queries(plan, None)),
        "offline: command checks are not run",
    );
    grade(plan, None, &facts, info(plan), &mut []).unwrap()
}

fn describe(report: &GradeReport) -> String {
    let mut s = String::new();
    for step in &report.steps {
        s.push_str(&format!("{} {:?}\n", step.id, step.status));
        for c in step
            .checks
            .iter()
            .filter(|c| c.status != Status::Passed && c.status != Status::Skipped)
        {
            s.push_str(&format!(
                "  {} {:?}: {}\n    {}\n    diagnoses: {:?}\n",
                c.id,
                c.status,
                c.expected,
                c.actual.replace('\n', "\n    "),
                c.diagnoses.iter().map(|d| &d.id).collect::<Vec<_>>()
            ));
            if let Some(m) = &c.message {
                s.push_str(&format!("    message: {m}\n"));
            }
        }
    }
    s
}

/// The istio-aks step ids, in order (shared by the tests that walk the lab).
pub const STEPS: [&str; 7] = [
    "enable-addon",
    "deploy-app",
    "onboard-mesh",
    "strict-mtls",
    "ingress",
    "egress",
    "cleanup",
];

#[test]
fn each_finished_state_passes_its_steps_and_fails_the_next() {
    let lab = lab();
    for profile in Profile::ALL {
        let plan = Plan::new(&lab, Some(profile.as_str()), &[]).unwrap();
        for (n, step) in STEPS.iter().enumerate().take(6) {
            let state = State::of(
                profile,
                &FixtureState::AfterStep(step.to_string()),
                &plan.values,
            );
            let report = grade_state(&plan, &state);
            for done in &report.steps[..=n] {
                assert_eq!(
                    done.status,
                    Status::Passed,
                    "{profile}: after {step}, step {} should pass:\n{}",
                    done.id,
                    describe(&report)
                );
            }
            let next = &report.steps[n + 1];
            assert_eq!(
                next.status,
                Status::Failed,
                "{profile}: after {step}, the next step {} should fail:\n{}",
                next.id,
                describe(&report)
            );
        }
        // Nothing left: the cleanup step passes; every other step fails.
        let report = grade_state(&plan, &State::default());
        assert_eq!(
            report.steps[6].status,
            Status::Passed,
            "{profile}: empty cluster passes cleanup:\n{}",
            describe(&report)
        );
        assert!(
            report.steps[..6].iter().all(|s| s.status == Status::Failed),
            "{profile}: empty cluster:\n{}",
            describe(&report)
        );
    }
}

#[test]
fn each_broken_state_fails_its_step_with_the_known_diagnosis() {
    let lab = lab();
    let mut problems = Vec::new();
    for b in &FixtureIndex::get().broken {
        for profile in b.profiles.iter().copied() {
            let plan = Plan::new(&lab, Some(profile.as_str()), &[]).unwrap();
            let report = grade_state(
                &plan,
                &State::of(profile, &FixtureState::Broken(b.name.clone()), &plan.values),
            );
            let step = report.steps.iter().find(|s| s.id == b.step).unwrap();
            let named: Vec<&str> = step
                .checks
                .iter()
                .flat_map(|c| c.diagnoses.iter().map(|d| d.id.as_str()))
                .collect();
            let idx = STEPS.iter().position(|s| *s == b.step).unwrap();
            let earlier_ok = report.steps[..idx]
                .iter()
                .all(|s| s.status == Status::Passed);
            if step.status != Status::Failed
                || !named.contains(&b.diagnosis.as_str())
                || !earlier_ok
            {
                problems.push(format!("{profile}/{}: step {} {:?}, expected diagnosis `{}`, named {named:?}, earlier steps pass: {earlier_ok}\n{}", b.name, b.step, step.status, b.diagnosis, describe(&report)));
            }
        }
    }
    assert!(
        problems.is_empty(),
        "{} broken states graded wrong:\n{}",
        problems.len(),
        problems.join("\n")
    );
}
