//! Benchmark (ignored; run it with `bash scripts/bench-rtt.sh`, see `benches/README.md`):
//! `labctl grade istio-aks` and the bash script with one `kubectl get` per check (the main
//! baseline of [`crate::bench`]) over a link with a round-trip time of 50 ms and 150 ms — an AKS
//! cluster in another region — next to loopback.
//!
//! The far links are a [`DelayProxy`] in front of the same API server, holding every chunk back
//! by half the RTT in each direction (the kernel here has no netem). Each tool and link gets a
//! user of its own (the audit log tells their requests apart) and, for kubectl, a discovery
//! cache of its own, warmed by one untimed run; then runs are interleaved (every link, every
//! tool, N times). Printed: each run's wall time, the medians, the connections each run opened
//! (counted by the proxy), the requests (audit log), and **round trips above loopback**:
//! (median far − median loopback) / RTT — what the distance costs, in round trips.
//!
//! `LABCTL_BENCH_BEFORE=/path/to/labctl` adds an older build as a third contender;
//! `LABCTL_BENCH_RTTS=50,150` sets the RTTs in milliseconds; `LABCTL_BENCH_RUNS` the runs.
//!
//! Speed is measured, never asserted: the test fails only when a tool's grade does not pass or
//! labctl sends anything but reads or more than one LIST per (resource, namespace).

use crate::bench::{
    Naming, Setup, assert_labctl_requests, breakdown, generate_baseline, median, ms, new_events,
    run_baseline, run_labctl_program, runs, setup,
};
use crate::harness::{AuditEvent, DelayProxy};
use std::fmt::Write as _;
use std::path::PathBuf;
use std::time::Duration;

/// The RTTs measured besides loopback (`LABCTL_BENCH_RTTS`, milliseconds, comma-separated).
fn rtts() -> Vec<Duration> {
    std::env::var("LABCTL_BENCH_RTTS")
        .ok()
        .map(|v| {
            v.split(',')
                .filter_map(|ms| ms.trim().parse().ok())
                .map(Duration::from_millis)
                .collect::<Vec<_>>()
        })
        .filter(|v| !v.is_empty())
        .unwrap_or_else(|| vec![Duration::from_millis(50), Duration::from_millis(150)])
}

/// How far the API server is: loopback, or behind a delay proxy.
struct Link {
    rtt: Duration,
    proxy: Option<DelayProxy>,
}

impl Link {
    fn label(&self) -> String {
        match self.proxy {
            None => "loopback".into(),
            Some(_) => format!("{} ms RTT", self.rtt.as_millis()),
        }
    }

    fn connections(&self) -> usize {
        self.proxy.as_ref().map_or(0, DelayProxy::connections)
    }
}

enum Tool {
    Labctl(PathBuf),
    Kubectl(PathBuf),
}

/// One tool on one link: who it runs as, and what its runs took.
struct Cell {
    user: String,
    kubeconfig: PathBuf,
    cache: tempfile::TempDir,
    seen: usize,
    walls: Vec<Duration>,
    /// Requests and connections of the last run.
    events: Vec<AuditEvent>,
    connections: usize,
}

struct Contender {
    label: String,
    tool: Tool,
    cells: Vec<Cell>,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "benchmark: run with `bash scripts/bench-rtt.sh` (release build, prints a table)"]
async fn bench_grade_over_a_delayed_link() {
    let runs = runs();
    let setup = setup().await;
    let Setup {
        cp, vars, kubectl, ..
    } = &setup;
    let baseline = generate_baseline(&setup.plan, Naming::Qualified, &setup.plurals);
    let script = setup.dir.join(Naming::Qualified.script_name());
    std::fs::write(&script, &baseline.script).expect("write the kubectl baseline");

    let mut links = vec![Link {
        rtt: Duration::ZERO,
        proxy: None,
    }];
    for rtt in rtts() {
        links.push(Link {
            rtt,
            proxy: Some(DelayProxy::start(cp.socket_addr(), rtt / 2)),
        });
    }
    let mut tools = vec![(
        "`labctl grade istio-aks`".to_owned(),
        Tool::Labctl(PathBuf::from(crate::cli::BIN)),
    )];
    if let Some(before) = std::env::var_os("LABCTL_BENCH_BEFORE") {
        let before = PathBuf::from(before);
        tools.push((
            format!("`labctl grade istio-aks`, before ({})", before.display()),
            Tool::Labctl(before),
        ));
    }
    tools.push((
        "bash, one `kubectl get` per check".to_owned(),
        Tool::Kubectl(script),
    ));
    let kubeconfigs = tempfile::tempdir().expect("kubeconfig dir");
    let mut contenders = Vec::new();
    for (label, tool) in tools {
        let mut cells = Vec::new();
        for link in &links {
            let user = cp.fresh_learner();
            let kubeconfig = match &link.proxy {
                None => cp.kubeconfig_path(&user),
                Some(p) => cp.kubeconfig_via(&user, &p.url(), kubeconfigs.path()),
            };
            cells.push(Cell {
                user,
                kubeconfig,
                cache: tempfile::tempdir().expect("kubectl cache dir"),
                seen: 0,
                walls: Vec::new(),
                events: Vec::new(),
                connections: 0,
            });
        }
        contenders.push(Contender { label, tool, cells });
    }

    let run_one = |tool: &Tool, cell: &Cell| match tool {
        Tool::Labctl(program) => run_labctl_program(program, &cell.kubeconfig, vars),
        Tool::Kubectl(script) => run_baseline(script, kubectl, &cell.kubeconfig, cell.cache.path()),
    };
    // One untimed run each: kubectl's discovery cache filled, files in the page cache.
    for c in &mut contenders {
        for cell in &mut c.cells {
            run_one(&c.tool, cell);
            let _ = new_events(cp, &cell.user, &mut cell.seen).await;
        }
    }
    // Interleaved: every link, every tool, `runs` times.
    for run in 1..=runs {
        for (l, link) in links.iter().enumerate() {
            for c in &mut contenders {
                let cell = &mut c.cells[l];
                let before = link.connections();
                let wall = run_one(&c.tool, cell);
                cell.connections = link.connections() - before;
                cell.events = new_events(cp, &cell.user, &mut cell.seen).await;
                if matches!(c.tool, Tool::Labctl(_)) {
                    assert_labctl_requests(run, &cell.events);
                }
                cell.walls.push(wall);
            }
        }
    }

    println!("{}", report(&contenders, &links, runs));
}

/// Median far − median loopback, in round trips of the far link.
fn round_trips_above(loopback: Duration, far: Duration, rtt: Duration) -> f64 {
    (far.as_secs_f64() - loopback.as_secs_f64()) / rtt.as_secs_f64()
}

fn report(contenders: &[Contender], links: &[Link], runs: usize) -> String {
    let build = if cfg!(debug_assertions) {
        "DEBUG build: run `bash scripts/bench-rtt.sh` (--release) for numbers worth quoting"
    } else {
        "release build"
    };
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let mut t = String::new();
    let _ = writeln!(
        t,
        "\n== labctl grade vs. one kubectl call per check, over a delayed link ({build}, {cores} cores, {runs} runs each, interleaved) =="
    );
    let _ = writeln!(
        t,
        "lab istio-aks, profile aks, finished state; far links: a proxy holding every chunk back by RTT/2 each way"
    );
    let _ = writeln!(t, "\nper run (wall time; connections opened):");
    for c in contenders {
        let _ = writeln!(t, "  {}", c.label);
        for (link, cell) in links.iter().zip(&c.cells) {
            let walls: Vec<String> = cell.walls.iter().map(|w| ms(*w)).collect();
            let conns = match link.proxy {
                Some(_) => format!("; {} connection(s) in the last run", cell.connections),
                None => String::new(),
            };
            let _ = writeln!(t, "    {:>12}: {}{conns}", link.label(), walls.join(", "));
        }
    }
    let far = &links[1..];
    let mut head = "| tool |".to_owned();
    let mut rule = "|---|".to_owned();
    for link in links {
        let _ = write!(head, " {} |", link.label());
        rule.push_str("---:|");
    }
    for link in far {
        let _ = write!(head, " round trips above loopback, {} |", link.label());
        rule.push_str("---:|");
    }
    head.push_str(" connections per run | requests per run |");
    rule.push_str("---|---|");
    let _ = writeln!(t, "\n{head}\n{rule}");
    for c in contenders {
        let medians: Vec<Duration> = c
            .cells
            .iter()
            .map(|cell| median(cell.walls.clone()))
            .collect();
        let mut row = format!("| {} |", c.label);
        for m in &medians {
            let _ = write!(row, " {} |", ms(*m));
        }
        for (i, link) in far.iter().enumerate() {
            let _ = write!(
                row,
                " {:.1} |",
                round_trips_above(medians[0], medians[i + 1], link.rtt)
            );
        }
        let conns: Vec<String> = c.cells[1..]
            .iter()
            .map(|cell| cell.connections.to_string())
            .collect();
        let _ = writeln!(
            row,
            " {} | {} |",
            conns.join(" / "),
            breakdown(&c.cells[0].events)
        );
        t.push_str(&row);
    }
    if let (Some(labctl), Some(link)) = (contenders.first(), far.first()) {
        let medians: Vec<Duration> = labctl
            .cells
            .iter()
            .map(|c| median(c.walls.clone()))
            .collect();
        let rt = round_trips_above(medians[0], medians[1], link.rtt);
        let _ = writeln!(
            t,
            "\nlabctl over {}: {rt:.1} round trips above loopback (median of {runs}; goal <= 3: {}; measured, not asserted)",
            link.label(),
            if rt <= 3.0 { "met" } else { "NOT met" }
        );
        if let Some(kubectl) = contenders.last() {
            let k = median(kubectl.cells[1].walls.clone());
            let _ = writeln!(
                t,
                "speed-up over the kubectl baseline at {}: {:.1}x",
                link.label(),
                k.as_secs_f64() / medians[1].as_secs_f64().max(1e-9)
            );
        }
    }
    t
}

#[test]
fn round_trips_are_the_distance_cost_in_rtts() {
    let near = Duration::from_millis(60);
    assert_eq!(
        round_trips_above(near, Duration::from_millis(160), Duration::from_millis(50)),
        2.0
    );
}
