//! `labctl validate`, `list` and `show` on the bundled labs and on the broken-lab corpus
//! (`tests/broken-labs/`, one authoring mistake per folder, golden error output).

use crate::cli::labctl;
use std::path::Path;

#[test]
fn bundled_labs_are_valid() {
    let run = labctl(&["validate"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stdout
            .contains("ok istio-aks: 7 steps, 2 profiles (aks, kind)"),
        "{}",
        run.stdout
    );
    assert_eq!(labctl(&["validate", "tests/labs-ok/minimal"]).code, 0);
    assert_eq!(labctl(&["validate", "tests/labs-ok/probes"]).code, 0);
}

#[test]
fn every_broken_lab_fails_located_and_matches_its_golden_output() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/broken-labs");
    let mut cases: Vec<String> = std::fs::read_dir(&root)
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.path().join("lab.yaml").is_file())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    cases.sort();
    assert!(cases.len() >= 20, "the corpus shrank: {cases:?}");
    for case in cases {
        let path = format!("tests/broken-labs/{case}");
        let run = labctl(&["validate", &path]);
        assert_eq!(
            run.code, 2,
            "{case} should be invalid:\n{}{}",
            run.stdout, run.stderr
        );
        // Every problem names the file with line and column, and quotes the line.
        assert!(
            run.stderr.contains(&format!("--> {path}/")),
            "{case}: no location:\n{}",
            run.stderr
        );
        assert!(
            run.stderr.contains(" | "),
            "{case}: no source line:\n{}",
            run.stderr
        );
        assert!(
            !run.stderr.contains("panicked"),
            "{case}: panic:\n{}",
            run.stderr
        );
        insta::assert_snapshot!(format!("validate__{case}"), run.stderr);
    }
}

#[test]
fn list_shows_the_lab() {
    let run = labctl(&["list"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    insta::assert_snapshot!("list", run.stdout);
}

#[test]
fn show_renders_every_step_for_both_profiles() {
    for profile in ["aks", "kind"] {
        let run = labctl(&["show", "istio-aks", "--profile", profile]);
        assert_eq!(run.code, 0, "{}", run.stderr);
        for (i, id) in crate::grade_offline::STEPS.iter().enumerate() {
            assert!(
                run.stdout.contains(&format!("Step {}/7 · {id}", i + 1)),
                "{profile}: step {id} missing"
            );
        }
        assert!(
            !run.stdout.contains("{{"),
            "{profile}: unsubstituted placeholder"
        );
        assert!(
            run.stdout.contains("── run"),
            "{profile}: no solve commands shown"
        );
    }
    let aks = labctl(&["show", "istio-aks", "enable-addon", "--profile", "aks"]).stdout;
    let kind = labctl(&["show", "istio-aks", "enable-addon", "--profile", "kind"]).stdout;
    assert!(
        aks.contains("az aks mesh enable") && !aks.contains("istioctl install"),
        "aks shows only aks commands"
    );
    assert!(
        kind.contains("istioctl install") && !kind.contains("az aks mesh enable --"),
        "kind shows only kind commands"
    );
    // Variables without a value are shown as placeholders, with a note saying how to set them.
    assert!(
        aks.contains("<resourceGroup>") && aks.contains("--var resourceGroup="),
        "{aks}"
    );
    let set = labctl(&[
        "show",
        "istio-aks",
        "1",
        "--profile",
        "aks",
        "--var",
        "resourceGroup=rg-lab",
        "--var",
        "revision=asm-1-24",
    ])
    .stdout;
    assert!(
        set.contains("--resource-group rg-lab") && set.contains("istiod-asm-1-24"),
        "{set}"
    );
}

#[test]
fn every_step_links_the_pages_its_claims_rest_on() {
    // Each step of istio-aks ends with "Learn more": the Microsoft Learn and istio.io pages its
    // claims rest on, and `labctl show` prints every link with its address.
    let lab = crate::grade_offline::lab();
    for step in &lab.steps {
        let section = step
            .markdown
            .split_once("\n## Learn more\n")
            .unwrap_or_else(|| panic!("{}: no Learn more section", step.id))
            .1;
        let urls: Vec<&str> = section
            .split("](")
            .skip(1)
            .filter_map(|s| s.split_once(')').map(|(u, _)| u))
            .collect();
        assert!(
            urls.iter()
                .any(|u| u.starts_with("https://learn.microsoft.com/")
                    || u.starts_with("https://istio.io/")),
            "{}: {urls:?}",
            step.id
        );
        for profile in ["aks", "kind"] {
            let shown = labctl(&["show", "istio-aks", &step.id, "--profile", profile]);
            for u in &urls {
                assert!(
                    shown.stdout.contains(u),
                    "{} {profile}: {u} not shown",
                    step.id
                );
            }
        }
    }
}

#[test]
fn show_step_snapshot() {
    let run = labctl(&["show", "istio-aks", "onboard-mesh", "--profile", "aks"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    insta::assert_snapshot!("show_onboard_mesh_aks", run.stdout);
}

/// Piped, `show` renders at 80 columns: every line but the code (copied as written) fits, and
/// each profile sees only its own prose (issue 13, item 15).
#[test]
fn show_fits_80_columns_and_keeps_each_profile_to_its_prose() {
    let show = |profile: &str| {
        let run = labctl(&["show", "istio-aks", "--profile", profile]);
        assert_eq!(run.code, 0, "{}", run.stderr);
        run.stdout
    };
    let (aks, kind) = (show("aks"), show("kind"));
    for out in [&aks, &kind] {
        let mut in_code = false;
        for line in out.lines() {
            if line.starts_with("── ") || (in_code && line.chars().all(|c| c == '─')) {
                in_code = !in_code;
            } else if !in_code && line.trim().contains(' ') {
                // A single word longer than the width (a link's address) cannot be wrapped.
                assert!(console::measure_text_width(line) <= 80, "{line:?}");
            }
        }
        // The table of step 2 is a table, not a run-on paragraph.
        assert!(out.contains("\n  workload "), "{out}");
    }
    for aks_only in [
        "depends on your cluster's region and Kubernetes version",
        "AKS: choose and enable a revision",
        "AKS: the shared ConfigMap",
        "On AKS the external gateway is a separate switch",
        "On AKS, switch off the external gateway first",
    ] {
        let words = aks_only.replace('\n', " ");
        let flat = |s: &str| s.split_whitespace().collect::<Vec<_>>().join(" ");
        assert!(flat(&aks).contains(&words), "aks lost {words:?}");
        assert!(!flat(&kind).contains(&words), "kind shows {words:?}");
    }
    for kind_only in [
        "kind: upstream Istio, laid out like the add-on",
        "On kind you install a gateway",
    ] {
        assert!(
            kind.contains(kind_only) && !aks.contains(kind_only),
            "{kind_only}"
        );
    }
}

#[test]
fn usage_errors_exit_3_with_a_suggestion() {
    let run = labctl(&["show", "istio-aks", "--profile", "kidn"]);
    assert_eq!(run.code, 3);
    assert_eq!(
        run.stderr.trim(),
        "error: lab `istio-aks` has no profile `kidn` (did you mean `kind`?)"
    );
    let run = labctl(&["show", "istio-aks", "onbard-mesh"]);
    assert_eq!(
        (run.code, run.stderr.trim()),
        (
            3,
            "error: lab `istio-aks` has no step `onbard-mesh` (did you mean `onboard-mesh`?)"
        )
    );
    let run = labctl(&["show", "istio-aks", "--var", "revison=x"]);
    assert_eq!(
        (run.code, run.stderr.trim()),
        (
            3,
            "error: lab `istio-aks` has no variable `revison` (did you mean `revision`?)"
        )
    );
    let run = labctl(&["show", "istio-ask"]);
    assert_eq!(run.code, 3);
    assert!(
        run.stderr.contains("no lab named `istio-ask`")
            && run.stderr.contains("did you mean `istio-aks`?"),
        "{}",
        run.stderr
    );
    assert_eq!(labctl(&["frobnicate"]).code, 3);
    assert_eq!(labctl(&["--help"]).code, 0);
}

#[test]
fn validate_on_a_missing_path_is_a_clear_error() {
    let run = labctl(&["validate", "no/such/labs"]);
    assert_eq!(run.code, 2);
    assert!(
        run.stderr.contains("no/such/labs") && run.stderr.contains("no such file or folder"),
        "{}",
        run.stderr
    );
}
