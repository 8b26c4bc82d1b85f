//! Learner mode against hostile values and odd moves (issue 13, items 2–7), through the binary,
//! no cluster needed: values refused with their pattern shown, values that reach bash only as
//! literal words, progress kept when a variable or the context changes, `reset` and `solve`
//! that tell the truth at the ends of the lab, `show STEP` on the learner's own lab, and the
//! flags the messages promise.

use crate::learner_state::{KIND, Learner, start_kind};
use serde_json::json;
use std::path::Path;

/// A kubeconfig whose only context, `ctx`, names a server nothing listens on (port 1); with
/// `current` false it has no current context.
fn refused_kubeconfig(dir: &Path, current: bool) -> std::path::PathBuf {
    let path = dir.join("kubeconfig-refused.yaml");
    let current = if current {
        "current-context: ctx\n"
    } else {
        ""
    };
    std::fs::write(
        &path,
        format!(
            "apiVersion: v1\nkind: Config\nclusters:\n- name: c\n  cluster: {{server: 'https://127.0.0.1:1', insecure-skip-tls-verify: true}}\nusers:\n- name: u\n  user: {{token: not-a-real-token}}\ncontexts:\n- name: ctx\n  context: {{cluster: c, user: u}}\n{current}"
        ),
    )
    .unwrap();
    path
}

/// `start_kind`'s lab with `current` steps done.
fn at_step(l: &Learner, current: usize) {
    let mut s = l.state(KIND);
    s["current"] = json!(current);
    l.write_state(KIND, &s);
}

#[test]
fn values_are_held_to_their_pattern_everywhere_and_never_echo_escapes() {
    let l = Learner::new();
    let r = l.run(&["start", "istio-aks", "--var", "revision=x$(touch pwned)"]);
    assert_eq!(r.code, 3, "{}", r.stderr);
    assert!(
        r.stderr.contains("variable `revision` (--var): `x$(touch pwned)` does not match its pattern `^asm-[0-9]+-[0-9]+$`"),
        "{}",
        r.stderr
    );
    assert!(l.files().is_empty(), "a refused start writes nothing");
    let r = l.run(&["start", "istio-aks", "--var", "clusterName="]);
    assert_eq!(r.code, 3);
    assert!(
        r.stderr.contains("`clusterName` (--var): `` is empty"),
        "{}",
        r.stderr
    );
    let r = l.run(&[
        "start",
        "istio-aks",
        "--var",
        "resourceGroup=rg\u{1b}]0;owned\u{7}",
    ]);
    assert_eq!(r.code, 3);
    assert!(
        !r.stderr.contains('\u{1b}') && !r.stderr.contains('\u{7}'),
        "{:?}",
        r.stderr
    );
    assert!(r.stderr.contains("rg\\u{1b}]0;owned\\u{7}"), "{}", r.stderr);
    // The same rule in grade (a snapshot's own values pass it) and ci (before any connection).
    let snap = "labs/istio-aks/snapshots/finished-aks.json";
    assert_eq!(l.run(&["grade", "istio-aks", "--snapshot", snap]).code, 0);
    let r = l.run(&[
        "grade",
        "istio-aks",
        "--snapshot",
        snap,
        "--var",
        "appNamespace=Pets;id",
    ]);
    assert_eq!(r.code, 3, "{}", r.stderr);
    assert!(
        r.stderr.contains("DNS") || r.stderr.contains("^[a-z0-9]"),
        "{}",
        r.stderr
    );
    let r = l.run(&["ci", "istio-aks", "--var", "blockedHost=$(id).example.com"]);
    assert_eq!(r.code, 3, "{}", r.stderr);
    assert!(r.stderr.contains("blockedHost"), "{}", r.stderr);

    // A state file edited by hand is held to the same rule: `solve --yes` runs nothing.
    start_kind(&l);
    let mut s = l.state(KIND);
    s["vars"] = json!([["revision", "asm-1-2$(touch pwned)"]]);
    l.write_state(KIND, &s);
    let (out, created) = solve_in_an_empty_folder(&l);
    assert_eq!(
        out.status.code(),
        Some(3),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(created.is_empty(), "{created:?}");
}

/// `labctl solve --yes` run in an empty folder: how it ended, and what appeared in the folder.
fn solve_in_an_empty_folder(l: &Learner) -> (std::process::Output, Vec<std::ffi::OsString>) {
    let cwd = tempfile::tempdir().unwrap();
    let out = l
        .command(&["solve", "--yes"])
        .current_dir(cwd.path())
        .output()
        .unwrap();
    let created = std::fs::read_dir(cwd.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    (out, created)
}

#[test]
fn values_without_a_pattern_reach_bash_as_literal_words() {
    let l = Learner::new();
    let kubeconfig = refused_kubeconfig(l.dir.path(), true);
    let kc = kubeconfig.to_str().unwrap();
    l.ok(&[
        "start",
        "tests/labs-ok/minimal",
        "--kubeconfig",
        kc,
        "--var",
        "appNamespace=x$(touch pwned)`touch pwned2`",
    ]);
    let shown = l.ok(&["show"]);
    assert!(
        shown.contains(
            "kubectl label namespace 'x$(touch pwned)`touch pwned2`' istio.io/rev=asm-1-23"
        ),
        "the command a learner copies is the one solve runs:\n{shown}"
    );
    let (out, created) = solve_in_an_empty_folder(&l);
    let stdout = String::from_utf8_lossy(&out.stdout);
    // kubectl ran (and failed: nothing listens there), with the value as one literal word.
    assert_eq!(
        out.status.code(),
        Some(2),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains("context `ctx` (https://127.0.0.1:1)"),
        "{stdout}"
    );
    assert!(
        created.is_empty(),
        "the value ran as a command: {created:?}"
    );
}

#[test]
fn start_again_changes_variables_or_context_and_keeps_progress() {
    let l = Learner::new();
    start_kind(&l);
    at_step(&l, 3);
    let out = l.ok(&[
        "start",
        "istio-aks",
        "--context",
        "kind-lab",
        "--var",
        "revision=asm-1-24",
    ]);
    assert!(
        out.contains("revision: unset → asm-1-24") && out.contains("Progress kept: 3/7"),
        "{out}"
    );
    let s = l.state(KIND);
    assert_eq!(
        (
            s["current"].clone(),
            s["vars"].clone(),
            s["profile"].clone()
        ),
        (json!(3), json!([["revision", "asm-1-24"]]), json!("kind"))
    );
    // A refused value leaves the state as it was.
    let r = l.run(&[
        "start",
        "istio-aks",
        "--context",
        "kind-lab",
        "--var",
        "revision=1.24",
    ]);
    assert_eq!(r.code, 3);
    assert_eq!(l.state(KIND)["vars"], json!([["revision", "asm-1-24"]]));
    // Same progress, another cluster: the file moves with it.
    let out = l.ok(&["start", "istio-aks", "--context", "kind-new", "--move"]);
    assert!(
        out.contains("from kind-lab to kind-new") && out.contains("3/7"),
        "{out}"
    );
    assert_eq!(l.files(), vec!["istio-aks@kind-new.json".to_owned()]);
    let moved = l.state("istio-aks@kind-new.json");
    assert_eq!(
        (moved["current"].clone(), moved["context"].clone()),
        (json!(3), json!("kind-new"))
    );

    // What messages tell the learner to run keeps the context (and does not start over).
    let r = l.run(&["start", "istio-aks", "--context", "kind-new"]);
    assert_eq!(r.code, 3);
    assert!(
        r.stderr
            .contains("labctl start istio-aks --context kind-new --var NAME=VALUE"),
        "{}",
        r.stderr
    );
    let aks = Learner::new();
    aks.ok(&[
        "start",
        "istio-aks",
        "--profile",
        "aks",
        "--context",
        "aks-lab",
    ]);
    let r = aks.run(&["solve", "--yes"]);
    assert_eq!(r.code, 3, "{}", r.stderr);
    assert!(
        r.stderr.contains(
            "labctl start istio-aks --context aks-lab --var clusterName=… --var resourceGroup=…"
        ),
        "{}",
        r.stderr
    );
}

#[test]
fn reset_never_skips_ahead_and_solve_knows_the_lab_is_finished() {
    let l = Learner::new();
    start_kind(&l);
    at_step(&l, 4);
    let r = l.run(&["reset", "--step", "6"]);
    assert_eq!(r.code, 3, "{}{}", r.stdout, r.stderr);
    assert!(
        r.stderr
            .contains("not reached yet: you are on step 5/7 `ingress`"),
        "{}",
        r.stderr
    );
    assert_eq!(l.state(KIND)["current"], 4, "left alone");
    let status = l.ok(&["status"]);
    assert!(
        status.contains("✔ 4/7") && !status.contains("✔ 5/7"),
        "step 5 is not done:\n{status}"
    );
    l.ok(&["reset", "--step", "5"]);
    assert_eq!(l.state(KIND)["current"], 4);

    at_step(&l, 7);
    let out = l.ok(&["solve", "--yes"]);
    assert!(out.contains("You have finished istio-aks"), "{out}");
    assert!(
        !out.contains("command 1/"),
        "no cleanup commands offered:\n{out}"
    );
}

#[test]
fn show_step_in_learner_mode_is_the_learners_lab_and_profile() {
    let l = Learner::new();
    let r = l.run(&["show", "ingress"]);
    assert_eq!(r.code, 3, "without a started lab, `ingress` is no lab");
    start_kind(&l);
    // What fix texts say ("labctl show ingress") works, on the learner's profile.
    let out = l.ok(&["show", "ingress"]);
    assert!(
        out.contains("Step 5/7 · ingress") && out.contains("[profile kind]"),
        "{out}"
    );
    assert!(
        l.ok(&["show", "istio-aks", "ingress"])
            .contains("[profile kind]")
    );
    assert!(
        l.ok(&["show", "istio-aks", "5", "--profile", "aks"])
            .contains("[profile aks]")
    );
}

#[test]
fn the_flags_messages_promise_exist() {
    let l = Learner::new();
    let none = l.dir.path().join("no-such-kubeconfig");
    l.ok(&[
        "start",
        "tests/labs-ok/minimal",
        "--kubeconfig",
        none.to_str().unwrap(),
    ]);
    let s = l.state("minimal@current.json");
    assert_eq!(s["kubeconfig"], json!(none.to_str().unwrap()));
    let r = l.run(&["check"]);
    assert_eq!(r.code, 2);
    assert!(
        r.stderr.contains("no-such-kubeconfig"),
        "the recorded kubeconfig is used: {}",
        r.stderr
    );

    // No current context: "pick one with --context" — and `check --context` then uses it.
    let kubeconfig = refused_kubeconfig(l.dir.path(), false);
    let kc = kubeconfig.to_str().unwrap();
    let r = l.run(&["check", "--kubeconfig", kc]);
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("pick one with --context"), "{}", r.stderr);
    let r = l.run(&["check", "--kubeconfig", kc, "--context", "ctx"]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(
        r.stderr.contains("could not grade") && r.stderr.contains("127.0.0.1:1"),
        "graded on ctx: {}",
        r.stderr
    );
    // (--yes: without a terminal to confirm on, solve refuses before it looks at any cluster)
    let r = l.run(&["solve", "--yes", "--kubeconfig", kc, "--context", "nope"]);
    assert_eq!(r.code, 2);
    assert!(
        r.stderr.contains("has no context `nope` (available: ctx)"),
        "{}",
        r.stderr
    );
}
