//! Benchmark (ignored; run it with `bash scripts/bench.sh`, see `benches/README.md`):
//! `labctl grade istio-aks` on the finished istio-aks state versus the hand-written way to grade
//! the same lab, a bash script with one `kubectl get` (and a `jq` test) per check, generated from
//! the same plan in two variants of resource naming ([`Naming`]).
//!
//! All run against the same fixture control plane in the same test run, each as a user of its
//! own, so the API server's audit log tells their requests apart. Runs are interleaved (labctl,
//! then each script, N times) so that any drift of the machine hits all alike. Printed: every
//! run's wall time and requests, the medians, and the ratios.
//!
//! Speed is measured, never asserted. The test fails only when the comparison would be
//! meaningless or labctl misbehaves: labctl's grade does not pass, labctl sends anything but
//! get/list/watch or more than one LIST per (resource, namespace) in a run, or the generated
//! baseline does not pass either (its jq tests approximate the checks; on the finished state
//! they must all hold).

use crate::harness::{
    ADMIN, AuditEvent, ControlPlane, Profile, Vars, apply_finished_state,
    assert_reads_listing_once, fixture_control_plane,
};
use labctl::labfile::lab::{Body, CountOp, Quantifier, ResourceExpect, Selector, StepType};
use labctl::plan::resolve::Plan;
use serde_json::Value;
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

/// Runs per tool (`LABCTL_BENCH_RUNS` overrides; at least 1).
const DEFAULT_RUNS: usize = 5;

pub(crate) fn runs() -> usize {
    std::env::var("LABCTL_BENCH_RUNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(DEFAULT_RUNS)
        .max(1)
}

/// `$LABCTL_KUBECTL`, else `/usr/bin/kubectl` if present, else `kubectl` (as the harness does).
pub(crate) fn kubectl_program() -> PathBuf {
    std::env::var_os("LABCTL_KUBECTL")
        .map(PathBuf::from)
        .or_else(|| Some(PathBuf::from("/usr/bin/kubectl")).filter(|p| p.exists()))
        .unwrap_or_else(|| PathBuf::from("kubectl"))
}

/// `<target dir>/bench`: generated files live in the build directory, never in the work tree.
pub(crate) fn bench_dir() -> PathBuf {
    let exe = Path::new(crate::cli::BIN);
    // <target>/<profile>/labctl
    exe.parent()
        .and_then(Path::parent)
        .unwrap_or(Path::new("target"))
        .join("bench")
}

/// One timed run of one tool, and what it sent.
struct Run {
    wall: Duration,
    events: Vec<AuditEvent>,
}

pub(crate) fn median(mut d: Vec<Duration>) -> Duration {
    d.sort();
    let n = d.len();
    if n % 2 == 1 {
        d[n / 2]
    } else {
        (d[n / 2 - 1] + d[n / 2]) / 2
    }
}

pub(crate) fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1000.0)
}

/// Discovery = requests without a resource (`/api`, `/apis`, `/api/v1`, `/apis/<g>/<v>`, ...).
fn is_discovery(e: &AuditEvent) -> bool {
    e.resource.is_empty()
}

/// "12 (discovery 4, list 8)": total and a breakdown by kind of request.
pub(crate) fn breakdown(events: &[AuditEvent]) -> String {
    let mut by: BTreeMap<String, usize> = BTreeMap::new();
    for e in events {
        let key = if is_discovery(e) {
            "discovery".to_owned()
        } else {
            e.verb.clone()
        };
        *by.entry(key).or_default() += 1;
    }
    let parts: Vec<String> = by.iter().map(|(k, n)| format!("{k} {n}")).collect();
    format!("{} ({})", events.len(), parts.join(", "))
}

/// The audit events of `user` that are new since `seen` (updated).
pub(crate) async fn new_events(cp: &ControlPlane, user: &str, seen: &mut usize) -> Vec<AuditEvent> {
    let all = cp.audit_events(user).await;
    let fresh = all[*seen..].to_vec();
    *seen = all.len();
    fresh
}

/// Bash single-quoting.
fn sq(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

/// How the generated script names resources for `kubectl get`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Naming {
    /// `<plural>` (core) / `<plural>.<version>.<group>`: fully qualified, resolved from kubectl's
    /// discovery cache without a miss. The main baseline.
    Qualified,
    /// `<kind>` (core) / `<kind>.<group>`, as scripts are commonly written. For a group with a
    /// dot (every Istio CRD here) kubectl first reads the argument as
    /// `<resource>.<version>.<group>`, misses, and throws its whole discovery cache away before
    /// retrying (kubernetes/kubernetes#96430): a full rediscovery per such call.
    KindGroup,
}

impl Naming {
    pub(crate) fn script_name(self) -> &'static str {
        match self {
            Naming::Qualified => "grade-kubectl.sh",
            Naming::KindGroup => "grade-kubectl-kind-group.sh",
        }
    }
}

/// (apiVersion, kind) -> plural resource name, from the API server's discovery.
pub(crate) type Plurals = BTreeMap<(String, String), String>;

/// The plural of every kind the plan's checks select.
pub(crate) async fn plurals(client: &kube::Client, plan: &Plan) -> Plurals {
    let mut out = Plurals::new();
    for pc in plan.steps.iter().flat_map(|s| &s.checks) {
        let Body::Resource(b) = &pc.check.body else {
            continue;
        };
        let sel = &b.selector;
        let key = (sel.api_version.clone(), sel.kind.clone());
        if out.contains_key(&key) {
            continue;
        }
        let (group, version) = sel
            .api_version
            .split_once('/')
            .unwrap_or(("", sel.api_version.as_str()));
        let gvk = kube::api::GroupVersionKind::gvk(group, version, &sel.kind);
        let (ar, _) = kube::discovery::pinned_kind(client, &gvk)
            .await
            .unwrap_or_else(|e| panic!("discover {}/{}: {e}", sel.api_version, sel.kind));
        out.insert(key, ar.plural);
    }
    out
}

/// The `kubectl get` resource argument for a selector.
fn kubectl_resource(sel: &Selector, naming: Naming, plurals: &Plurals) -> String {
    let split = sel.api_version.split_once('/');
    match naming {
        Naming::Qualified => {
            let plural = &plurals[&(sel.api_version.clone(), sel.kind.clone())];
            match split {
                Some((group, version)) => format!("{plural}.{version}.{group}"),
                None => plural.clone(),
            }
        }
        Naming::KindGroup => {
            let kind = sel.kind.to_ascii_lowercase();
            match split {
                Some((group, _)) => format!("{kind}.{group}"),
                None => kind,
            }
        }
    }
}

/// The generic per-object jq predicate for a check's `match` and `cel` (for checks without a
/// [`hand_written_predicate`]). `match` becomes jq's `contains` (recursive partial match, like
/// labctl's); of CEL only the helpers `isReady` and `hasSidecar` are translated (`!hasSidecar`
/// negated); anything else in the expression is left out, and the script says so in a comment.
/// (Untranslated, the predicate is `true`, or `false` under quantifier `none`: an approximated
/// check only costs its request.)
fn jq_predicate(sel: &Selector, expect: &ResourceExpect) -> (String, Option<String>) {
    let mut parts = Vec::new();
    let mut untranslated = None;
    if let Some(m) = &expect.match_ {
        parts.push(format!("contains({m})"));
    }
    if let Some(cel) = &expect.cel {
        let mut translated = false;
        if cel.contains("isReady(object)") {
            translated = true;
            parts.push(
                if sel.kind == "Pod" {
                    POD_READY
                } else {
                    WORKLOAD_READY
                }
                .to_owned(),
            );
        }
        if cel.contains("hasSidecar(object)") {
            translated = true;
            parts.push(if cel.contains("!hasSidecar(object)") {
                format!("({SIDECAR} | not)")
            } else {
                SIDECAR.to_owned()
            });
        }
        let only_helpers = cel
            .replace("has(object.metadata.deletionTimestamp) ||", "")
            .replace("!hasSidecar(object)", "")
            .replace("hasSidecar(object)", "")
            .replace("isReady(object)", "")
            .replace(['(', ')', '|', '&', ' ', '\n'], "")
            .is_empty();
        if !translated || !only_helpers {
            untranslated = Some(cel.split_whitespace().collect::<Vec<_>>().join(" "));
        }
    }
    let pred = if untranslated.is_some() && expect.quantifier == Quantifier::None {
        // "no object is bad", with "bad" not translated: vacuously true, like the rest.
        "false".to_owned()
    } else if parts.is_empty() {
        "true".to_owned()
    } else {
        parts.join(" and ")
    };
    (pred, untranslated)
}

/// jq for the lab's CEL expressions beyond `isReady`/`hasSidecar`, written the way the author of
/// a grading script would (keyed by check id; `values` are the plan's variables). Checks not
/// listed here fall back to [`jq_predicate`]'s generic translation.
fn hand_written_predicate(check_id: &str, values: &BTreeMap<String, String>) -> Option<String> {
    let var = |name: &str| values.get(name).cloned().unwrap_or_default();
    let (app, host) = (var("appNamespace"), var("egressHost"));
    Some(match check_id {
        "app-pods-injected" => format!(
            r#"(.metadata.deletionTimestamp != null) or ((.status.phase // "") | IN("Succeeded", "Failed")) or ({SIDECAR} and {POD_READY})"#
        ),
        "ingress-gateway-service" => r#"((.status.loadBalancer.ingress // []) | length > 0)"#.into(),
        "pets-route-bound" => format!(
            r#"any(.spec.gateways[]?; . == "pets-gateway" or . == "{app}/pets-gateway") and any(.spec.hosts[]?; . == "*")"#
        ),
        "pets-route-destination" => format!(
            r#"any(.spec.http[]?; any(.route[]?; (.destination.host | IN("store-front", "store-front.{app}", "store-front.{app}.svc", "store-front.{app}.svc.cluster.local")) and (.destination.port == null or .destination.port.number == 80)))"#
        ),
        "mesh-config-registry-only" => {
            r#"((.data.mesh // "") | test("outboundTrafficPolicy:\\s*\\{?\\s*mode:\\s*[\"']?REGISTRY_ONLY"))"#.into()
        }
        "egress-host-allowed" => format!(
            r#".spec.hosts == ["{host}"] and any(.spec.ports[]?; .number == 443) and ((.spec.location // "MESH_EXTERNAL") == "MESH_EXTERNAL")"#
        ),
        "egress-allowlist-exact" => format!(r#"any(.spec.hosts[]?; . != "{host}")"#),
        _ => return None,
    })
}

/// jq: the pod runs the istio-proxy sidecar (a container, or a native sidecar init container).
const SIDECAR: &str = r#"any((.spec.containers[]?.name), (.spec.initContainers[]? | select(.restartPolicy == "Always") | .name); . == "istio-proxy")"#;
/// jq: the pod's Ready condition is True.
const POD_READY: &str = r#"any(.status.conditions[]?; .type == "Ready" and .status == "True")"#;
/// jq: a Deployment/StatefulSet has all its (at least one) replicas ready.
const WORKLOAD_READY: &str =
    r#"((.spec.replicas // 1) > 0 and (.status.readyReplicas // 0) >= (.spec.replicas // 1))"#;

/// The whole jq filter for one check (run with `jq -se`: the slurped kubectl output, `[]` when
/// `--ignore-not-found` printed nothing). Quantifier and count as labctl combines them.
fn jq_filter(
    sel: &Selector,
    expect: &ResourceExpect,
    hand_written: Option<String>,
) -> (String, Option<String>) {
    let objs = "(.[0] // {items: []}) | (if has(\"items\") then .items else [.] end)";
    if expect.absent {
        return (format!("{objs} | length == 0"), None);
    }
    let (pred, untranslated) = match hand_written {
        Some(cel) => {
            let m = expect
                .match_
                .as_ref()
                .map(|m| format!("contains({m}) and "));
            (format!("{}({cel})", m.unwrap_or_default()), None)
        }
        None => jq_predicate(sel, expect),
    };
    let quantified = match expect.quantifier {
        Quantifier::All => "$n == $total and $total > 0",
        Quantifier::Any => "$n > 0",
        Quantifier::None => "$n == 0",
    };
    let counted = match expect.count {
        None => String::new(),
        Some(c) => {
            let op = match c.op {
                CountOp::Eq => "==",
                CountOp::Ge => ">=",
                CountOp::Le => "<=",
                CountOp::Gt => ">",
                CountOp::Lt => "<",
            };
            format!(" and $n {op} {}", c.n)
        }
    };
    (
        format!(
            "{objs} | (length) as $total | ([.[] | select({pred})] | length) as $n | {quantified}{counted}"
        ),
        untranslated,
    )
}

/// What the generated script covers.
pub(crate) struct Baseline {
    pub(crate) script: String,
    resource_checks: usize,
    skipped: Vec<String>,
    approximated: usize,
}

/// The hand-written grading script for `plan` (steps other than cleanup, as `labctl grade` by
/// default): one `kubectl get ... -o json | jq` per resource check, in lab order, a check used in
/// several steps checked in each (as labctl reports it in each). Diagnoses are not part of it: a
/// script like this checks, it does not explain. Command checks with unset variables are skipped
/// as labctl skips them.
pub(crate) fn generate_baseline(plan: &Plan, naming: Naming, plurals: &Plurals) -> Baseline {
    let mut out = String::new();
    let steps: Vec<&str> = plan
        .steps
        .iter()
        .filter(|s| s.step_type != StepType::Cleanup)
        .map(|s| s.id.as_str())
        .collect();
    writeln!(
        out,
        "#!/usr/bin/env bash\n\
         # GENERATED by tests/integration/bench.rs (scripts/bench.sh) -- do not edit, do not commit.\n\
         #\n\
         # Lab {lab}, profile {profile}, steps {steps}: the way a hand-written grading script checks\n\
         # it, one `kubectl get` per check and a jq test approximating the check's expectation\n\
         # (same API calls as a faithful script, not labctl's exact semantics).\n\
         # Resource names: {naming:?} (see Naming in tests/integration/bench.rs).\n\
         #\n\
         # Usage: KUBECTL=/usr/bin/kubectl bash {script} [kubectl flags, e.g. --kubeconfig F]\n\
         # Exit status: the number of failed checks (0: all passed).\n\
         set -uo pipefail\n\
         K=(\"${{KUBECTL:-kubectl}}\" \"$@\")\n\
         failed=0\n\
         check() {{ # check <id> <jq filter> <kubectl get arguments...>\n\
         \x20   local id=$1 filter=$2\n\
         \x20   shift 2\n\
         \x20   if \"${{K[@]}}\" get \"$@\" -o json | jq -se \"$filter\" >/dev/null; then\n\
         \x20       echo \"PASS $id\"\n\
         \x20   else\n\
         \x20       echo \"FAIL $id\"\n\
         \x20       failed=$((failed + 1))\n\
         \x20   fi\n\
         }}",
        lab = plan.lab,
        profile = plan.profile,
        steps = steps.join(", "),
        script = naming.script_name(),
    )
    .unwrap();
    let mut resource_checks = 0;
    let mut skipped = Vec::new();
    let mut approximated = 0;
    for step in plan
        .steps
        .iter()
        .filter(|s| s.step_type != StepType::Cleanup)
    {
        writeln!(out, "\n# step {}", step.id).unwrap();
        for pc in &step.checks {
            let c = &pc.check;
            if !pc.missing.is_empty() {
                writeln!(
                    out,
                    "# skipped {}: needs {} (labctl skips it too)",
                    c.id,
                    pc.missing.join(", ")
                )
                .unwrap();
                skipped.push(format!("{}/{}", step.id, c.id));
                continue;
            }
            let (sel, expect) = match &c.body {
                Body::Resource(b) => (&b.selector, &b.expect),
                Body::Command(b) => {
                    // Not in this lab's aks plan with the bench's variables; keep it honest anyway.
                    writeln!(
                        out,
                        "if bash -c {} >/dev/null 2>&1; then echo \"PASS {id}\"; else echo \"FAIL {id}\"; failed=$((failed + 1)); fi",
                        sq(&b.command.run),
                        id = c.id
                    )
                    .unwrap();
                    continue;
                }
                Body::Probe(_) | Body::Distribution(_) => {
                    // Pods never run on the test server: the bench grades with --no-probes.
                    writeln!(
                        out,
                        "# skipped {}: probe (labctl runs with --no-probes)",
                        c.id
                    )
                    .unwrap();
                    skipped.push(format!("{}/{}", step.id, c.id));
                    continue;
                }
            };
            resource_checks += 1;
            let hand_written = expect
                .cel
                .as_ref()
                .and_then(|_| hand_written_predicate(&c.id, &plan.values));
            let (filter, untranslated) = jq_filter(sel, expect, hand_written);
            if let Some(cel) = untranslated {
                approximated += 1;
                writeln!(out, "# {}: CEL not translated: {cel}", c.id).unwrap();
            }
            let mut args = vec![kubectl_resource(sel, naming, plurals)];
            match (&sel.namespace, &sel.name) {
                (Some(ns), _) => args.extend(["-n".to_owned(), sq(ns)]),
                (None, None) if sel.kind != "Namespace" => args.push("-A".to_owned()),
                (None, _) => {}
            }
            match (&sel.name, &sel.labels) {
                (Some(name), _) => args.push(sq(name)),
                (None, Some(labels)) => args.extend(["-l".to_owned(), sq(labels)]),
                (None, None) => {}
            }
            if expect.absent {
                args.push("--ignore-not-found".to_owned());
            }
            writeln!(
                out,
                "check {} {} {}",
                sq(&format!("{}/{}", step.id, c.id)),
                sq(&filter),
                args.join(" ")
            )
            .unwrap();
        }
    }
    writeln!(out, "\nexit $((failed > 125 ? 125 : failed))").unwrap();
    Baseline {
        script: out,
        resource_checks,
        skipped,
        approximated,
    }
}

/// One `labctl grade` run of this build; panics unless it exits 0 with every check passed or
/// skipped.
fn run_labctl(kubeconfig: &Path, vars: &Vars) -> Duration {
    run_labctl_program(Path::new(crate::cli::BIN), kubeconfig, vars)
}

/// [`run_labctl`] with another `labctl` binary (an older build).
pub(crate) fn run_labctl_program(program: &Path, kubeconfig: &Path, vars: &Vars) -> Duration {
    let mut cmd = crate::cli::command_for(program);
    cmd.args(["grade", "istio-aks", "--profile", "aks", "--kubeconfig"])
        .arg(kubeconfig)
        .args(["-o", "json", "--timeout", "20s", "--no-probes"])
        .env_remove("KUBECONFIG");
    for (k, v) in vars.iter() {
        cmd.arg("--var").arg(format!("{k}={v}"));
    }
    let start = Instant::now();
    let out = cmd.output().expect("run labctl");
    let wall = start.elapsed();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let report: Value = serde_json::from_str(&stdout).unwrap_or(Value::Null);
    assert!(
        out.status.success()
            && report["status"] == "passed"
            && report["summary"]["failed"] == 0
            && report["summary"]["errors"] == 0,
        "labctl grade did not pass the finished state (exit {:?}):\n{stdout}\n{}",
        out.status.code(),
        String::from_utf8_lossy(&out.stderr)
    );
    wall
}

/// One run of the generated script; panics unless every check passed.
pub(crate) fn run_baseline(
    script: &Path,
    kubectl: &Path,
    kubeconfig: &Path,
    cache_dir: &Path,
) -> Duration {
    let start = Instant::now();
    let out = Command::new("bash")
        .arg(script)
        .arg("--kubeconfig")
        .arg(kubeconfig)
        .arg("--cache-dir")
        .arg(cache_dir)
        .env("KUBECTL", kubectl)
        .env_remove("KUBECONFIG")
        .output()
        .expect("run bash");
    let wall = start.elapsed();
    assert!(
        out.status.success(),
        "the kubectl baseline {} did not pass the finished state (exit {:?}): its jq tests \
         approximate the checks and must hold there\n{}\n{}",
        script.display(),
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    wall
}

/// labctl's requests in one run: only reads, at most one LIST per (resource, namespace).
pub(crate) fn assert_labctl_requests(
    run: usize,
    events: &[AuditEvent],
) -> BTreeMap<(String, String), usize> {
    assert_reads_listing_once(&format!("labctl run {run}"), events)
}

/// What the benchmarks start from: the finished istio-aks state (profile aks, after the last
/// work step, egress) in namespaces of its own on the fixture control plane, the plan labctl
/// grades there (turned into the hand-written scripts), the plurals the scripts name, the
/// directory they are written to, and the kubectl they run.
pub(crate) struct Setup {
    pub(crate) cp: &'static ControlPlane,
    pub(crate) vars: Vars,
    pub(crate) plan: Plan,
    pub(crate) plurals: Plurals,
    pub(crate) dir: PathBuf,
    pub(crate) kubectl: PathBuf,
}

pub(crate) async fn setup() -> Setup {
    require_jq();
    let cp = fixture_control_plane().await;
    let admin = cp.client(ADMIN).await;
    let vars = apply_finished_state(&admin, Profile::Aks).await;
    let plan = graded_plan(&vars);
    let plurals = plurals(&admin, &plan).await;
    let dir = bench_dir();
    std::fs::create_dir_all(&dir).expect("create the bench directory");
    Setup {
        cp,
        vars,
        plan,
        plurals,
        dir,
        kubectl: kubectl_program(),
    }
}

/// The scripts test kubectl's answers with jq.
fn require_jq() {
    let jq = Command::new("jq").arg("--version").output();
    assert!(
        jq.is_ok_and(|o| o.status.success()),
        "jq is missing: run `bash scripts/bench.sh`, which installs it"
    );
}

/// The plan `labctl grade istio-aks --profile aks` grades with `vars` (without cleanup, as
/// `labctl grade` by default).
fn graded_plan(vars: &Vars) -> Plan {
    let lab_dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("labs/istio-aks");
    let lab = labctl::labfile::load::load(&lab_dir)
        .unwrap_or_else(|d| panic!("load {}: {d:?}", lab_dir.display()));
    let overrides: Vec<(String, String)> =
        vars.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
    let mut plan = Plan::new(&lab, Some("aks"), &overrides).expect("plan istio-aks for aks");
    plan.steps.retain(|s| s.step_type != StepType::Cleanup);
    plan
}

/// One contender: its runs, the user it runs as, and what else it needs.
struct Contender {
    label: String,
    user: String,
    seen: usize,
    runs: Vec<Run>,
    /// For the bash baselines: the script, its kubectl cache directory, what it covers.
    baseline: Option<(PathBuf, tempfile::TempDir, Baseline)>,
}

impl Contender {
    fn median(&self) -> Duration {
        median(self.runs.iter().map(|r| r.wall).collect())
    }
    /// The requests of the last run (warm, for kubectl).
    fn warm(&self) -> &[AuditEvent] {
        &self.runs[self.runs.len() - 1].events
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "benchmark: run with `bash scripts/bench.sh` (release build, prints a table)"]
async fn bench_grade_vs_kubectl_per_check() {
    let runs = runs();
    let Setup {
        cp,
        vars,
        plan,
        plurals,
        dir,
        kubectl,
    } = setup().await;
    let labctl_queries = labctl::view::query::queries(&plan, None).len();

    let mut contenders = vec![Contender {
        label: "`labctl grade istio-aks`".into(),
        user: cp.fresh_learner(),
        seen: 0,
        runs: Vec::new(),
        baseline: None,
    }];
    for (naming, label) in [
        (
            Naming::Qualified,
            "bash, one `kubectl get` per check (`<plural>.<version>.<group>`)",
        ),
        (
            Naming::KindGroup,
            "bash, one `kubectl get` per check (`<kind>.<group>`)",
        ),
    ] {
        let baseline = generate_baseline(&plan, naming, &plurals);
        let script = dir.join(naming.script_name());
        std::fs::write(&script, &baseline.script).expect("write a kubectl baseline");
        let cache = tempfile::tempdir().expect("kubectl cache dir");
        contenders.push(Contender {
            label: label.into(),
            user: cp.fresh_learner(),
            seen: 0,
            runs: Vec::new(),
            baseline: Some((script, cache, baseline)),
        });
    }
    for c in &mut contenders {
        let _ = new_events(cp, &c.user, &mut c.seen).await;
    }

    // Interleaved: labctl, then each baseline, `runs` times.
    for i in 1..=runs {
        for c in &mut contenders {
            let kubeconfig = cp.kubeconfig_path(&c.user);
            let wall = match &c.baseline {
                None => run_labctl(&kubeconfig, &vars),
                Some((script, cache, _)) => {
                    run_baseline(script, &kubectl, &kubeconfig, cache.path())
                }
            };
            let events = new_events(cp, &c.user, &mut c.seen).await;
            if c.baseline.is_none() {
                assert_labctl_requests(i, &events);
            }
            c.runs.push(Run { wall, events });
        }
    }

    // Report.
    let build = if cfg!(debug_assertions) {
        "DEBUG build: run `bash scripts/bench.sh` (--release) for numbers worth quoting"
    } else {
        "release build"
    };
    let cores = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(0);
    let (_, _, main_baseline) = contenders[1].baseline.as_ref().unwrap();
    let mut t = String::new();
    writeln!(
        t,
        "\n== labctl grade vs. one kubectl call per check ({build}, {cores} cores, {runs} runs each, interleaved) =="
    )
    .unwrap();
    writeln!(
        t,
        "lab istio-aks, profile aks, finished state (after egress); steps graded: {}",
        plan.steps
            .iter()
            .map(|s| s.id.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    )
    .unwrap();
    writeln!(
        t,
        "labctl: {labctl_queries} queries (checks and diagnoses, one per kind and namespace); \
         baselines: {} resource checks ({} with CEL only approximated), skipped as by labctl: {}",
        main_baseline.resource_checks,
        main_baseline.approximated,
        if main_baseline.skipped.is_empty() {
            "none".to_owned()
        } else {
            main_baseline.skipped.join(", ")
        }
    )
    .unwrap();
    writeln!(
        t,
        "kubectl: {} (each baseline with a discovery cache of its own, cold in run 1); scripts: {}",
        kubectl.display(),
        dir.display()
    )
    .unwrap();
    writeln!(t, "\nper run (wall time, API requests):").unwrap();
    for c in &contenders {
        writeln!(t, "  {}", c.label).unwrap();
        for (i, r) in c.runs.iter().enumerate() {
            writeln!(
                t,
                "    run {}: {:>10}  {}",
                i + 1,
                ms(r.wall),
                breakdown(&r.events)
            )
            .unwrap();
        }
    }
    let labctl_median = contenders[0].median();
    writeln!(
        t,
        "\n| tool | median wall time | x labctl | requests per run | run 1 (cold kubectl cache) |\n|---|---:|---:|---|---|"
    )
    .unwrap();
    for c in &contenders {
        let ratio = c.median().as_secs_f64() / labctl_median.as_secs_f64().max(1e-9);
        writeln!(
            t,
            "| {} | {} | {:.1}x | {} | {} |",
            c.label,
            ms(c.median()),
            ratio,
            breakdown(c.warm()),
            if c.baseline.is_some() {
                breakdown(&c.runs[0].events)
            } else {
                "(no cache)".to_owned()
            }
        )
        .unwrap();
    }
    let ratio = contenders[1].median().as_secs_f64() / labctl_median.as_secs_f64().max(1e-9);
    writeln!(
        t,
        "\nspeed-up over the fully qualified kubectl baseline: {ratio:.1}x (goal >= 20x: {}; measured, not asserted)",
        if ratio >= 20.0 { "met" } else { "NOT met" }
    )
    .unwrap();
    let lists = assert_labctl_requests(runs, contenders[0].warm());
    writeln!(
        t,
        "labctl's LISTs in one run ({}; at most one per resource and namespace: checked):",
        lists.values().sum::<usize>()
    )
    .unwrap();
    for ((resource, ns), n) in &lists {
        let ns = if ns.is_empty() { "all namespaces" } else { ns };
        writeln!(t, "  {n} x {resource} in {ns}").unwrap();
    }
    println!("{t}");
}
