//! Benchmark (ignored; run it with `bash scripts/bench-class.sh`, see `benches/README.md`):
//! `labctl class report` on 200 learners, each in namespaces of their own on one control plane,
//! in mixed fixture states. Measured in the same run, interleaved:
//!
//! 1. `labctl class report` as shipped (a kind asked for in many namespaces is listed once
//!    across all namespaces and sliced per learner);
//! 2. the same with `--per-namespace-lists` (one LIST per learner namespace, identical queries
//!    still fetched once): what the cluster-wide lists save;
//! 3. the baseline: `labctl grade --no-probes` once per learner, one after the other (what an
//!    instructor would script without a class report; no probes, like the class report); run
//!    once, it is slow.
//!
//! Printed: wall time and peak RSS of each (the process's own `ru_maxrss` from `wait4`), the
//! LISTs each report sent (`--stats`), and the ratios. Speed is measured, never asserted; the
//! test fails only when a report is wrong (exit code, rows).

use crate::class_report::{apply_learners, variables_yaml};
use crate::harness::{ADMIN, CONTEXT, Vars, fixture_control_plane};
use std::fmt::Write as _;
use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

const LEARNERS: usize = 200;

fn runs() -> usize {
    std::env::var("LABCTL_BENCH_RUNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(3)
        .max(1)
}

/// Runs labctl; returns wall time, peak RSS in MiB, stdout and stderr.
fn measured(args: &[String]) -> (Duration, f64, String, String) {
    measured_with(None, args)
}

/// [`measured`] with another labctl binary, if given.
#[allow(clippy::zombie_processes)] // reaped by `wait4`, which also reports its peak RSS
fn measured_with(binary: Option<&str>, args: &[String]) -> (Duration, f64, String, String) {
    let dir = tempfile::tempdir().unwrap();
    let (out, err) = (dir.path().join("out"), dir.path().join("err"));
    let start = Instant::now();
    let child = crate::cli::command_for(binary.unwrap_or(crate::cli::BIN))
        .args(args)
        .env_remove("KUBECONFIG")
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(&out).unwrap())
        .stderr(std::fs::File::create(&err).unwrap())
        .spawn()
        .expect("run labctl");
    let mut status = 0;
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: waits for our own child; `usage` is a valid rusage to fill.
    let pid = unsafe { libc::wait4(child.id() as libc::pid_t, &mut status, 0, &mut usage) };
    let wall = start.elapsed();
    assert_eq!(pid, child.id() as libc::pid_t, "wait4");
    let stdout = std::fs::read_to_string(out).unwrap_or_default();
    let stderr = std::fs::read_to_string(err).unwrap_or_default();
    let code = if libc::WIFEXITED(status) {
        libc::WEXITSTATUS(status)
    } else {
        -1
    };
    assert!(
        code == 0 || args[0] == "grade",
        "labctl {args:?} exited {code}:\n{stdout}\n{stderr}"
    );
    (wall, usage.ru_maxrss as f64 / 1024.0, stdout, stderr)
}

/// `labctl COMMAND istio-aks --profile kind --kubeconfig K EXTRA… --var k=v…`: a fixture
/// learner's lab on the bench's control plane.
fn on_fixture(command: &str, kubeconfig: &Path, vars: &Vars, extra: &[&str]) -> Vec<String> {
    let mut args: Vec<String> = [command, "istio-aks", "--profile", "kind", "--kubeconfig"]
        .map(String::from)
        .to_vec();
    args.push(kubeconfig.display().to_string());
    args.extend(extra.iter().map(|s| s.to_string()));
    for (k, v) in vars.iter() {
        args.extend(["--var".into(), format!("{k}={v}")]);
    }
    args
}

fn ms(d: Duration) -> String {
    format!("{:.0} ms", d.as_secs_f64() * 1000.0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "benchmark: run with `bash scripts/bench-class.sh` (release build, prints a table)"]
async fn bench_class_report_200_learners() {
    let cp = fixture_control_plane().await;
    let admin = cp.client(ADMIN).await;
    let setup = Instant::now();
    let learners = apply_learners(&admin, LEARNERS, 8).await;
    let setup = setup.elapsed();
    let instructor = cp.fresh_learner();
    let kubeconfig = cp.kubeconfig_path(&instructor);
    let dir = tempfile::tempdir().unwrap();
    let mut roster = format!(
        "lab: istio-aks\nprofile: kind\nclusters:\n  workshop: {{ kubeconfig: {}, context: {CONTEXT} }}\nlearners:\n",
        kubeconfig.display()
    );
    for (name, _, vars) in &learners {
        writeln!(
            roster,
            "  - {{ name: {name}, cluster: workshop, variables: {} }}",
            variables_yaml(vars)
        )
        .unwrap();
    }
    let roster_path = dir.path().join("class.yaml");
    std::fs::write(&roster_path, &roster).unwrap();
    // `LABCTL_BENCH_HOLD=SECONDS`: keep the control plane up that long with the roster copied to
    // target/bench/class-200.yaml, to profile `labctl class report` by hand.
    if let Some(secs) = std::env::var("LABCTL_BENCH_HOLD")
        .ok()
        .and_then(|v| v.parse().ok())
    {
        let keep = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/bench/class-200.yaml");
        std::fs::create_dir_all(keep.parent().unwrap()).unwrap();
        std::fs::write(&keep, &roster).unwrap();
        println!("holding {secs} s: labctl class report {}", keep.display());
        tokio::time::sleep(Duration::from_secs(secs)).await;
    }
    let html = dir.path().join("class.html");
    let report = |extra: &[&str]| -> Vec<String> {
        let mut a: Vec<String> = [
            "class",
            "report",
            roster_path.to_str().unwrap(),
            "--stats",
            "--html",
            html.to_str().unwrap(),
        ]
        .map(String::from)
        .to_vec();
        a.extend(extra.iter().map(|s| s.to_string()));
        a
    };
    let contenders = [
        (
            "`labctl class report` (cluster-wide LISTs, sliced)",
            report(&[]),
        ),
        (
            "`labctl class report --per-namespace-lists`",
            report(&["--per-namespace-lists"]),
        ),
    ];
    let mut results: Vec<Vec<(Duration, f64, String)>> = vec![Vec::new(); contenders.len()];
    for _ in 0..runs() {
        for (i, (_, args)) in contenders.iter().enumerate() {
            let (wall, rss, stdout, stderr) = measured(args);
            assert_eq!(
                stdout
                    .lines()
                    .filter(|l| l.starts_with('l') && l.contains("/6"))
                    .count(),
                LEARNERS,
                "{stdout}"
            );
            let stats = stderr
                .lines()
                .find(|l| l.starts_with("stats:"))
                .unwrap_or("")
                .to_owned();
            results[i].push((wall, rss, stats));
        }
    }
    // Baseline: one `labctl grade` per learner, one after the other.
    let start = Instant::now();
    let mut peak: f64 = 0.0;
    for (name, _, vars) in &learners {
        let args = on_fixture(
            "grade",
            &kubeconfig,
            vars,
            // Like the class report, which never runs probes (the fixture cluster has no
            // kubelet: each probe pod would wait for its timeout).
            &["-o", "json", "--learner", name, "--no-probes"],
        );
        let (_, rss, stdout, _) = measured(&args);
        assert!(
            stdout.contains("\"steps\""),
            "labctl grade {name}: {stdout}"
        );
        peak = peak.max(rss);
    }
    let sequential = start.elapsed();

    let build = if cfg!(debug_assertions) {
        "DEBUG build: use scripts/bench-class.sh"
    } else {
        "release build"
    };
    let cores = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(0);
    let mut t = String::new();
    writeln!(t, "\n== labctl class report, {LEARNERS} learners on one control plane ({build}, {cores} cores, {} runs each, interleaved) ==", runs()).unwrap();
    writeln!(
        t,
        "setup: {LEARNERS} learners in mixed fixture states (4 namespaces each) applied in {:.1} s",
        setup.as_secs_f64()
    )
    .unwrap();
    writeln!(t, "\n| how | median wall time | peak RSS | x class report | requests |\n|---|---:|---:|---:|---|").unwrap();
    let median = |v: &[(Duration, f64, String)]| {
        let mut d: Vec<Duration> = v.iter().map(|r| r.0).collect();
        d.sort();
        d[d.len() / 2]
    };
    let base = median(&results[0]).as_secs_f64();
    for ((label, _), r) in contenders.iter().zip(&results) {
        let rss = r.iter().map(|x| x.1).fold(0.0, f64::max);
        let stats = r.last().map(|x| x.2.clone()).unwrap_or_default();
        writeln!(
            t,
            "| {label} | {} | {rss:.1} MiB | {:.1}x | {stats} |",
            ms(median(r)),
            median(r).as_secs_f64() / base
        )
        .unwrap();
    }
    writeln!(t, "| `labctl grade` per learner, sequential | {} | {peak:.1} MiB (each) | {:.1}x | one process per learner |", ms(sequential), sequential.as_secs_f64() / base).unwrap();
    writeln!(t, "\nper run (wall, peak RSS):").unwrap();
    for ((label, _), r) in contenders.iter().zip(&results) {
        let runs: Vec<String> = r
            .iter()
            .map(|(w, m, _)| format!("{} / {m:.1} MiB", ms(*w)))
            .collect();
        writeln!(t, "  {label}: {}", runs.join(", ")).unwrap();
    }
    writeln!(
        t,
        "aim: <= 2 s and <= 100 MB for {LEARNERS} learners (measured, not asserted): {}",
        if base <= 2.0 && results[0].iter().all(|r| r.1 <= 100.0) {
            "met"
        } else {
            "NOT met"
        }
    )
    .unwrap();
    println!("{t}");
}

const SNAPSHOT_LEARNERS: usize = 10_000;
const SNAPSHOT_FILES: usize = 7;

/// Benchmark (ignored; `bash scripts/bench-class.sh --skip 200_learners`): `labctl class report`
/// on 10,000 snapshot learners sharing 7 snapshot files — the 7 istio-aks step states captured
/// with `labctl snapshot` from the fixture control plane — with every export written (HTML,
/// CSV, JSON, JUnit). `LABCTL_BENCH_BEFORE=/path/to/labctl` runs another build on the same
/// roster too (the numbers before a change). Time and peak RSS are printed, never asserted; the
/// test fails when a report is wrong (exit code, a row per learner, the 7 files' grades).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "benchmark: run with `bash scripts/bench-class.sh --skip 200_learners` (release build)"]
async fn bench_class_report_10000_snapshot_learners() {
    let cp = fixture_control_plane().await;
    let admin = cp.client(ADMIN).await;
    let learners = apply_learners(&admin, SNAPSHOT_FILES, SNAPSHOT_FILES).await;
    let instructor = cp.fresh_learner();
    let kubeconfig = cp.kubeconfig_path(&instructor);
    let dir = tempfile::tempdir().unwrap();
    let mut files = Vec::new();
    for (name, _, vars) in &learners {
        let file = dir.path().join(format!("{name}.json"));
        let args = on_fixture(
            "snapshot",
            &kubeconfig,
            vars,
            &["-o", file.to_str().unwrap()],
        );
        measured(&args);
        files.push(file);
    }
    let mut roster = String::from("lab: istio-aks\nprofile: kind\nlearners:\n");
    for i in 0..SNAPSHOT_LEARNERS {
        let file = &files[i % files.len()];
        writeln!(
            roster,
            "  - {{ name: s{i:05}, snapshot: {} }}",
            file.display()
        )
        .unwrap();
    }
    let roster_path = dir.path().join("class.yaml");
    std::fs::write(&roster_path, &roster).unwrap();
    let out = |name: &str| dir.path().join(name).to_str().unwrap().to_owned();
    let args: Vec<String> = ["class", "report", roster_path.to_str().unwrap(), "--stats"]
        .map(String::from)
        .into_iter()
        .chain(
            ["--html", "--csv", "--json", "--junit"]
                .into_iter()
                .zip(["c.html", "c.csv", "c.json", "c.xml"])
                .flat_map(|(flag, f)| [flag.to_owned(), out(f)]),
        )
        .collect();
    let mut contenders: Vec<(String, Option<String>)> = vec![("this build".into(), None)];
    if let Ok(before) = std::env::var("LABCTL_BENCH_BEFORE") {
        contenders.push((format!("before ({before})"), Some(before)));
    }
    let mut t = String::new();
    writeln!(t, "\n== labctl class report, {SNAPSHOT_LEARNERS} snapshot learners on {SNAPSHOT_FILES} files, every export ({}) ==", if cfg!(debug_assertions) { "DEBUG build" } else { "release build" }).unwrap();
    writeln!(
        t,
        "| build | wall time | peak RSS | stats |\n|---|---:|---:|---|"
    )
    .unwrap();
    for (label, binary) in &contenders {
        let (wall, rss, stdout, stderr) = measured_with(binary.as_deref(), &args);
        let rows = stdout
            .lines()
            .filter(|l| l.starts_with('s') && l.contains("/6"))
            .count();
        assert_eq!(
            rows,
            SNAPSHOT_LEARNERS,
            "{}",
            &stdout[..stdout.len().min(2000)]
        );
        // Every learner on one file has that file's row: 7 distinct rows (the name aside).
        let distinct: std::collections::BTreeSet<&str> = stdout
            .lines()
            .filter(|l| l.starts_with('s') && l.contains("/6"))
            .map(|l| l.split_once(' ').map_or("", |(_, rest)| rest.trim_start()))
            .collect();
        assert_eq!(distinct.len(), SNAPSHOT_FILES, "{distinct:#?}");
        let json: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(out("c.json")).unwrap()).unwrap();
        assert_eq!(
            json["learners"].as_array().unwrap().len(),
            SNAPSHOT_LEARNERS
        );
        let stats = stderr
            .lines()
            .find(|l| l.starts_with("stats:"))
            .unwrap_or("");
        writeln!(
            t,
            "| {label} | {:.1} s | {rss:.0} MiB | {stats} |",
            wall.as_secs_f64()
        )
        .unwrap();
    }
    println!("{t}");
}
