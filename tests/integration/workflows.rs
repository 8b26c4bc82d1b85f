//! The GitHub Actions workflows: actionlint (with shellcheck on every `run:` script) finds
//! nothing, and each workflow does what the README and the content-CI design promise — CI runs
//! the README's test command, the kind and AKS workflows replay istio-aks with `labctl ci` and
//! publish its JUnit, and the AKS workflow deletes its cluster whatever happened.

use serde_json::Value;
use std::path::Path;
use std::process::Command;

const REPO: &str = env!("CARGO_MANIFEST_DIR");

fn workflow(name: &str) -> (String, Value) {
    let path = Path::new(REPO).join(".github/workflows").join(name);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let yaml: Value = serde_saphyr::from_str(&text).unwrap_or_else(|e| panic!("{name}: {e}"));
    (text, yaml)
}

/// Every step of every job.
fn steps(w: &Value) -> Vec<&Value> {
    w["jobs"]
        .as_object()
        .into_iter()
        .flat_map(|jobs| jobs.values())
        .flat_map(|job| job["steps"].as_array().into_iter().flatten())
        .collect()
}

fn runs(w: &Value) -> String {
    steps(w)
        .iter()
        .filter_map(|s| s["run"].as_str())
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn actionlint_finds_nothing_in_the_workflows() {
    // scripts/test.sh installs actionlint (PyPI) and exports its path; a test that quietly
    // skipped without it could never fail.
    let actionlint = std::env::var("LABCTL_ACTIONLINT").unwrap_or_else(|_| "actionlint".into());
    let out = Command::new(&actionlint)
        .current_dir(REPO)
        .arg("-no-color")
        .output()
        .unwrap_or_else(|e| {
            panic!("cannot run {actionlint} ({e}): run the tests with `bash scripts/test.sh`, which installs it")
        });
    assert!(
        out.status.success(),
        "actionlint:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn ci_runs_fmt_clippy_with_warnings_denied_and_the_readme_test_command() {
    let readme = std::fs::read_to_string(Path::new(REPO).join("README.md")).unwrap();
    // The README's first code block: line 1 the main job, line 2 the tests.
    let block = readme.split("```").nth(1).expect("README has a code block");
    let test_line = block
        .lines()
        .nth(2)
        .expect("second command in the README block");
    let test_command = test_line.split('#').next().unwrap().trim();
    let (_, ci) = workflow("ci.yml");
    let runs = runs(&ci);
    for needed in ["cargo fmt --all -- --check", "-D warnings", test_command] {
        assert!(
            runs.contains(needed),
            "ci.yml does not run {needed:?}:\n{runs}"
        );
    }
}

#[test]
fn lab_workflows_replay_istio_aks_and_publish_junit() {
    for (file, profile) in [("labs-kind.yml", "kind"), ("labs-aks.yml", "aks")] {
        let (_, w) = workflow(file);
        let runs = runs(&w);
        assert!(
            runs.contains(&format!("labctl ci istio-aks --profile {profile} --junit")),
            "{file} does not replay istio-aks:\n{runs}"
        );
        let uses: Vec<&str> = steps(&w)
            .iter()
            .filter_map(|s| s["uses"].as_str())
            .collect();
        for action in ["actions/upload-artifact@", "mikepenz/action-junit-report@"] {
            let step = steps(&w)
                .into_iter()
                .find(|s| s["uses"].as_str().is_some_and(|u| u.starts_with(action)))
                .unwrap_or_else(|| panic!("{file} does not use {action}: {uses:?}"));
            assert_eq!(
                step["if"], "always()",
                "{file}: {action} must run after a failure too"
            );
        }
        assert_eq!(
            w["permissions"]["checks"], "write",
            "{file}: publishing a check needs checks: write"
        );
    }
    let (_, kind) = workflow("labs-kind.yml");
    assert!(
        runs(&kind).contains("cloud-provider-kind"),
        "kind needs LoadBalancer support"
    );

    let (_, aks) = workflow("labs-aks.yml");
    assert!(
        aks["on"].get("workflow_dispatch").is_some() && aks["on"].as_object().unwrap().len() == 1,
        "labs-aks.yml costs money: manual dispatch only"
    );
    assert_eq!(
        aks["permissions"]["id-token"], "write",
        "Azure login through OIDC"
    );
    let login = steps(&aks)
        .into_iter()
        .find(|s| {
            s["uses"]
                .as_str()
                .is_some_and(|u| u.starts_with("azure/login@"))
        })
        .expect("azure/login");
    assert!(
        login["with"].get("client-secret").is_none() && login["with"].get("creds").is_none(),
        "OIDC, not a secret"
    );
    let delete = steps(&aks)
        .into_iter()
        .find(|s| {
            s["run"]
                .as_str()
                .is_some_and(|r| r.contains("az group delete"))
        })
        .expect("a step that deletes the resource group");
    assert_eq!(
        delete["if"], "always()",
        "the cluster must be deleted whatever happened"
    );
}

/// Kubernetes minors each Istio release supports (istio.io release announcements, "Istio 1.N.0
/// is officially supported on Kubernetes versions …"). A new `istioVersion` in the lab needs its
/// row here, and the kind node image must fall inside it.
const ISTIO_KUBERNETES: &[(&str, (u32, u32))] = &[("1.27", (29, 33))];

#[test]
fn the_kind_node_image_is_inside_the_kubernetes_range_of_the_labs_istio_release() {
    let lab: Value = serde_saphyr::from_str(
        &std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/labs/istio-aks/lab.yaml"
        ))
        .unwrap(),
    )
    .unwrap();
    let istio = lab["profiles"]["kind"]["variables"]["istioVersion"]
        .as_str()
        .expect("the kind profile pins istioVersion");
    let minor = istio.rsplit_once('.').map_or(istio, |(m, _)| m);
    let (_, (low, high)) = ISTIO_KUBERNETES
        .iter()
        .find(|(v, _)| *v == minor)
        .unwrap_or_else(|| panic!("no Kubernetes range known for Istio {minor}"));
    // The lab's default revision is the add-on revision of that minor (asm-1-27 <-> 1.27).
    assert_eq!(
        lab["variables"]["revision"]["default"].as_str(),
        Some(format!("asm-{}", minor.replace('.', "-")).as_str())
    );
    let (_, kind) = workflow("labs-kind.yml");
    let image = steps(&kind)
        .into_iter()
        .find_map(|s| s["with"]["node_image"].as_str())
        .expect("labs-kind.yml pins a node image");
    let version = image
        .strip_prefix("kindest/node:v")
        .and_then(|v| v.split(['@', '.']).nth(1))
        .and_then(|m| m.parse::<u32>().ok())
        .unwrap_or_else(|| panic!("{image} is not kindest/node:v1.N.P"));
    assert!(
        (*low..=*high).contains(&version),
        "{image}: Istio {minor} supports Kubernetes 1.{low} to 1.{high}"
    );
}
