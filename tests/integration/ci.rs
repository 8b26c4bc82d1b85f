//! `labctl ci` end to end against the real API server and the simulated data plane (the
//! controller manager, the sidecar-injecting webhook and the pod-status "kubelet"):
//!
//! - istio-aks replays on both profiles: every kubectl command of the lab runs as written; the
//!   installer commands run against stand-ins (`tests/ci-sim/bin/az` for the add-on and
//!   `az aks show`, `tests/ci-sim/bin/istioctl` for upstream Istio) that apply the objects the
//!   real installer would create, rendered from the fixtures; remote manifests come from their
//!   declared local stand-ins. Every step must pass and the cleanup must leave nothing behind.
//! - A solve command that fails stops the run with its output in the terminal and JUnit
//!   (golden file), and the steps after it are reported as not run.
//! - Commands that succeed but do not do the job fail the step's checks after the timeout,
//!   with the diagnosis-carrying check output and debug output (events, failing objects).
//! - A cleanup that misses something reports the leftover.
//! - istio-aks-zero-trust, which builds on istio-aks through `egress`, replays on both profiles:
//!   istio-aks's steps as setup, its own six steps, its cleanup, then istio-aks's cleanup, with
//!   nothing left over.

use crate::harness::{
    ADMIN, ControlPlane, FixtureLab, PodStatusDriver, Profile, SidecarInjector, Vars,
    ensure_namespaces, unique_name,
};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

const REPO: &str = env!("CARGO_MANIFEST_DIR");

pub(crate) struct Run {
    pub(crate) code: i32,
    pub(crate) stdout: String,
    pub(crate) junit: String,
}

/// `labctl ci ARGS --junit <tmp>` with `env`; returns exit code, stdout (+stderr) and the JUnit.
pub(crate) fn labctl_ci(args: &[&str], env: &[(&str, &std::ffi::OsStr)]) -> Run {
    let dir = tempfile::tempdir().unwrap();
    let junit = dir.path().join("ci.xml");
    let mut cmd = crate::cli::command();
    cmd.arg("ci").args(args).arg("--junit").arg(&junit);
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().expect("run labctl ci");
    let stdout = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let junit = std::fs::read_to_string(&junit).unwrap_or_default();
    if !junit.is_empty() {
        assert_valid_junit(&junit);
    }
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout,
        junit,
    }
}

fn assert_valid_junit(xml: &str) {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("ci.xml");
    std::fs::write(&file, xml).unwrap();
    crate::tools::assert_valid_junit(&file);
}

/// The folder the stand-ins read: the simulated cluster's facts (its Azure names, the add-on's
/// namespaces, the load balancer address, the istioctl release, its name). What they create they build from
/// the lab's own commands and IstioOperator files, never from the fixtures.
fn simulated_installer(vars: &Vars) -> tempfile::TempDir {
    let sim = tempfile::tempdir().unwrap();
    // The region offers the state's revision for the cluster's Kubernetes 1.33, and two more
    // (asm-1-98, asm-1-100) that are not compatible with it and sort after it: only a lab that
    // picks the newest *compatible* revision gets an add-on (the stand-in refuses the others for
    // Kubernetes 1.33, as Azure does).
    let rev = vars.var("revision");
    let env = format!(
        "RESOURCE_GROUP=rg-ci\nCLUSTER_NAME=aks-ci\nLOCATION=westeurope\nK8S_VERSION=1.33.2\n\
         MESH_REVISIONS=\"asm-1-98=1.30,1.31,1.32 {rev}=1.31,1.32,1.33 asm-1-100=1.34,1.35\"\n\
         MESH_UPGRADES=\"{rev}=asm-1-98\"\n\
         ADDON_ROOT_NAMESPACE={}\nADDON_INGRESS_NAMESPACE={}\nLB_IP=203.0.113.10\nISTIO_VERSION={ISTIO_VERSION}\nSIM_CLUSTER={}\n",
        vars.var("rootNamespace"),
        vars.var("ingressNamespace"),
        // Tests share one API server; to the stand-ins each replay is a cluster of its own.
        unique_name("sim"),
    );
    std::fs::write(sim.path().join("sim.env"), env).unwrap();
    sim
}

/// The istioctl release the kind profile pins (lab.yaml); the stand-in is put where the lab's
/// first step would download it.
const ISTIO_VERSION: &str = "1.27.9";

fn path_with(dir: &Path) -> std::ffi::OsString {
    let mut p = dir.as_os_str().to_owned();
    p.push(":");
    p.push(std::env::var_os("PATH").unwrap_or_default());
    p
}

fn var_args(vars: &Vars) -> Vec<String> {
    vars.iter()
        .flat_map(|(k, v)| ["--var".to_owned(), format!("{k}={v}")])
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn istio_aks_replays_end_to_end_on_the_aks_profile_and_cleans_up() {
    let run = replay_istio_aks(Profile::Aks).await;
    // The az stand-in really ran (the lab's own command lines, parsed and checked by it), step 1
    // picked the newest revision the region offers for the cluster's Kubernetes version (one the
    // lab has never heard of), and the later steps used it, read from the cluster.
    assert_contains(
        &run.stdout,
        &[
            "Newest revision for Kubernetes 1.33 in westeurope: asm-1-97",
            "· revision asm-1-97 (discovered: Deployment istiod-asm-1-97 in",
            "$ az aks mesh enable-ingress-gateway --resource-group rg-ci --name aks-ci",
        ],
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn zero_trust_replays_on_istio_aks_on_the_aks_profile_and_cleans_up_both() {
    let run = replay_zero_trust(Profile::Aks).await;
    assert_contains(
        &run.stdout,
        &[
            "$ az aks mesh enable-ingress-gateway --resource-group rg-ci --name aks-ci --ingress-gateway-type internal",
            "$ az aks update --resource-group rg-ci --name aks-ci --enable-azure-monitor-metrics",
        ],
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn zero_trust_replays_on_istio_aks_on_the_kind_profile_and_cleans_up_both() {
    let run = replay_zero_trust(Profile::Kind).await;
    // The internal gateway came from the lab's IstioOperator, annotated like the add-on's.
    assert_contains(&run.stdout, &["✔ Ingress gateways installed"]);
}

/// Replays istio-aks-zero-trust: istio-aks through egress as setup, the lab, its cleanup, then
/// istio-aks's cleanup; every step passes and nothing is left over.
async fn replay_zero_trust(profile: Profile) -> Run {
    let run = replay_lab(
        profile,
        "istio-aks-zero-trust",
        FixtureLab::ZERO_TRUST,
        "90s",
    )
    .await;
    assert_eq!(run.code, 0, "{}", run.stdout);
    let lab = crate::grade_offline::lab_named(FixtureLab::ZERO_TRUST);
    for step in &lab.steps {
        assert_contains(&run.stdout, &[&format!("✔ {} passed", step.id)]);
    }
    // In order: istio-aks's steps as setup, this lab, its cleanup, istio-aks's cleanup.
    let order = [
        "▶ istio-aks 1/7 enable-addon",
        "▶ istio-aks 6/7 egress",
        "▶ 1/7 identities",
        "▶ 6/7 troubleshooting",
        "▶ 7/7 cleanup",
        "▶ istio-aks 7/7 cleanup",
    ];
    assert_in_order(&run.stdout, &order);
    assert_contains(&run.stdout, &["leftovers: none"]);
    assert!(!run.junit.contains("<failure"), "{}", run.junit);
    assert!(
        run.junit.contains(r#"<testcase name="leftovers""#),
        "{}",
        run.junit
    );
    run
}

/// `az ARGS` (the stand-in) with the simulated region of `sim`: exit code and stdout+stderr.
fn stand_in_az(sim: &Path, args: &[&str]) -> (i32, String) {
    let out = Command::new(Path::new(REPO).join("tests/ci-sim/bin/az"))
        .args(args)
        .env("LABCTL_SIM_DIR", sim)
        .output()
        .expect("run the az stand-in");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.code().unwrap_or(-1), text)
}

#[test]
fn the_az_stand_in_lists_the_revisions_of_the_location_and_kubernetes_version_asked_for() {
    let mut vars = Vars::unique(Profile::Aks);
    vars.insert("revision".into(), "asm-1-99".into());
    let sim = simulated_installer(&vars);
    let list = ["aks", "mesh", "get-revisions", "--location", "westeurope"];
    let (code, json) = stand_in_az(sim.path(), &list);
    assert_eq!(code, 0, "{json}");
    let parsed: serde_json::Value = serde_json::from_str(&json).expect(&json);
    let revisions: Vec<&str> = parsed["meshRevisions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["revision"].as_str().unwrap())
        .collect();
    assert_eq!(revisions, ["asm-1-98", "asm-1-99", "asm-1-100"]);
    assert_eq!(
        parsed["meshRevisions"][0]["compatibleWith"][0]["versions"][2],
        "1.32"
    );
    for (minor, want) in [
        ("1.31", "asm-1-98\nasm-1-99\n"),
        ("1.35", "asm-1-100\n"),
        ("1.28", ""),
    ] {
        let query =
            format!("meshRevisions[?compatibleWith[?contains(versions, '{minor}')]].revision");
        let mut args = list.to_vec();
        args.extend(["--query", &query, "-o", "tsv"]);
        assert_eq!(
            stand_in_az(sim.path(), &args),
            (0, want.to_owned()),
            "{minor}"
        );
    }
    let (code, err) = stand_in_az(
        sim.path(),
        &["aks", "mesh", "get-revisions", "--location", "eastus"],
    );
    assert_eq!(code, 2);
    assert_contains(&err, &["no mesh revisions for location 'eastus'"]);
    // A revision the region does not offer for the cluster's Kubernetes 1.33 is refused.
    let enable = [
        "aks",
        "mesh",
        "enable",
        "--resource-group",
        "rg-ci",
        "--name",
        "aks-ci",
    ];
    let (code, err) = stand_in_az(
        sim.path(),
        &[&enable[..], &["--revision", "asm-1-100"]].concat(),
    );
    assert_eq!(code, 2);
    assert_contains(
        &err,
        &["(InvalidRevision) revision 'asm-1-100' is not supported for Kubernetes 1.33.2"],
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn istio_aks_replays_end_to_end_on_the_kind_profile_and_cleans_up() {
    let run = replay_istio_aks(Profile::Kind).await;
    // The lab's download guard found istioctl in place, and the stand-in installed from the
    // IstioOperator files the lab wrote.
    assert_contains(
        &run.stdout,
        &[
            &format!("client version: {ISTIO_VERSION}"),
            "✔ Istiod installed",
            "✔ Ingress gateways installed",
            "✔ Uninstall complete",
        ],
    );
}

/// A copy of labs/istio-aks (with the check library beside it, where lab.yaml looks for it) whose
/// step file `step_md` has `from` replaced by `to`.
fn istio_aks_with(step_md: &str, from: &str, to: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("labs")).unwrap();
    for (src, dst) in [("labs/istio-aks", "labs/istio-aks"), ("checks", "checks")] {
        let ok = Command::new("cp")
            .arg("-r")
            .arg(Path::new(REPO).join(src))
            .arg(dir.path().join(dst))
            .status()
            .unwrap();
        assert!(ok.success(), "cp -r {src}");
    }
    let md = dir.path().join("labs/istio-aks/steps").join(step_md);
    let text = std::fs::read_to_string(&md).unwrap();
    assert_eq!(text.matches(from).count(), 1, "{step_md} has {from:?} once");
    std::fs::write(&md, text.replace(from, to)).unwrap();
    dir
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_istio_operator_with_the_wrong_gateway_label_fails_the_replay_at_the_ingress_step() {
    // The mistake a lab author makes after an upstream tutorial: the gateway keeps istioctl's
    // default label istio=ingressgateway. The istioctl stand-in builds the gateway from the file,
    // so its pods and Service carry that label, and the step's checks must catch it.
    let lab = istio_aks_with(
        "05-ingress.md",
        r#"label: {istio: "{{ ingressGatewaySelector }}"}"#,
        "label: {istio: ingressgateway}",
    );
    let path = lab.path().join("labs/istio-aks");
    let run = replay(Profile::Kind, path.to_str().unwrap(), "30s").await;
    assert_eq!(run.code, 1, "{}", run.stdout);
    assert_contains(
        &run.stdout,
        &[
            "✔ strict-mtls passed",
            "✘ ingress failed: the checks did not pass in time",
            "✘ ingress-gateway-service",
            "istio label ingressgateway",
            "The gateway's istio label is not",
            "✘ ingress-gateway-pods-ready",
            // the cleanup still ran, the stand-in's uninstall included
            "✔ Uninstall complete",
        ],
    );
    assert!(!run.stdout.contains("✔ ingress passed"), "{}", run.stdout);
}

/// Runs a stand-in (`tests/ci-sim/bin/NAME`) with `args` outside any cluster; returns the exit
/// code and stderr.
fn stand_in(name: &str, args: &[&str]) -> (i32, String) {
    let sim = tempfile::tempdir().unwrap();
    std::fs::write(
        sim.path().join("sim.env"),
        "RESOURCE_GROUP=rg\nCLUSTER_NAME=aks\nADDON_ROOT_NAMESPACE=aks-istio-system\n\
ADDON_INGRESS_NAMESPACE=aks-istio-ingress\nLB_IP=203.0.113.10\nISTIO_VERSION=1.23.6\n",
    )
    .unwrap();
    // kubectl points at no cluster: a stand-in that got past its checks would fail differently.
    let out = Command::new(Path::new(REPO).join("tests/ci-sim/bin").join(name))
        .args(args)
        .env("LABCTL_SIM_DIR", sim.path())
        .env("PATH", "/usr/bin:/bin")
        .env("KUBECONFIG", "/nonexistent")
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn the_installer_stand_ins_check_the_flags_they_are_given() {
    let cluster = ["--resource-group", "rg", "--name", "aks"];
    let az = |extra: &[&str]| {
        let mut args: Vec<&str> = extra.to_vec();
        args.extend(cluster);
        stand_in("az", &args)
    };
    for (args, says) in [
        (
            &["aks", "mesh", "disable-ingress-gateway", "--yes"][..],
            "required: --ingress-gateway-type",
        ),
        (
            &[
                "aks",
                "mesh",
                "disable-ingress-gateway",
                "--ingress-gateway-type",
                "externl",
                "--yes",
            ],
            "invalid choice: 'externl'",
        ),
        (
            &[
                "aks",
                "mesh",
                "disable-ingress-gateway",
                "--ingress-gateway-type",
                "external",
                "--yes",
            ],
            "the external ingress gateway is not enabled",
        ),
        (
            &[
                "aks",
                "mesh",
                "enable",
                "--revision",
                "asm-1-23",
                "--ingress-gateway-type",
                "external",
            ],
            "unrecognized arguments: --ingress-gateway-type",
        ),
        (
            &["aks", "mesh", "enable", "--revision", "1.23"],
            "not a valid Istio add-on revision",
        ),
        (
            &[
                "aks",
                "mesh",
                "enable-ingress-gateway",
                "--ingress-gateway-type",
                "external",
            ],
            "enable the Istio add-on first",
        ),
    ] {
        let (code, err) = az(args);
        assert_eq!(code, 2, "az {args:?}: {err}");
        assert!(err.contains(says), "az {args:?}: {err}");
    }
    let (code, err) = stand_in("az", &["aks", "mesh", "disable", "--yes", "--name", "aks"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("required: --resource-group"), "{err}");

    for (args, says) in [
        (&["uninstall", "-y"][..], "--revision R -y"),
        (
            &["uninstall", "--purge", "-y"],
            "unsupported argument --purge",
        ),
        (&["uninstall", "--revision", "asm-1-23"], "--revision R -y"),
        (&["install", "-y"], "install needs -f FILE"),
        (&["version", "--short"], "unsupported argument --short"),
    ] {
        let (code, err) = stand_in("istioctl", args);
        assert_eq!(code, 2, "istioctl {args:?}: {err}");
        assert!(err.contains(says), "istioctl {args:?}: {err}");
    }
    // An IstioOperator the stand-in cannot model is refused, field by field.
    let dir = tempfile::tempdir().unwrap();
    let iop = dir.path().join("iop.yaml");
    for (spec, says) in [
        (
            "profile: minimal\n  revison: asm-1-23",
            "unknown field(s) in the IstioOperator spec: revison",
        ),
        ("profile: demo", "unsupported profile demo"),
    ] {
        std::fs::write(
            &iop,
            format!("apiVersion: install.istio.io/v1alpha1\nkind: IstioOperator\nmetadata:\n  name: x\nspec:\n  {spec}\n"),
        )
        .unwrap();
        let (code, err) = stand_in("istioctl", &["install", "-y", "-f", iop.to_str().unwrap()]);
        assert_eq!(code, 2, "{spec}: {err}");
        assert!(err.contains(says), "{spec}: {err}");
    }
}

/// Replay istio-aks for `profile` with every kubectl command as written and the installers
/// (az, istioctl) replaced by the stand-ins; every step must pass and nothing may be left over.
async fn replay_istio_aks(profile: Profile) -> Run {
    let run = replay(profile, "istio-aks", "90s").await;
    assert_eq!(run.code, 0, "{}", run.stdout);
    for step in crate::grade_offline::STEPS.iter() {
        assert_contains(&run.stdout, &[&format!("✔ {step} passed")]);
    }
    // Every object the run created is gone, and the remote manifest came from its stand-in.
    assert_contains(
        &run.stdout,
        &[
            "leftovers: none",
            &format!("-f {REPO}/labs/istio-aks/manifests/pets-app.yaml"),
        ],
    );
    // JUnit: one suite per step, a testcase per block and per check, nothing failed.
    assert_eq!(run.junit.matches("<testsuite ").count(), 7, "{}", run.junit);
    assert!(!run.junit.contains("<failure"), "{}", run.junit);
    assert!(
        run.junit.contains(r#"<testcase name="leftovers""#),
        "{}",
        run.junit
    );
    run
}

/// `labctl ci LAB` (istio-aks or a changed copy of it) for `profile` on the shared control plane,
/// with unique namespaces, the stand-ins for az and istioctl, and `timeout` per step.
async fn replay(profile: Profile, lab: &str, timeout: &str) -> Run {
    replay_lab(profile, lab, FixtureLab::ISTIO_AKS, timeout).await
}

/// [`replay`] of a lab whose variables (beyond istio-aks's) are those of `fixtures`' index, with
/// every `*Namespace` variable unique and watched by the pod-status driver.
async fn replay_lab(profile: Profile, lab: &str, fixtures: FixtureLab, timeout: &str) -> Run {
    replay_full(profile, lab, fixtures, timeout, &[], &[]).await
}

/// [`replay`] with `vars` set on top of the test's (variables a lab requiring istio-aks adds, or
/// other values for istio-aks's), and istioctl also in `$HOME/istio-<v>/bin` for each of
/// `istio_versions` (a lab that upgrades downloads the next release there).
pub(crate) async fn replay_with(
    profile: Profile,
    lab: &str,
    timeout: &str,
    vars_set: &[(&str, &str)],
    istio_versions: &[&str],
) -> Run {
    replay_full(
        profile,
        lab,
        FixtureLab::ISTIO_AKS,
        timeout,
        vars_set,
        istio_versions,
    )
    .await
}

/// The replay itself: [`replay_lab`]'s variables, then [`replay_with`]'s.
async fn replay_full(
    profile: Profile,
    lab: &str,
    fixtures: FixtureLab,
    timeout: &str,
    vars_set: &[(&str, &str)],
    istio_versions: &[&str],
) -> Run {
    let cp = ControlPlane::shared().await;
    let admin = cp.client(ADMIN).await;
    let mut vars = fixtures.unique(profile);
    // aks: a revision the lab has never heard of, which step 1 picks and later steps discover.
    if profile == Profile::Aks {
        vars.insert("revision".into(), "asm-1-97".into());
        let mesh = crate::harness::render(profile.mesh_config_map_template(), &vars);
        vars.insert("meshConfigMap".into(), mesh);
    }
    for (k, v) in vars_set {
        vars.insert(k.to_string(), v.to_string());
    }
    if vars_set.iter().any(|(k, _)| *k == "revision") {
        let mesh = crate::harness::render(profile.mesh_config_map_template(), &vars);
        vars.insert("meshConfigMap".into(), mesh);
    }
    // What the add-on / istiod brings that the fixtures leave out: the revision's injector webhook.
    SidecarInjector::install_revision(&admin, vars.var("revision")).await;
    // The client namespace stands for `default`, which every cluster has.
    let client_ns: BTreeSet<String> = [vars.var("clientNamespace").to_owned()].into();
    ensure_namespaces(&admin, &client_ns).await.unwrap();
    let mut namespaces: Vec<String> = vars
        .iter()
        .filter(|(name, _)| name.ends_with("Namespace"))
        .map(|(_, ns)| ns.clone())
        .collect();
    // The managed Prometheus agent (az stand-in) runs in kube-system.
    if fixtures != FixtureLab::ISTIO_AKS && profile == Profile::Aks {
        namespaces.push("kube-system".into());
    }
    let ns_refs: Vec<&str> = namespaces.iter().map(String::as_str).collect();
    let _kubelet = PodStatusDriver::start(cp, &ns_refs);
    let sim = simulated_installer(&vars);
    // kind: $HOME/istio-<version>/bin/istioctl, where the lab's step 1 would download it.
    let home = tempfile::tempdir().unwrap();
    for version in std::iter::once(ISTIO_VERSION).chain(istio_versions.iter().copied()) {
        let istio_bin = home.path().join(format!("istio-{version}/bin"));
        std::fs::create_dir_all(&istio_bin).unwrap();
        std::os::unix::fs::symlink(
            Path::new(REPO).join("tests/ci-sim/bin/istioctl"),
            istio_bin.join("istioctl"),
        )
        .unwrap();
    }
    let kubeconfig = cp.kubeconfig_path(ADMIN);
    let istio_version = format!("istioVersion={ISTIO_VERSION}");
    let mut args: Vec<String> = [
        lab,
        "--profile",
        profile.as_str(),
        "--kubeconfig",
        kubeconfig.to_str().unwrap(),
        "--var",
        "resourceGroup=rg-ci",
        "--var",
        "clusterName=aks-ci",
        "--var",
        &istio_version,
        "--use-stand-ins",
        // Probe pods never run on this server (no kubelet); tests/integration/probes.rs covers them.
        "--no-probes",
        "--timeout",
        timeout,
        "--command-timeout",
        "90s",
    ]
    .map(String::from)
    .to_vec();
    // aks: the revision is left to the lab (step 1 picks it, labctl reads it from the cluster).
    let mut given = vars.clone();
    if profile == Profile::Aks && !vars_set.iter().any(|(k, _)| *k == "revision") {
        given.remove("revision");
        given.remove("meshConfigMap");
    }
    args.extend(var_args(&given));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    // aks: `az` comes from the PATH; kind: istioctl from $HOME, as the lab puts it there.
    let path = match profile {
        Profile::Aks => path_with(&PathBuf::from(REPO).join("tests/ci-sim/bin")),
        Profile::Kind => std::env::var_os("PATH").unwrap_or_default(),
    };
    labctl_ci(
        &args,
        &[
            ("PATH", &path),
            ("HOME", home.path().as_os_str()),
            ("LABCTL_SIM_DIR", sim.path().as_os_str()),
        ],
    )
}

/// `labctl ci` on a minimal lab (a path) for namespace `ns`, against the admin's kubeconfig.
fn minimal_ci(cp: &ControlPlane, lab: &Path, ns: &str, timeout: &str, extra: &[&str]) -> Run {
    let kubeconfig = cp.kubeconfig_path(ADMIN);
    let var = format!("appNamespace={ns}");
    let mut args = vec![
        lab.to_str().unwrap(),
        "--profile",
        "kind",
        "--var",
        &var,
        "--kubeconfig",
        kubeconfig.to_str().unwrap(),
        "--timeout",
        timeout,
    ];
    args.extend_from_slice(extra);
    labctl_ci(&args, &[])
}

/// Each of `needles` appears in `text`, in this order.
pub(crate) fn assert_in_order(text: &str, needles: &[&str]) {
    let mut at = 0;
    for n in needles {
        let found = text[at..]
            .find(n)
            .unwrap_or_else(|| panic!("{n:?} missing or out of order in:\n{text}"));
        at += found + n.len();
    }
}

fn assert_contains(text: &str, needles: &[&str]) {
    for n in needles {
        assert!(text.contains(n), "missing {n:?} in:\n{text}");
    }
}

/// A copy of `tests/labs-ok/minimal` with its step Markdown replaced.
fn minimal_lab_with(onboard_md: &str, cleanup_md: Option<&str>) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let lab = dir.path().join("minimal");
    std::fs::create_dir_all(lab.join("steps")).unwrap();
    let src = Path::new(REPO).join("tests/labs-ok/minimal");
    std::fs::copy(src.join("lab.yaml"), lab.join("lab.yaml")).unwrap();
    std::fs::write(lab.join("steps/01-onboard.md"), onboard_md).unwrap();
    let cleanup = match cleanup_md {
        Some(c) => c.to_owned(),
        None => std::fs::read_to_string(src.join("steps/02-cleanup.md")).unwrap(),
    };
    std::fs::write(lab.join("steps/02-cleanup.md"), cleanup).unwrap();
    dir
}

fn filters(ns: &str) -> Vec<(String, String)> {
    vec![
        (regex_escape(ns), "[namespace]".into()),
        (r#"time="[0-9.]+""#.into(), r#"time="[t]""#.into()),
        (
            r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z".into(),
            "[timestamp]".into(),
        ),
        (r"in \d+(\.\d+)?(ms|s)\b".into(), "in [duration]".into()),
    ]
}

fn regex_escape(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_string()
            } else {
                format!("\\{c}")
            }
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_solve_command_stops_the_run_with_its_output_in_the_report() {
    let cp = ControlPlane::shared().await;
    let ns = unique_name("ci-missing");
    // The minimal lab labels a namespace that, here, nobody created: kubectl fails.
    let run = minimal_ci(cp, Path::new("tests/labs-ok/minimal"), &ns, "5s", &[]);
    assert_eq!(run.code, 1, "{}", run.stdout);
    assert_contains(
        &run.stdout,
        &[
            &format!("namespaces \"{ns}\" not found"),
            "✘ block 1 failed with exit code 1",
            "✘ onboard failed: a command failed",
        ],
    );
    let owned = filters(&ns);
    let filters: Vec<(&str, &str)> = owned
        .iter()
        .map(|(a, b)| (a.as_str(), b.as_str()))
        .collect();
    insta::with_settings!({ filters => filters }, {
        insta::assert_snapshot!("ci_failing_solve_junit", run.junit);
    });
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn commands_that_do_not_do_the_job_fail_the_checks_with_diagnosis_and_debug_output() {
    let cp = ControlPlane::shared().await;
    let admin = cp.client(ADMIN).await;
    let ns = unique_name("ci-unlabelled");
    ensure_namespaces(&admin, &[ns.clone()].into())
        .await
        .unwrap();
    // The author's solve block forgot the label: it only looks.
    let lab = minimal_lab_with(
        "# Onboard\n\n```bash solve\nkubectl get namespace {{ appNamespace }}\n```\n",
        None,
    );
    let run = minimal_ci(cp, &lab.path().join("minimal"), &ns, "2s", &[]);
    assert_eq!(run.code, 1, "{}", run.stdout);
    assert_contains(
        &run.stdout,
        &[
            "✘ onboard failed: the checks did not pass in time",
            "✘ namespace-labelled",
            "expected:",
            "debug output:",
            "objects selected by failing check namespace-labelled",
            &format!("name: {ns}"),
            // The cleanup still ran and removed the namespace, which existed before the run.
            "✔ cleanup passed",
            "leftovers: none",
        ],
    );
    assert!(run.junit.contains("<system-err>"), "{}", run.junit);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cleanup_that_misses_an_object_reports_it_as_a_leftover() {
    let cp = ControlPlane::shared().await;
    let lab = minimal_lab_with(
        "# Onboard\n\n```bash solve\nkubectl create namespace {{ appNamespace }}\n\
kubectl label namespace {{ appNamespace }} istio.io/rev={{ revision }}\n```\n",
        Some("# Clean up\n\n```bash solve\necho 'forgot to delete the namespace'\n```\n"),
    );
    let lab = lab.path().join("minimal");
    let ns = unique_name("ci-leftover");
    let run = minimal_ci(cp, &lab, &ns, "2s", &[]);
    assert_eq!(run.code, 1, "{}", run.stdout);
    assert_contains(
        &run.stdout,
        &[
            "✔ onboard passed",
            "1 object(s) created by the run are still there after the cleanup",
            &format!("  Namespace {ns}\n"),
        ],
    );
    assert_contains(&run.junit, &[&format!("Namespace {ns}"), "<failure"]);

    // With --keep there is no cleanup at all, and no leftover report.
    let ns2 = unique_name("ci-keep");
    let run = minimal_ci(cp, &lab, &ns2, "2s", &["--keep"]);
    assert_eq!(run.code, 0, "{}", run.stdout);
    assert_contains(&run.stdout, &["leftovers: not checked"]);
    assert_eq!(run.junit.matches("<testsuite ").count(), 1, "{}", run.junit);
    let admin = cp.client(ADMIN).await;
    let namespaces: kube::Api<k8s_openapi::api::core::v1::Namespace> = kube::Api::all(admin);
    for n in [&ns, &ns2] {
        let _ = namespaces.delete(n, &Default::default()).await;
    }
}

#[test]
fn refuses_early_what_cannot_run() {
    // aks commands need the Azure names; nothing is run, no cluster is contacted.
    let out = crate::cli::command()
        .args([
            "ci",
            "istio-aks",
            "--profile",
            "aks",
            "--kubeconfig",
            "/nonexistent",
        ])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{err}");
    assert!(
        err.contains("--var clusterName=… --var resourceGroup=…")
            || err.contains("--var resourceGroup=…"),
        "{err}"
    );
    let out = crate::cli::command()
        .args(["ci", "istio-aks", "--profile", "kind", "--from", "cleanup"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3));
    assert!(String::from_utf8_lossy(&out.stderr).contains("that is the cleanup step"));
    let out = crate::cli::command()
        .args(["ci", "istio-aks", "--profile", "kind", "--from", "ingres"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3));
    assert!(String::from_utf8_lossy(&out.stderr).contains("did you mean `ingress`"));
}

#[test]
fn an_unreachable_cluster_is_could_not_grade_and_no_token_is_printed() {
    let dir = tempfile::tempdir().unwrap();
    let kubeconfig = dir.path().join("dead.yaml");
    let port = crate::harness::free_port();
    std::fs::write(
        &kubeconfig,
        format!(
            "apiVersion: v1\nkind: Config\nclusters: [{{name: c, cluster: {{server: \"https://127.0.0.1:{port}\"}}}}]\n\
users: [{{name: u, user: {{token: secret-token-do-not-print}}}}]\n\
contexts: [{{name: dead, context: {{cluster: c, user: u}}}}]\ncurrent-context: dead\n"
        ),
    )
    .unwrap();
    let out = crate::cli::command()
        .args(["ci", "tests/labs-ok/minimal", "--kubeconfig"])
        .arg(&kubeconfig)
        .output()
        .unwrap();
    let all = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(out.status.code(), Some(2), "{all}");
    assert!(
        all.contains(&format!("connection refused at https://127.0.0.1:{port}")),
        "{all}"
    );
    assert!(!all.contains("secret-token"), "{all}");
    // Nothing ran: the commands never reached bash.
    assert!(!all.contains("$ kubectl"), "{all}");
}
