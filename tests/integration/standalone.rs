//! The binary alone, as a learner downloads it: run from an empty folder with a fresh cache, it
//! still lists, shows and grades its bundled labs; `--labs` and `LABCTL_LABS` still win.

use std::path::Path;

struct Out {
    code: i32,
    stdout: String,
    stderr: String,
}

/// `labctl ARGS` in `cwd`, with HOME and the cache folder inside `home` (nothing of the
/// repository's reachable but the absolute paths the test passes).
fn labctl_in(cwd: &Path, home: &Path, args: &[&str], env: &[(&str, &str)]) -> Out {
    let mut cmd = crate::cli::command();
    cmd.args(args)
        .current_dir(cwd)
        .env("HOME", home)
        .env("XDG_CACHE_HOME", home.join(".cache"));
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().expect("run labctl");
    Out {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

fn repo(rel: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join(rel)
        .display()
        .to_string()
}

#[test]
fn the_binary_alone_lists_shows_and_grades_its_bundled_labs() {
    let home = tempfile::tempdir().unwrap();
    let cwd = tempfile::tempdir().unwrap();
    let (h, c) = (home.path(), cwd.path());

    let list = labctl_in(c, h, &["list"], &[]);
    assert_eq!(list.code, 0, "{}", list.stderr);
    assert!(list.stdout.contains("istio-aks"), "{}", list.stdout);
    let unpacked = h.join(".cache/labctl/bundled-labs");
    assert!(
        unpacked.is_dir(),
        "bundled labs unpacked into the user's cache"
    );

    let show = labctl_in(
        c,
        h,
        &["show", "istio-aks", "enable-addon", "--profile", "kind"],
        &[],
    );
    assert_eq!(show.code, 0, "{}", show.stderr);
    assert!(show.stdout.contains("enable-addon"), "{}", show.stdout);
    assert!(
        show.stderr.contains("labs bundled with labctl"),
        "{}",
        show.stderr
    );

    let snapshot = repo("labs/istio-aks/snapshots/finished-aks.json");
    let grade = labctl_in(c, h, &["grade", "istio-aks", "--snapshot", &snapshot], &[]);
    assert_eq!(grade.code, 0, "{}\n{}", grade.stdout, grade.stderr);
    assert!(
        grade.stdout.contains("6/6 steps passed"),
        "{}",
        grade.stdout
    );

    let validate = labctl_in(c, h, &["validate"], &[]);
    assert_eq!(validate.code, 0, "{}", validate.stderr);

    // The folder with the bundle in it is nothing special: nothing else was written.
    assert_eq!(std::fs::read_dir(c).unwrap().count(), 0);
}

#[test]
fn an_authors_folder_wins_over_the_bundle() {
    let home = tempfile::tempdir().unwrap();
    let cwd = tempfile::tempdir().unwrap();
    let (h, c) = (home.path(), cwd.path());
    let labs = repo("tests/labs-ok");

    let by_flag = labctl_in(c, h, &["--labs", &labs, "list"], &[]);
    assert_eq!(by_flag.code, 0, "{}", by_flag.stderr);
    assert!(by_flag.stdout.contains("minimal"), "{}", by_flag.stdout);
    assert!(!by_flag.stdout.contains("istio-aks"), "{}", by_flag.stdout);
    let shown = labctl_in(c, h, &["--labs", &labs, "show", "minimal"], &[]);
    assert!(shown.stderr.contains("(--labs)"), "{}", shown.stderr);

    let by_env = labctl_in(c, h, &["list"], &[("LABCTL_LABS", &labs)]);
    assert!(by_env.stdout.contains("minimal"), "{}", by_env.stdout);
    let shown = labctl_in(c, h, &["show", "minimal"], &[("LABCTL_LABS", &labs)]);
    assert!(shown.stderr.contains("(LABCTL_LABS)"), "{}", shown.stderr);

    // A `labs` folder that holds no lab (a learner's own notes, say) does not hide the bundle.
    std::fs::create_dir(c.join("labs")).unwrap();
    let stray = labctl_in(c, h, &["list"], &[]);
    assert!(stray.stdout.contains("istio-aks"), "{}", stray.stdout);
}

#[test]
fn version_names_the_commit() {
    let home = tempfile::tempdir().unwrap();
    let v = labctl_in(home.path(), home.path(), &["--version"], &[]);
    assert_eq!(v.code, 0);
    let line = v.stdout.trim();
    assert!(
        line.starts_with(&format!("labctl {} (commit ", env!("CARGO_PKG_VERSION"))),
        "{line}"
    );
    assert!(!line.contains("commit )"), "{line}");
    // `--version` reads no lab, so it unpacks nothing.
    assert!(!home.path().join(".cache/labctl").exists());
}

#[test]
fn solve_and_ci_say_so_when_there_is_no_bash() {
    // Windows outside WSL and Git Bash: no bash on PATH. Nothing is run, the message says where
    // the commands can run instead.
    let home = tempfile::tempdir().unwrap();
    let empty = tempfile::tempdir().unwrap();
    let path = empty.path().to_str().unwrap();
    let ci = labctl_in(
        home.path(),
        home.path(),
        &["ci", "istio-aks", "--profile", "kind"],
        &[("PATH", path)],
    );
    assert_eq!(ci.code, 3, "{}", ci.stderr);
    assert!(
        ci.stderr
            .contains("`labctl ci` runs bash commands, and no `bash` is on PATH"),
        "{}",
        ci.stderr
    );
    let solve = labctl_in(
        home.path(),
        home.path(),
        &["solve", "--yes"],
        &[("PATH", path)],
    );
    // No lab started: that is said first; with one started, bash is asked for before any cluster.
    assert_ne!(solve.code, 0);
    let state = home.path().join("state");
    let start = labctl_in(
        home.path(),
        home.path(),
        &["start", "istio-aks", "--profile", "kind"],
        &[("LABCTL_STATE_DIR", state.to_str().unwrap())],
    );
    assert_eq!(start.code, 0, "{}", start.stderr);
    let solve = labctl_in(
        home.path(),
        home.path(),
        &["solve", "--yes"],
        &[
            ("PATH", path),
            ("LABCTL_STATE_DIR", state.to_str().unwrap()),
        ],
    );
    assert_eq!(solve.code, 3, "{}", solve.stderr);
    assert!(
        solve.stderr.contains("`labctl solve` runs bash commands"),
        "{}",
        solve.stderr
    );
}
