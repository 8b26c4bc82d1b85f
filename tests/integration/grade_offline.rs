//! The istio-aks lab, and istio-aks-zero-trust which builds on it, graded against their fixture
//! states, in memory: every finished state passes all steps so far, the state before a step
//! fails exactly that step, and every broken state fails its step naming the expected
//! diagnosis. Fast and exact; the live tests repeat the key cases through a real API server.

use crate::fixture_states::State;
use crate::harness::{FixtureLab, Profile, State as FixtureState};
use labctl::eval::facts::StaticFacts;
use labctl::eval::result::Status;
use labctl::grade::run::grade;
use labctl::labfile::lab::StepType;
use labctl::plan::resolve::Plan;
use labctl::report::event::{GradeReport, RunInfo};
use labctl::report::set::ReporterSet;
use labctl::view::query::queries;
use std::path::Path;
use std::sync::LazyLock;

pub fn lab() -> labctl::labfile::lab::Lab {
    lab_named(FixtureLab::ISTIO_AKS)
}

/// The bundled lab with the fixtures of `fixtures` (same name), loaded from `labs/`.
pub fn lab_named(fixtures: FixtureLab) -> labctl::labfile::lab::Lab {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("labs")
        .join(fixtures.0);
    labctl::labfile::load::load(&dir).unwrap_or_else(|e| panic!("{} is valid: {e:?}", fixtures.0))
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

pub(crate) fn grade_state(plan: &Plan, state: &State) -> GradeReport {
    let facts = StaticFacts::offline(
        state.object_set(queries(plan, None)),
        "offline: command checks are not run",
    );
    grade(plan, None, &facts, info(plan), &mut ReporterSet::new())
}

pub(crate) fn describe(report: &GradeReport) -> String {
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

/// The istio-aks step ids, in order, read from the lab (shared by the tests that walk it).
pub static STEPS: LazyLock<Vec<&'static str>> = LazyLock::new(|| {
    let ids = lab().steps.into_iter().map(|s| &*s.id.leak());
    ids.collect()
});

/// The steps that build something: every step but the final cleanup.
pub static WORK_STEPS: LazyLock<Vec<&'static str>> = LazyLock::new(|| {
    let lab = lab();
    let work = lab
        .steps
        .into_iter()
        .filter(|s| s.step_type != StepType::Cleanup);
    work.map(|s| &*s.id.leak()).collect()
});

#[test]
fn each_finished_state_passes_its_steps_and_fails_the_next() {
    finished_states_pass_their_steps_and_fail_the_next(FixtureLab::ISTIO_AKS);
}

#[test]
fn zero_trust_each_finished_state_passes_its_steps_and_fails_the_next() {
    finished_states_pass_their_steps_and_fail_the_next(FixtureLab::ZERO_TRUST);
}

#[test]
fn each_broken_state_fails_its_step_with_the_known_diagnosis() {
    broken_states_fail_their_step_with_the_known_diagnosis(FixtureLab::ISTIO_AKS);
}

#[test]
fn zero_trust_each_broken_state_fails_its_step_with_the_known_diagnosis() {
    broken_states_fail_their_step_with_the_known_diagnosis(FixtureLab::ZERO_TRUST);
}

/// Grades the state after each work step of `fixtures`' lab: that step and all before pass, the
/// next fails; the state after cleanup (nothing of the lab; for a dependent lab, its
/// prerequisite's finished state) passes cleanup and fails every work step.
fn finished_states_pass_their_steps_and_fail_the_next(fixtures: FixtureLab) {
    let lab = lab_named(fixtures);
    let work_steps: Vec<String> = lab
        .steps
        .iter()
        .filter(|s| s.step_type != StepType::Cleanup)
        .map(|s| s.id.clone())
        .collect();
    let cleanup = lab.steps.last().expect("steps").id.clone();
    for profile in Profile::ALL {
        let plan = Plan::new(&lab, Some(profile.as_str()), &[]).unwrap();
        for (n, step) in work_steps.iter().enumerate() {
            let state = State::of_lab(
                fixtures,
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
        // Nothing of the lab left: the cleanup step passes; every other step fails.
        let after_cleanup = State::of_lab(
            fixtures,
            profile,
            &FixtureState::AfterStep(cleanup.clone()),
            &plan.values,
        );
        let report = grade_state(&plan, &after_cleanup);
        let (cleanup, work) = report.steps.split_last().expect("steps");
        assert_eq!(
            cleanup.status,
            Status::Passed,
            "{profile}: after cleanup, cleanup passes:\n{}",
            describe(&report)
        );
        assert!(
            work.len() == work_steps.len() && work.iter().all(|s| s.status == Status::Failed),
            "{profile}: after cleanup, every work step fails:\n{}",
            describe(&report)
        );
    }
}

/// Every broken state of `fixtures` fails its step naming its diagnosis, and the steps before it
/// pass.
fn broken_states_fail_their_step_with_the_known_diagnosis(fixtures: FixtureLab) {
    let lab = lab_named(fixtures);
    let steps: Vec<&str> = lab.steps.iter().map(|s| s.id.as_str()).collect();
    let mut problems = Vec::new();
    for b in &fixtures.index().broken {
        for profile in b.profiles.iter().copied() {
            let plan = Plan::new(&lab, Some(profile.as_str()), &[]).unwrap();
            let state = State::of_lab(
                fixtures,
                profile,
                &FixtureState::Broken(b.name.clone()),
                &plan.values,
            );
            let report = grade_state(&plan, &state);
            let step = report.steps.iter().find(|s| s.id == b.step).unwrap();
            let named: Vec<&str> = step
                .checks
                .iter()
                .flat_map(|c| c.diagnoses.iter().map(|d| d.id.as_str()))
                .collect();
            let idx = steps.iter().position(|s| *s == b.step).unwrap();
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

/// A DestinationRule that turns mTLS off toward the app fails `strict-mtls` from the objects
/// alone (no probe) wherever a client's sidecar would pick it up — the client namespace, the
/// app's, the ingress gateway's, the root namespace — and at any level (the rule, a port, a
/// subset); one that names another service, or a short name meaning another namespace's
/// service, or ISTIO_MUTUAL, does not.
#[test]
fn a_destination_rule_that_turns_mtls_off_fails_strict_mtls_without_probes() {
    let lab = lab();
    let plan = Plan::new(&lab, Some("aks"), &[]).unwrap();
    let v = |k: &str| plan.values[k].clone();
    let finished = State::of(
        Profile::Aks,
        &FixtureState::AfterStep("strict-mtls".into()),
        &plan.values,
    );
    let app = v("appNamespace");
    let fqdn = format!("store-front.{app}.svc.cluster.local");
    let dr = |ns: &str, spec| {
        object(
            "networking.istio.io/v1/DestinationRule",
            ns,
            "no-mtls",
            spec,
        )
    };
    let disable = serde_json::json!({"tls": {"mode": "DISABLE"}});
    let conflicts = [
        dr(
            &v("clientNamespace"),
            serde_json::json!({"host": fqdn, "trafficPolicy": disable}),
        ),
        dr(
            &v("rootNamespace"),
            serde_json::json!({"host": "*.local", "trafficPolicy": disable}),
        ),
        dr(
            &app,
            serde_json::json!({"host": "order-service", "trafficPolicy": {"portLevelSettings": [{"port": {"number": 3000}, "tls": {"mode": "DISABLE"}}]}}),
        ),
        dr(
            &v("ingressNamespace"),
            serde_json::json!({"host": fqdn, "subsets": [{"name": "v1", "trafficPolicy": {"tls": {"mode": "SIMPLE"}}}]}),
        ),
    ];
    let harmless = [
        dr(
            &v("clientNamespace"),
            serde_json::json!({"host": "store-front", "trafficPolicy": disable}),
        ),
        dr(
            &app,
            serde_json::json!({"host": "example.com", "trafficPolicy": disable}),
        ),
        dr(
            &v("rootNamespace"),
            serde_json::json!({"host": fqdn, "trafficPolicy": {"tls": {"mode": "ISTIO_MUTUAL"}}}),
        ),
        dr(
            "elsewhere",
            serde_json::json!({"host": fqdn, "trafficPolicy": disable}),
        ),
    ];
    expect_step(
        &plan,
        &finished,
        "strict-mtls",
        "destination-rules-keep-mtls",
        "destination-rule-disables-tls",
        &conflicts,
        &harmless,
    );
}

/// An object of `what` ("group/version/Kind") as a test adds it to a state.
fn object(what: &str, ns: &str, name: &str, spec: serde_json::Value) -> serde_json::Value {
    let (api_version, kind) = what.rsplit_once('/').unwrap();
    serde_json::json!({
        "apiVersion": api_version,
        "kind": kind,
        "metadata": {"name": name, "namespace": ns},
        "spec": spec,
    })
}

/// Grade the finished state of `step` plus one object at a time (added or replaced): each of
/// `conflicts` must fail `check` naming `diagnosis` (and so the step), each of `harmless` must
/// leave the step passing.
fn expect_step(
    plan: &Plan,
    finished: &State,
    step_id: &str,
    check: &str,
    diagnosis: &str,
    conflicts: &[serde_json::Value],
    harmless: &[serde_json::Value],
) {
    let strict_mtls = |extra: &serde_json::Value| {
        let mut state = finished.clone();
        state.insert(extra.clone());
        let report = grade_state(plan, &state);
        let step = report
            .steps
            .iter()
            .find(|s| s.id == step_id)
            .unwrap()
            .clone();
        (step, describe(&report))
    };
    for extra in conflicts {
        let (step, all) = strict_mtls(extra);
        let c = step.checks.iter().find(|c| c.id == check).unwrap();
        assert_eq!(c.status, Status::Failed, "{extra}:\n{all}");
        let name = extra["metadata"]["name"].as_str().unwrap();
        assert!(c.actual.contains(name), "{}", c.actual);
        assert!(
            c.diagnoses.iter().any(|d| d.id == diagnosis),
            "{extra}:\n{all}"
        );
        assert_eq!(step.status, Status::Failed);
    }
    for extra in harmless {
        let (step, all) = strict_mtls(extra);
        assert_eq!(step.status, Status::Passed, "{extra}:\n{all}");
    }
}

/// A PeerAuthentication that makes an exception to STRICT in the app namespace fails
/// `strict-mtls` from the objects alone: a workload policy that is PERMISSIVE, a port-level
/// DISABLE under a selector, a second namespace-wide PERMISSIVE policy. A port-level exception
/// without a selector (Istio ignores it), a STRICT workload policy, or one elsewhere does not.
#[test]
fn a_peer_authentication_exception_fails_strict_mtls_without_probes() {
    let lab = lab();
    let plan = Plan::new(&lab, Some("kind"), &[]).unwrap();
    let finished = State::of(
        Profile::Kind,
        &FixtureState::AfterStep("strict-mtls".into()),
        &plan.values,
    );
    let app = plan.values["appNamespace"].clone();
    let pa = |ns: &str, spec| {
        object(
            "security.istio.io/v1/PeerAuthentication",
            ns,
            "no-mtls",
            spec,
        )
    };
    let store_front = serde_json::json!({"matchLabels": {"app": "store-front"}});
    let conflicts = [
        pa(
            &app,
            serde_json::json!({"selector": store_front, "mtls": {"mode": "PERMISSIVE"}}),
        ),
        pa(
            &app,
            serde_json::json!({"selector": store_front, "mtls": {"mode": "STRICT"}, "portLevelMtls": {"8080": {"mode": "DISABLE"}}}),
        ),
        pa(&app, serde_json::json!({"mtls": {"mode": "PERMISSIVE"}})),
    ];
    let harmless = [
        pa(
            &app,
            serde_json::json!({"mtls": {"mode": "STRICT"}, "portLevelMtls": {"8080": {"mode": "DISABLE"}}}),
        ),
        pa(
            &app,
            serde_json::json!({"selector": store_front, "mtls": {"mode": "STRICT"}}),
        ),
        pa(
            "elsewhere",
            serde_json::json!({"selector": store_front, "mtls": {"mode": "PERMISSIVE"}}),
        ),
    ];
    expect_step(
        &plan,
        &finished,
        "strict-mtls",
        "no-mtls-exceptions",
        "mtls-exception",
        &conflicts,
        &harmless,
    );
}

/// What the egress probes would show, from the objects alone: a ServiceEntry anywhere that
/// declares the blocked host (or a wildcard over it) reopens egress; the allowed host's entry
/// with port 443 declared as HTTP keeps it unreachable. Another namespace's entry for another
/// host is fine.
#[test]
fn serviceentries_that_defeat_the_egress_probes_fail_egress_without_probes() {
    let lab = lab();
    let plan = Plan::new(&lab, Some("aks"), &[]).unwrap();
    let finished = State::of(
        Profile::Aks,
        &FixtureState::AfterStep("egress".into()),
        &plan.values,
    );
    let se = |ns: &str, name: &str, hosts: &[&str], protocol: &str| {
        let spec = serde_json::json!({"hosts": hosts, "resolution": "DNS", "location": "MESH_EXTERNAL",
            "ports": [{"number": 443, "name": "tls", "protocol": protocol}]});
        object("networking.istio.io/v1/ServiceEntry", ns, name, spec)
    };
    let blocked = plan.values["blockedHost"].clone();
    let app = plan.values["appNamespace"].clone();
    expect_step(
        &plan,
        &finished,
        "egress",
        "no-serviceentry-reopens-egress",
        "blocked-host-declared",
        &[
            se("team-b", "search", &[blocked.as_str()], "TLS"),
            se("team-b", "everything", &["*"], "TLS"),
            se("team-b", "bing", &["*.bing.com"], "TLS"),
        ],
        &[se("team-b", "github", &["api.github.com"], "TLS")],
    );
    // The finished state's own entry, with port 443 declared as HTTP.
    let egress_host = plan.values["egressHost"].clone();
    expect_step(
        &plan,
        &finished,
        "egress",
        "egress-host-allowed",
        "serviceentry-wrong-protocol",
        &[se(
            &app,
            "allow-egress-host",
            &[egress_host.as_str()],
            "HTTP",
        )],
        &[se(
            &app,
            "allow-egress-host",
            &[egress_host.as_str()],
            "HTTPS",
        )],
    );
}

/// istio-proxy as a native sidecar: moved from `containers` to `initContainers` with
/// `restartPolicy: Always`, as recent AKS revisions inject it. The 1.20 test server drops that
/// field, so this layout is only graded in memory.
fn native_sidecar(obj: &mut serde_json::Value) {
    if obj["kind"] != "Pod" {
        return;
    }
    let Some(containers) = obj["spec"]["containers"].as_array_mut() else {
        return;
    };
    let Some(at) = containers.iter().position(|c| c["name"] == "istio-proxy") else {
        return;
    };
    let mut proxy = containers.remove(at);
    proxy["restartPolicy"] = "Always".into();
    match obj["spec"]["initContainers"].as_array_mut() {
        Some(init) => init.push(proxy),
        None => obj["spec"]["initContainers"] = serde_json::json!([proxy]),
    }
}

/// The latent revision mismatch is found in the native sidecar layout too, and the finished
/// state in that layout does not trip the check.
#[test]
fn a_sidecar_from_another_revision_is_found_with_native_sidecars_too() {
    let lab = lab();
    for profile in Profile::ALL {
        let plan = Plan::new(&lab, Some(profile.as_str()), &[]).unwrap();
        let onboard = |state: &FixtureState| {
            let mut s = State::of(profile, state, &plan.values);
            s.map_objects(native_sidecar);
            let report = grade_state(&plan, &s);
            let step = report
                .steps
                .iter()
                .find(|s| s.id == "onboard-mesh")
                .unwrap()
                .clone();
            (step, describe(&report))
        };
        let (finished, all) = onboard(&FixtureState::AfterStep("onboard-mesh".into()));
        assert_eq!(finished.status, Status::Passed, "{profile}:\n{all}");
        let (broken, all) = onboard(&FixtureState::Broken("sidecar-from-other-revision".into()));
        let check = broken
            .checks
            .iter()
            .find(|c| c.id == "sidecars-from-namespace-revision")
            .unwrap();
        assert_eq!(check.status, Status::Failed, "{profile}:\n{all}");
        assert!(
            check
                .actual
                .contains("store-front-5c7f9b8d6d-p4r8s: sidecar from revision asm-1-22"),
            "{}",
            check.actual
        );
        assert_eq!(check.diagnoses[0].id, "upgraded-without-restart");
        let injected = broken
            .checks
            .iter()
            .find(|c| c.id == "app-pods-injected")
            .unwrap();
        assert_eq!(
            injected.status,
            Status::Passed,
            "native sidecars count: {all}"
        );
    }
}
