//! The hostile-input corpus: labs, rosters, snapshots and state files under `tests/hostile/`
//! (regenerate with `tests/hostile/generate.py`), plus special files (FIFOs, symlinks to
//! `/dev/zero` and `/dev/urandom`, directories where files belong) and huge files made here at
//! run time. labctl must answer every case with exit 2, a message that names the file (with
//! line:col where the file has lines) and no panic.
//!
//! Bounded structurally, not by timing: each run has an address-space cap (`RLIMIT_AS`, so a
//! blow-up fails the run) and a watchdog that kills it after [`WATCHDOG`] (so a hang fails the
//! test). The actual time and peak memory of each case are measured by
//! `scripts/bench-hostile.sh` (numbers in docs/testing.md).

use std::io::Read;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

/// A run that takes this long is hung.
const WATCHDOG: Duration = Duration::from_secs(30);
/// Address space a run may map. labctl's own baseline (binary, thread stacks, one malloc arena
/// per thread with `MALLOC_ARENA_MAX=2`) is far below it; an expansion or read blow-up is not.
const ADDRESS_SPACE: u64 = 200 * 1024 * 1024;

pub struct Bounded {
    /// None when killed by a signal (the watchdog's, or an abort).
    pub code: Option<i32>,
    pub stderr: String,
    pub hung: bool,
}

/// Run labctl from the repository root under the cap and the watchdog.
pub fn run_bounded(args: &[&str], env: &[(&str, &Path)]) -> Bounded {
    let mut cmd = crate::cli::command();
    cmd.args(args)
        .env("MALLOC_ARENA_MAX", "2")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (k, v) in env {
        cmd.env(k, v);
    }
    // SAFETY: setrlimit is async-signal-safe; nothing else runs between fork and exec.
    unsafe {
        cmd.pre_exec(|| {
            let limit = libc::rlimit {
                rlim_cur: ADDRESS_SPACE,
                rlim_max: ADDRESS_SPACE,
            };
            if libc::setrlimit(libc::RLIMIT_AS, &limit) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let mut child = cmd.spawn().expect("run labctl");
    let mut out = child.stdout.take().unwrap();
    let mut err = child.stderr.take().unwrap();
    // Drained so that a full pipe never blocks labctl; only the messages are looked at.
    let read_out = std::thread::spawn(move || std::io::copy(&mut out, &mut std::io::sink()));
    let read_err = std::thread::spawn(move || {
        let mut s = Vec::new();
        let _ = err.read_to_end(&mut s);
        s
    });
    let started = Instant::now();
    let mut hung = false;
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait for labctl") {
            break status;
        }
        if started.elapsed() > WATCHDOG {
            hung = true;
            let _ = child.kill();
            break child.wait().expect("wait for labctl");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let _ = read_out.join();
    Bounded {
        code: status.code(),
        stderr: String::from_utf8_lossy(&read_err.join().unwrap()).into_owned(),
        hung,
    }
}

/// Assert the rules of the module docs for one case; `located` must appear in stderr.
fn assert_refused(case: &str, run: &Bounded, located: &str) {
    assert!(!run.hung, "{case}: hung (killed after {WATCHDOG:?})");
    assert!(
        !run.stderr.contains("panicked") && !run.stderr.contains("memory allocation"),
        "{case}: crashed:\n{}",
        run.stderr
    );
    assert_eq!(run.code, Some(2), "{case}: exit code\n{}", run.stderr);
    assert!(
        run.stderr.contains(located),
        "{case}: expected `{located}` in:\n{}",
        run.stderr
    );
    assert!(
        !run.stderr.contains('\x1b'),
        "{case}: terminal escape in the message:\n{:?}",
        run.stderr
    );
    assert!(
        run.stderr.len() < 20_000,
        "{case}: {} bytes of messages",
        run.stderr.len()
    );
}

fn corpus(rel: &str) -> String {
    format!("tests/hostile/{rel}")
}

/// A copy of the minimal lab in a temporary folder, to put special files into.
fn minimal_copy(dir: &Path, name: &str) -> PathBuf {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/labs-ok/minimal");
    let dst = dir.join(name);
    std::fs::create_dir_all(dst.join("steps")).unwrap();
    let lab = std::fs::read_to_string(src.join("lab.yaml")).unwrap();
    std::fs::write(
        dst.join("lab.yaml"),
        lab.replace("name: minimal", &format!("name: {name}")),
    )
    .unwrap();
    for md in ["steps/01-onboard.md", "steps/02-cleanup.md"] {
        std::fs::copy(src.join(md), dst.join(md)).unwrap();
    }
    dst
}

fn mkfifo(path: &Path) {
    let c = std::ffi::CString::new(path.to_str().unwrap()).unwrap();
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0, "mkfifo");
}

/// What a special file is, how to make one at a path, and what labctl says about it.
type Special = (&'static str, fn(&Path), &'static str);

/// Ways to put something that is not a small regular text file where one belongs.
fn specials() -> Vec<Special> {
    fn zero(p: &Path) {
        std::os::unix::fs::symlink("/dev/zero", p).unwrap();
    }
    fn urandom(p: &Path) {
        std::os::unix::fs::symlink("/dev/urandom", p).unwrap();
    }
    fn fifo(p: &Path) {
        mkfifo(p);
    }
    fn dir(p: &Path) {
        std::fs::create_dir(p).unwrap();
    }
    vec![
        ("symlink to /dev/zero", zero, "is a character device"),
        ("symlink to /dev/urandom", urandom, "is a character device"),
        ("FIFO", fifo, "is a named pipe (FIFO)"),
        ("directory", dir, "is a directory"),
    ]
}

#[test]
fn hostile_labs_are_refused_located() {
    let cases: &[(&str, &str)] = &[
        ("expansion-bomb", "lab.yaml:"),
        ("default-cycle", "lab.yaml:"),
        ("profile-cycle", "lab.yaml:"),
        ("text-bomb", "steps/01-onboard.md:"),
        ("alias-bomb", "lab.yaml:"),
        ("deep-nesting", "lab.yaml:"),
        ("tab-indent", "lab.yaml:"),
        ("latin1-lab", "lab.yaml:2:"),
        ("invalid-utf8-markdown", "steps/01-onboard.md:"),
        ("binary-markdown", "steps/01-onboard.md:1:"),
        ("terminal-escapes", "lab.yaml:"),
    ];
    for (case, located) in cases {
        let lab = corpus(&format!("labs/{case}"));
        for cmd in [&["validate", lab.as_str()][..], &["show", lab.as_str()]] {
            let run = run_bounded(cmd, &[]);
            assert_refused(&format!("{cmd:?}"), &run, &format!("{lab}/{located}"));
        }
    }
}

#[test]
fn special_and_huge_lab_files_are_refused_by_type_and_size() {
    let dir = tempfile::tempdir().unwrap();
    let mut n = 0;
    // The minimal lab has no step file; one that is special is refused all the same.
    for target in ["steps/01-onboard.md", "lab.yaml", "steps/01-onboard.yaml"] {
        for (what, make, says) in specials() {
            n += 1;
            let lab = minimal_copy(dir.path(), &format!("special-{n}"));
            let _ = std::fs::remove_file(lab.join(target));
            make(&lab.join(target));
            let run = run_bounded(&["validate", lab.to_str().unwrap()], &[]);
            assert_refused(&format!("{target} as {what}"), &run, says);
            assert!(run.stderr.contains(target), "{}", run.stderr);
        }
    }
    // Larger than the cap (4 MiB): refused before it is parsed.
    let huge = format!("title: A minimal lab\n# {}", "x".repeat(5 << 20));
    let run = validate_edited(dir.path(), "huge", "title: A minimal lab", &huge);
    assert_refused("5 MiB lab.yaml", &run, "is larger than 4 MiB");
    // A 200 KB line with a mistake in it: the message quotes a window of it, not all of it.
    let long = format!(
        "title: A minimal lab\nsummary: {} {{{{ nope }}}}",
        "y".repeat(200_000)
    );
    let run = validate_edited(dir.path(), "long-line", "title: A minimal lab", &long);
    assert_refused("200 KB line", &run, "lab.yaml:3:200011");
    // Many nodes: past the YAML parser's budget.
    let many = format!(
        "          match:\n            many: [{}]\n",
        "1,".repeat(300_000)
    );
    let run = validate_edited(dir.path(), "many-nodes", "          match:\n", &many);
    assert_refused("300,000 nodes", &run, "lab.yaml:");
    // The same mistake in each of 2,500 steps: every one found, the first 50 shown.
    let text = std::fs::read_to_string(minimal_copy(dir.path(), "m").join("lab.yaml")).unwrap();
    let step = &text[text.find("  - id: onboard").unwrap()..text.find("  - id: cleanup").unwrap()];
    let steps: String = (0..2500)
        .map(|i| step.replace("id: onboard", &format!("id: onboard-{i}")))
        .collect::<String>()
        .replace("title: Onboard the namespace", "title: Onboard {{ nope }}");
    let run = validate_edited(dir.path(), "many-problems", step, &steps);
    assert_refused("2,500 problems", &run, "many-problems/lab.yaml:13:");
    assert!(
        run.stderr.contains("… and 2450 more, not shown"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("error: 2500 problems in lab files"),
        "{}",
        run.stderr
    );
}

/// `labctl validate` on a copy of the minimal lab whose `lab.yaml` has `from` replaced by `to`.
fn validate_edited(dir: &Path, name: &str, from: &str, to: &str) -> Bounded {
    let lab = minimal_copy(dir, name);
    let text = std::fs::read_to_string(lab.join("lab.yaml")).unwrap();
    assert!(text.contains(from), "{from}");
    std::fs::write(lab.join("lab.yaml"), text.replacen(from, to, 1)).unwrap();
    run_bounded(&["validate", lab.to_str().unwrap()], &[])
}

#[test]
fn hostile_rosters_are_refused_located() {
    for (case, located) in [
        ("alias-bomb.yaml", "alias-bomb.yaml:"),
        ("deep-nesting.yaml", "deep-nesting.yaml:"),
        ("latin1.yaml", "latin1.yaml:3:"),
        ("binary.yaml", "binary.yaml:1:"),
    ] {
        let roster = corpus(&format!("rosters/{case}"));
        let run = class_report(&roster);
        assert_refused(case, &run, located);
    }
    let dir = tempfile::tempdir().unwrap();
    for (what, make, says) in specials() {
        let roster = dir.path().join(format!("roster-{}.yaml", what.len()));
        make(&roster);
        let run = class_report(roster.to_str().unwrap());
        assert_refused(&format!("roster as {what}"), &run, says);
        // A learner's snapshot that is one: a roster mistake, at its line.
        let snapshot = dir.path().join(format!("snap-{}.json", what.len()));
        make(&snapshot);
        let roster = dir.path().join(format!("roster-snap-{}.yaml", what.len()));
        std::fs::write(
            &roster,
            format!(
                "lab: minimal\nlearners:\n  - {{ name: a, snapshot: {} }}\n",
                snapshot.display()
            ),
        )
        .unwrap();
        let run = class_report(roster.to_str().unwrap());
        assert_refused(
            &format!("snapshot as {what}"),
            &run,
            &format!("{}:3:", roster.display()),
        );
        assert!(run.stderr.contains(says), "{}", run.stderr);
    }
    let huge = dir.path().join("huge.yaml");
    let mut text = String::from("lab: minimal\nlearners:\n");
    while text.len() <= 17 << 20 {
        text.push_str("  - { name: learner-with-a-long-name, snapshot: ./a-snapshot-file.json }\n");
    }
    std::fs::write(&huge, text).unwrap();
    let run = class_report(huge.to_str().unwrap());
    assert_refused("17 MiB roster", &run, "is larger than 16 MiB");
}

fn class_report(roster: &str) -> Bounded {
    run_bounded(&["--labs", "tests/labs-ok", "class", "report", roster], &[])
}

fn grade_snapshot(path: &str) -> Bounded {
    run_bounded(
        &[
            "--labs",
            "tests/labs-ok",
            "grade",
            "minimal",
            "--snapshot",
            path,
        ],
        &[],
    )
}

#[test]
fn hostile_snapshots_are_refused_located() {
    for (case, located) in [
        ("deep-nesting.json", "deep-nesting.json:1:"),
        ("latin1.json", "latin1.json:1:"),
        ("binary.json", "binary.json:1:"),
    ] {
        let run = grade_snapshot(&corpus(&format!("snapshots/{case}")));
        assert_refused(case, &run, located);
    }
    let dir = tempfile::tempdir().unwrap();
    for (what, make, says) in specials() {
        let path = dir.path().join(format!("snap-{}.json", what.len()));
        make(&path);
        let run = grade_snapshot(path.to_str().unwrap());
        assert_refused(&format!("snapshot as {what}"), &run, says);
    }
    let huge = dir.path().join("huge.json");
    let f = std::fs::File::create(&huge).unwrap();
    f.set_len(65 << 20).unwrap(); // sparse: 65 MiB of zeros, written in no time
    let run = grade_snapshot(huge.to_str().unwrap());
    assert_refused("65 MiB snapshot", &run, "is larger than 64 MiB");
}

/// `labctl status` with a state folder holding one file for lab `minimal`, made by `make`.
fn status_with(dir: &Path, make: impl FnOnce(&Path)) -> (Bounded, PathBuf) {
    let state = dir.join("state");
    std::fs::create_dir_all(&state).unwrap();
    let file = state.join("minimal@ctx.json");
    make(&file);
    let run = run_bounded(&["status"], &[("LABCTL_STATE_DIR", &state)]);
    (run, file)
}

#[test]
fn hostile_state_files_are_refused_and_kept() {
    for (case, located) in [
        ("deep-nesting.json", "line 1"),
        ("latin1.json", "line 1"),
        ("binary.json", "line 1"),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let src = Path::new(env!("CARGO_MANIFEST_DIR")).join(corpus(&format!("state/{case}")));
        let (run, file) = status_with(dir.path(), |f| {
            std::fs::copy(&src, f).unwrap();
        });
        assert_refused(case, &run, &file.display().to_string());
        assert!(run.stderr.contains(located), "{}", run.stderr);
        // Corrupt files are kept as a backup, never reset.
        assert!(run.stderr.contains("moved to"), "{}", run.stderr);
    }
    for (what, make, says) in specials() {
        let dir = tempfile::tempdir().unwrap();
        let (run, file) = status_with(dir.path(), make);
        assert_refused(&format!("state file as {what}"), &run, says);
        assert!(
            run.stderr.contains(&file.display().to_string()),
            "{}",
            run.stderr
        );
    }
    let dir = tempfile::tempdir().unwrap();
    let (run, file) = status_with(dir.path(), |f| {
        std::fs::File::create(f).unwrap().set_len(2 << 20).unwrap();
    });
    assert_refused("2 MiB state file", &run, "is larger than 1 MiB");
    assert!(
        run.stderr.contains(&file.display().to_string()),
        "{}",
        run.stderr
    );
}

#[test]
fn hostile_kubeconfigs_are_refused_by_type_and_size() {
    let dir = tempfile::tempdir().unwrap();
    for (what, make, says) in specials() {
        let path = dir.path().join(format!("kubeconfig-{}", what.len()));
        make(&path);
        let run = run_bounded(
            &["grade", "istio-aks", "--kubeconfig", path.to_str().unwrap()],
            &[],
        );
        assert_refused(&format!("kubeconfig as {what}"), &run, says);
        assert!(
            run.stderr.contains(&path.display().to_string()),
            "{}",
            run.stderr
        );
    }
}

/// Where a command's standard output goes in [`output_failures_never_panic`].
enum Sink {
    /// `/dev/full`: every write fails with ENOSPC.
    Full,
    /// A pipe whose reader is gone before labctl writes: EPIPE, deterministically.
    Closed,
}

fn run_into(args: &[&str], state: &Path, sink: Sink) -> (Option<i32>, String) {
    let stdout: Stdio = match sink {
        Sink::Full => std::fs::OpenOptions::new()
            .write(true)
            .open("/dev/full")
            .unwrap()
            .into(),
        Sink::Closed => {
            let (reader, writer) = std::io::pipe().unwrap();
            drop(reader);
            writer.into()
        }
    };
    let out = crate::cli::command()
        .args(args)
        .env("LABCTL_STATE_DIR", state)
        .stdin(Stdio::null())
        .stdout(stdout)
        .stderr(Stdio::piped())
        .output()
        .expect("run labctl");
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn output_failures_never_panic() {
    let snapshot = "labs/istio-aks/snapshots/finished-aks.json";
    let commands: &[&[&str]] = &[
        &["list"],
        &["validate"],
        &["show", "istio-aks", "1"],
        &["show"],
        &["status"],
        &["hint"],
        &["reset"],
        &["grade", "istio-aks", "--snapshot", snapshot],
        &["grade", "istio-aks", "--snapshot", snapshot, "-o", "json"],
    ];
    for args in commands {
        for full in [true, false] {
            // A learner who started the lab, for the learner commands.
            let state = tempfile::tempdir().unwrap();
            let start = crate::cli::command()
                .args(["start", "istio-aks", "--context", "ctx"])
                .env("LABCTL_STATE_DIR", state.path())
                .output()
                .unwrap();
            assert!(start.status.success());
            let sink = if full { Sink::Full } else { Sink::Closed };
            let (code, stderr) = run_into(args, state.path(), sink);
            let case = format!(
                "{args:?} into {}",
                if full { "/dev/full" } else { "a closed pipe" }
            );
            assert!(!stderr.contains("panicked"), "{case}: {stderr}");
            if full {
                assert_eq!(code, Some(2), "{case}: {stderr}");
                assert!(
                    stderr.contains("cannot write") && stderr.contains("No space left on device"),
                    "{case}: {stderr}"
                );
            } else {
                // Quiet, with the command's own result (these all succeed).
                assert_eq!(code, Some(0), "{case}: {stderr}");
                assert_eq!(stderr, "", "{case}");
            }
        }
    }
    // `solve` without a terminal refuses after showing the commands: its own message, never a
    // panic, whatever happens to the output.
    let state = tempfile::tempdir().unwrap();
    let start = crate::cli::command()
        .args([
            "start",
            "istio-aks",
            "--context",
            "ctx",
            "--var",
            "resourceGroup=rg",
        ])
        .args(["--var", "clusterName=c"])
        .env("LABCTL_STATE_DIR", state.path())
        .output()
        .unwrap();
    assert!(start.status.success());
    for sink in [Sink::Full, Sink::Closed] {
        let (code, stderr) = run_into(&["solve"], state.path(), sink);
        assert_eq!(code, Some(3), "{stderr}");
        assert!(stderr.contains("refusing to run commands"), "{stderr}");
    }
}

#[test]
fn a_missing_plugin_or_ca_file_is_named_once() {
    let dir = tempfile::tempdir().unwrap();
    let kubeconfig = |name: &str, cluster: &str, user: &str| {
        let path = dir.path().join(name);
        std::fs::write(
            &path,
            format!("apiVersion: v1\nkind: Config\nclusters:\n- name: c\n  cluster: {{server: 'https://127.0.0.1:1'{cluster}}}\nusers:\n- name: u\n  user: {user}\ncontexts:\n- name: ctx\n  context: {{cluster: c, user: u}}\ncurrent-context: ctx\n"),
        )
        .unwrap();
        path
    };
    let plugin = kubeconfig(
        "plugin",
        "",
        "{exec: {apiVersion: client.authentication.k8s.io/v1beta1, command: kubelogin-not-installed}}",
    );
    let ca = kubeconfig(
        "ca",
        ", certificate-authority: ./missing-ca.crt",
        "{token: t}",
    );
    for (path, says) in [
        (&plugin, "credential plugin `kubelogin-not-installed`"),
        (&ca, "missing-ca.crt"),
    ] {
        let run = run_bounded(
            &["grade", "istio-aks", "--kubeconfig", path.to_str().unwrap()],
            &[],
        );
        assert_refused(says, &run, says);
        assert_eq!(run.stderr.matches(says).count(), 1, "{}", run.stderr);
        assert_eq!(
            run.stderr.matches("No such file").count(),
            0,
            "{}",
            run.stderr
        );
    }
}

#[test]
fn variable_blow_ups_are_bounded_at_run_time() {
    // Through `--var`: the command line's mistake, a usage error (3), named.
    let labs = ["--labs", "tests/labs-ok", "show", "minimal"];
    let cycle = run_bounded(
        &[&labs[..], &["--var", "revision=x-{{ revision }}"]].concat(),
        &[],
    );
    assert_eq!(cycle.code, Some(3), "{}", cycle.stderr);
    assert!(
        cycle.stderr.contains("`revision` → `revision`"),
        "{}",
        cycle.stderr
    );
    let big = format!("appNamespace={}", "n".repeat(40_000));
    let doubled = "revision={{ appNamespace }}{{ appNamespace }}";
    let run = run_bounded(
        &[&labs[..], &["--var", &big, "--var", doubled]].concat(),
        &[],
    );
    assert_eq!(run.code, Some(3), "{}", run.stderr);
    assert!(
        run.stderr
            .contains("variable `revision` expands to more than 65536 characters"),
        "{}",
        run.stderr
    );
    // A lab that is valid with its defaults but pastes a long `--var` value 120 times into one
    // step: refused before it is built (exit 2, could not show), not gigabytes later.
    let dir = tempfile::tempdir().unwrap();
    let lab = minimal_copy(dir.path(), "pasted");
    let md = lab.join("steps/01-onboard.md");
    let text = std::fs::read_to_string(&md).unwrap() + &"{{ appNamespace }}\n".repeat(120);
    std::fs::write(&md, text).unwrap();
    let ok = run_bounded(&["validate", lab.to_str().unwrap()], &[]);
    assert_eq!(ok.code, Some(0), "{}", ok.stderr);
    let run = run_bounded(&["show", lab.to_str().unwrap(), "--var", &big], &[]);
    assert_refused("120 × 40 KB in one step", &run, "steps/01-onboard.md");
    assert!(
        run.stderr.contains("grows past 4194304 bytes"),
        "{}",
        run.stderr
    );
}
