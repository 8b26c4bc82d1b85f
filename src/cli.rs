//! The command line: every subcommand, flag and help text lives here.

use clap::{Args, Parser, Subcommand, ValueEnum};
use std::path::PathBuf;

#[derive(Debug, Parser)]
#[command(
    name = "labctl",
    version = crate::bundle::VERSION,
    about = "Lab runner and automated grader for hands-on Kubernetes workshops",
    long_about = "Lab runner and automated grader for hands-on Kubernetes workshops.\n\n\
Learners follow a lab on their own cluster and ask labctl whether each step is done; lab authors \
validate labs and replay them in CI.",
    after_help = "Exit codes: 0 all passed · 1 a check failed · 2 could not grade or validate (lab files, cluster) · 3 usage error · 70 internal error\n\n\
Examples:\n  labctl validate                      check every lab under ./labs\n  labctl list                          the labs, their steps and profiles\n  labctl show istio-aks --profile kind  read the lab for a kind cluster\n  labctl show istio-aks onboard-mesh   one step"
)]
pub struct Cli {
    /// Folder holding the labs [default: $LABCTL_LABS, else ./labs when it holds a lab, else the
    /// labs bundled with this binary]
    #[arg(long, global = true, value_name = "DIR")]
    pub labs: Option<PathBuf>,
    /// When to use colours (NO_COLOR is honoured in `auto`)
    #[arg(long, global = true, value_enum, default_value_t = ColorChoice::Auto, value_name = "WHEN")]
    pub color: ColorChoice,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum ColorChoice {
    Auto,
    Always,
    Never,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Check lab files: syntax, unknown fields, variables, checks, manifests, solve commands
    #[command(
        long_about = "Parse and lint labs: unknown fields (with suggestions), undefined variables, \
missing files, steps without checks, profiles without solve commands, duplicate ids, CEL that does not \
compile, and every Kubernetes manifest in a step (heredocs, yaml blocks, stand-ins of remote manifests) \
against the kind it claims. Errors point at file:line:col. Exits 0 when all labs are valid, 2 when not."
    )]
    Validate {
        /// Lab folders, lab.yaml files, or folders of labs [default: the --labs folder]
        #[arg(value_name = "PATH")]
        paths: Vec<PathBuf>,
    },
    /// List the labs with their steps and profiles
    List,
    /// Show a lab's instructions in the terminal, for one profile
    #[command(
        long_about = "Render a lab (or one step) for a profile: variables substituted, \
commands set apart so they copy cleanly, commands for other profiles left out."
    )]
    #[command(
        after_help = "Without LAB, shows the current step of the lab you started (`labctl start`)."
    )]
    Show {
        /// Lab name (a folder under --labs) or path to a lab folder [default: your started lab's current step]
        lab: Option<String>,
        /// Only this step (by id, e.g. `onboard-mesh`, or number, e.g. `3`)
        step: Option<String>,
        #[command(flatten)]
        plan: PlanArgs,
    },
    /// Grade a cluster (or a snapshot of one) against a lab: every step, or one
    #[command(
        long_about = "Grade a cluster against a lab. For each step: passed or failed; for each \
failing check what was expected, what was found, the known cause and the fix. Reads the cluster \
(get/list), one LIST per kind and namespace. Probe checks send real requests: from labctl, from a \
pod that already runs (exec), or from a short-lived probe pod — the only thing labctl ever creates, \
labelled app.kubernetes.io/managed-by=labctl and deleted afterwards, also on Ctrl-C or SIGTERM (exit 130, 143). \
`--no-probes` skips them; a snapshot grade never runs them. The lab's cleanup step is graded \
only when asked for with `--step cleanup`.\n\nExit codes: 0 all passed, 1 a check failed, 2 could not \
grade (cluster unreachable or forbidden, a check that cannot be evaluated), 3 usage error.",
        after_help = "Examples:\n  labctl grade istio-aks --profile aks\n  labctl grade istio-aks --profile kind --context kind-lab --junit results.xml\n  labctl grade istio-aks --snapshot labs/istio-aks/snapshots/finished-aks.json\n  labctl grade istio-aks --step onboard-mesh -o json"
    )]
    Grade(GradeArgs),
    /// Capture the objects a lab's checks read into a file, to grade later or elsewhere
    #[command(
        long_about = "Write exactly the objects the lab's checks read (never Secrets; no managedFields or \
last-applied annotations) to a JSON file that `labctl grade --snapshot` grades offline. A learner can send \
it to an instructor instead of cluster credentials."
    )]
    Snapshot {
        /// Lab name (a folder under --labs) or path to a lab folder
        lab: String,
        #[command(flatten)]
        plan: PlanArgs,
        #[command(flatten)]
        cluster: ClusterArgs,
        /// Where to write the snapshot [default: standard output]
        #[arg(long, short = 'o', value_name = "FILE")]
        output: Option<PathBuf>,
    },
    /// Replay a lab end to end on a cluster (content CI): solve, wait, check, clean up
    #[command(
        long_about = "Replay a lab for one profile, the way a learner would follow it: for each step run \
its solve commands (the `bash solve` blocks of the step's Markdown — the very commands learners copy; \
each with bash -euo pipefail and a timeout, output shown and kept), then wait for the step's checks \
to pass, watching the cluster like `labctl check --wait`. The first step that fails stops the run: \
its checks are shown with their diagnoses, with the recent events of the namespaces involved and \
the objects the failing checks selected. Then the lab's cleanup step runs (unless --keep) and every \
object the run created that still exists is reported as a leftover.\n\n\
Commands run with your environment, against KUBECONFIG (or --kubeconfig/--context: labctl points \
the commands at the same cluster it grades, without copying credentials).\n\n\
Exit codes: 0 every step and the cleanup passed, nothing left over · 1 a step failed or objects \
were left over · 2 could not grade (cluster unreachable or forbidden, invalid lab) · 3 usage error.",
        after_help = "Examples:\n  labctl ci istio-aks --profile kind --junit ci-kind.xml\n  labctl ci istio-aks --profile aks --var resourceGroup=rg-ci --var clusterName=aks-ci --timeout 10m\n  labctl ci istio-aks --profile kind --from ingress --keep    # iterate on one step, keep the cluster\n  labctl ci istio-aks --profile aks --use-stand-ins          # no network: local stand-ins of remote manifests"
    )]
    Ci(CiArgs),
    /// Instructor tools: grade a whole class at once
    Class {
        #[command(subcommand)]
        command: ClassCommand,
    },
    /// Start a lab: remember lab, profile, cluster context and variables, and show step 1
    #[command(
        long_about = "Start a lab: remember the lab, profile, cluster (kubeconfig and context) and \
variables, and show step 1. Progress is kept per lab and context.\n\n\
On a lab already started on that context, `start` changes what you give (`--var`, `--profile`, \
`--kubeconfig`) and keeps your progress; `--force` starts over instead. `--move` takes the \
progress of the lab started on another context (the most recent one) over to `--context`.\n\nA lab that builds on another (`labctl list`: REQUIRES) starts only on a cluster where that lab is done: `start` grades it first (without probes) and, when it is not, says which checks fail and how to get there. `--skip-prerequisite` starts without grading it.",
        after_help = "Examples:\n  labctl start istio-aks --profile aks --var resourceGroup=rg-lab --var clusterName=aks-lab\n  labctl start istio-aks-zero-trust --profile kind     # grades istio-aks on this cluster first\n  labctl start istio-aks --profile kind --context kind-lab\n  labctl start istio-aks --context kind-lab --var revision=asm-1-24   # change a variable, keep progress\n  labctl start istio-aks --context kind-new --move                   # same progress, another cluster"
    )]
    Start {
        /// Lab name (a folder under --labs) or path to a lab folder
        lab: String,
        #[command(flatten)]
        plan: PlanArgs,
        /// Kubeconfig context to grade against [default: kubectl's current context at each command]
        #[arg(long, value_name = "NAME")]
        context: Option<String>,
        /// Kubeconfig file for this lab [default: $KUBECONFIG, then ~/.kube/config]
        #[arg(long, value_name = "FILE")]
        kubeconfig: Option<PathBuf>,
        /// Start over even if this lab was already started on this context
        #[arg(long, conflicts_with = "move_progress")]
        force: bool,
        /// Move the progress of this lab started on another context to this one
        #[arg(long = "move", id = "move_progress")]
        move_progress: bool,
        /// Start without grading the lab this one builds on (`requires:`) first
        #[arg(long)]
        skip_prerequisite: bool,
        /// Join a live class first: the link from your instructor (see `labctl class join`)
        #[arg(long, value_name = "LINK")]
        join: Option<String>,
    },
    /// Check the current step; on success, move on to the next one
    Check {
        /// Keep watching the cluster until the step passes, up to TIMEOUT (default 5m)
        #[arg(long, value_name = "TIMEOUT", num_args = 0..=1, default_missing_value = "5m", value_parser = parse_duration)]
        wait: Option<std::time::Duration>,
        /// Do not run the step's probes (real requests from short-lived pods); they are skipped
        #[arg(long)]
        no_probes: bool,
        /// Kubeconfig file for this check [default: the one given at start, else $KUBECONFIG, then ~/.kube/config]
        #[arg(long, value_name = "FILE")]
        kubeconfig: Option<PathBuf>,
        #[command(flatten)]
        learner: LearnerArgs,
    },
    /// Show one more hint for the current step
    Hint {
        #[command(flatten)]
        learner: LearnerArgs,
    },
    /// Show the commands that solve a step, ask, run them, then check
    Solve {
        /// Step to solve (id or number) [default: the current step]
        step: Option<String>,
        /// Do not ask before running the commands
        #[arg(long, short = 'y')]
        yes: bool,
        /// Kubeconfig file for the commands and the check [default: the one given at start, else $KUBECONFIG, then ~/.kube/config]
        #[arg(long, value_name = "FILE")]
        kubeconfig: Option<PathBuf>,
        #[command(flatten)]
        learner: LearnerArgs,
    },
    /// Progress through the lab: steps done, time spent, last result per step
    Status {
        #[command(flatten)]
        learner: LearnerArgs,
    },
    /// Forget progress: the whole lab, or one step (and the steps after it)
    Reset {
        /// Reset from this step on (id or number); without it, the whole lab
        #[arg(long, value_name = "ID")]
        step: Option<String>,
        #[command(flatten)]
        learner: LearnerArgs,
    },
}

#[derive(Debug, Subcommand)]
pub enum ClassCommand {
    /// Grade every learner of a roster: a learner × step matrix, what to explain to the room, exports
    #[command(
        long_about = "Grade every learner listed in a roster (YAML) against a lab, concurrently, and show \
who is where: a learner × step matrix sorted by progress (passed, failed, not reached, error, \
unreachable), how many finished each step, and the most common failing check with its diagnosis \
and fix — the thing to explain to the room. Optionally writes a self-contained HTML page, CSV \
(a row per learner, a column per step, a score), JUnit (a testsuite per learner) and JSON.\n\n\
Learners on the same cluster (kubeconfig + context) share one connection: identical queries are \
fetched once, and a kind asked for in many namespaces is listed once across all namespaces (per \
namespace if that is forbidden). Each cluster gets --timeout; an unreachable or forbidden learner \
is a row that says so and never holds up the others. Only get/list are sent. Command checks are \
not run in class reports (they would run on this machine, against the wrong cluster): they show \
as skipped.\n\n\
A learner's step is `not reached` when it fails and an earlier step is unfinished: where a learner \
is, is their first unfinished step.\n\n\
Roster format (relative paths start at the roster's folder; `{{ learner }}` is the learner's name):\n\n\
  lab: istio-aks\n  profile: kind\n  variables: { revision: asm-1-23 }\n  clusters:\n    workshop:\n      \
kubeconfig: ~/.kube/config\n      context: kind-workshop\n      variables: { appNamespace: \"pets-{{ learner }}\" }\n  \
learners:\n    - { name: alice, cluster: workshop }\n    - { name: bob, kubeconfig: ./bob.yaml, context: bob-aks }\n    \
- { name: carol, snapshot: ./carol.json }\n\n\
Exit codes: 0 the report was made (whatever the learners' results: a class report informs, it \
does not judge), 2 the roster or lab is invalid or a file cannot be written, 3 usage error.",
        after_help = "Examples:\n  labctl class report class.yaml\n  labctl class report class.yaml --lab istio-aks --profile kind --html report.html --csv grades.csv\n  labctl class report class.yaml --watch 30s\n  labctl class report class.yaml --junit class.xml --json class.json --concurrency 32 --timeout 5s"
    )]
    Report(ClassReportArgs),
    /// Join a live class: from then on, `check` and `solve` send each step's result to it
    #[command(
        long_about = "Join a live class run with `labctl class serve`, with the link your \
instructor gave you (`labctl class invite` prints one per learner). labctl checks the link and the \
server's certificate (pinned in the link, or trusted by this machine), asks the server who the \
token belongs to, and keeps the link in your state folder, readable only by you.\n\n\
From then on every `check`, `check --wait` and `solve` sends the step's result: the step, each \
check's status, its diagnosis id, the one-line text the report showed, and durations. Never a \
kubeconfig, a cluster token or the contents of objects. When the server cannot be reached, \
results wait in the state folder and go, in order and once, with a later command; a slow server \
costs at most about a second. `labctl status` says whether results are waiting.\n\n\
Exit codes: 0 joined · 2 the server could not be reached or refused the token · 3 the link is \
not valid.",
        after_help = "Examples:\n  labctl class join 'https://class.example:8443/join?learner=ana&token=…&pin=sha256:…'\n  labctl start istio-aks --profile aks --join 'https://…'"
    )]
    Join {
        /// The join link (or the whole `labctl class join '…'` line, pasted)
        #[arg(value_name = "LINK")]
        link: String,
    },
    /// Run the class server: learners' labctl sends each step's result, the dashboard shows the class live
    #[command(
        long_about = "Serve a live dashboard of the class and receive each learner's results: after \
`labctl class join`, every `check`, `check --wait` and `solve` of a learner sends the step's result here. \
One process, one SQLite file (beside the roster, or --db); each result is on disk before it is \
acknowledged. TLS by default: with no --tls-cert, a self-signed certificate is made once and kept in \
the database, and the join links pin it. The dashboard and exports need the instructor key, printed \
at the first start. A learner who joins needs no cluster, kubeconfig or snapshot in the roster; \
learners that have one are graded by pulling (--pull-every) and shown on the same dashboard.",
        after_help = "Examples:\n  labctl class serve class.yaml\n  labctl class invite class.yaml --server https://class.example.org:8443\n  labctl class serve class.yaml --listen 127.0.0.1:8080 --http"
    )]
    Serve(ClassServeArgs),
    /// Make each learner's join command (a new token for each learner named, or for those without one)
    Invite {
        #[command(flatten)]
        class: ClassDb,
        /// The server's address as learners reach it [default: the address `class serve` last listened on]
        #[arg(long, value_name = "URL")]
        server: Option<String>,
        /// Only these learners (their old token stops working) [default: learners without a token]
        #[arg(value_name = "LEARNER")]
        learners: Vec<String>,
    },
    /// Revoke a learner's token: its results are refused (403) until invited again
    Revoke {
        #[command(flatten)]
        class: ClassDb,
        #[arg(value_name = "LEARNER")]
        learner: String,
    },
    /// Write the pushed results as `class report` writes them: CSV, JSON or JUnit
    Export {
        #[command(flatten)]
        class: ClassDb,
        #[arg(long, value_enum)]
        format: ExportFormat,
        /// Where to write [default: standard output]
        #[arg(long, short = 'o', value_name = "FILE")]
        output: Option<PathBuf>,
    },
}

/// A class server's roster and database.
#[derive(Debug, Args, Clone)]
pub struct ClassDb {
    /// Roster file (YAML): the learners
    #[arg(value_name = "ROSTER")]
    pub roster: PathBuf,
    /// Lab name or folder [default: the roster's `lab:`]
    #[arg(long, value_name = "LAB")]
    pub lab: Option<String>,
    /// The class database [default: the roster's path with `.db` added]
    #[arg(long, value_name = "FILE")]
    pub db: Option<PathBuf>,
}

#[derive(Debug, Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum ExportFormat {
    Csv,
    Json,
    Junit,
}

/// Everything `labctl class serve` is asked for.
#[derive(Debug, Args, Clone)]
pub struct ClassServeArgs {
    #[command(flatten)]
    pub class: ClassDb,
    /// Address and port to listen on
    #[arg(long, value_name = "ADDR:PORT", default_value = "0.0.0.0:8443")]
    pub listen: std::net::SocketAddr,
    /// A real certificate (PEM chain); join links then carry no pin
    #[arg(long, value_name = "FILE", requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,
    /// The certificate's private key (PEM)
    #[arg(long, value_name = "FILE", requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,
    /// Plain HTTP, no TLS: only on a loopback address
    #[arg(long, conflicts_with = "tls_cert")]
    pub http: bool,
    /// Make a new instructor key (the old one stops working) and print it
    #[arg(long)]
    pub new_instructor_key: bool,
    /// Grade the roster's learners with a cluster or snapshot by pulling, every INTERVAL (0: never)
    #[arg(long, value_name = "INTERVAL", default_value = "30s", value_parser = parse_interval)]
    pub pull_every: std::time::Duration,
}

/// Everything `labctl class report` is asked for.
#[derive(Debug, Args, Clone)]
pub struct ClassReportArgs {
    /// Roster file (YAML): the learners and where to grade each
    #[arg(value_name = "ROSTER")]
    pub roster: PathBuf,
    /// Lab name or folder [default: the roster's `lab:`]
    #[arg(long, value_name = "LAB")]
    pub lab: Option<String>,
    /// Profile for every learner [default: the roster's `profile:`, else the lab's first]
    #[arg(long, short = 'p', value_name = "PROFILE")]
    pub profile: Option<String>,
    /// Also write a self-contained HTML report
    #[arg(long, value_name = "FILE")]
    pub html: Option<PathBuf>,
    /// Also write CSV: a row per learner, a column per step, a score
    #[arg(long, value_name = "FILE")]
    pub csv: Option<PathBuf>,
    /// Also write JSON: the matrix, the summary and every learner's grade
    #[arg(long, value_name = "FILE")]
    pub json: Option<PathBuf>,
    /// Also write JUnit XML: a testsuite per learner, a testcase per step
    #[arg(long, value_name = "FILE")]
    pub junit: Option<PathBuf>,
    /// Grade again every INTERVAL (e.g. 30s), redrawing in place, until Ctrl-C
    #[arg(long, value_name = "INTERVAL", value_parser = parse_duration)]
    pub watch: Option<std::time::Duration>,
    /// Clusters fetched at once (and requests in flight per cluster)
    #[arg(long, value_name = "N", default_value_t = 16, value_parser = clap::value_parser!(u16).range(1..=512))]
    pub concurrency: u16,
    /// Give up on a cluster after this long (each learner's own cluster, or a shared one)
    #[arg(long, value_name = "DURATION", default_value = "10s", value_parser = parse_duration)]
    pub timeout: std::time::Duration,
    /// List each namespace separately, never a kind across all namespaces (for comparison)
    #[arg(long, hide = true)]
    pub per_namespace_lists: bool,
    /// Stop watching after this many rounds (tests)
    #[arg(long, hide = true, value_name = "N")]
    pub rounds: Option<u32>,
    /// Print what the run cost (connections, LIST requests, fetch and grade time) on stderr
    #[arg(long)]
    pub stats: bool,
}

/// Everything `labctl grade` is asked for.
#[derive(Debug, Args, Clone)]
pub struct GradeArgs {
    /// Lab name (a folder under --labs) or path to a lab folder
    pub lab: String,
    #[command(flatten)]
    pub plan: PlanArgs,
    #[command(flatten)]
    pub cluster: ClusterArgs,
    /// Grade only this step (by id)
    #[arg(long, value_name = "ID")]
    pub step: Option<String>,
    /// Grade a snapshot file (from `labctl snapshot`) instead of a live cluster; command checks are skipped
    #[arg(long, value_name = "FILE", conflicts_with_all = ["kubeconfig", "context"])]
    pub snapshot: Option<PathBuf>,
    /// Also write JUnit XML (one testsuite per step, one testcase per check)
    #[arg(long, value_name = "FILE")]
    pub junit: Option<PathBuf>,
    /// Also write the JSON report (schema: docs/json-schema.md)
    #[arg(long, value_name = "FILE")]
    pub json: Option<PathBuf>,
    /// Output on stdout
    #[arg(long, short = 'o', value_enum, default_value_t = Output::Text)]
    pub output: Output,
    /// Name of the learner, recorded in reports
    #[arg(long, value_name = "NAME")]
    pub learner: Option<String>,
    /// Show passing and skipped checks too
    #[arg(long, short = 'v')]
    pub verbose: bool,
    /// Do not run probes (real requests; probe pods are the only thing labctl creates, and it
    /// deletes them); probe checks are reported as skipped
    #[arg(long)]
    pub no_probes: bool,
}

/// Everything `labctl ci` is asked for.
#[derive(Debug, Args, Clone)]
pub struct CiArgs {
    /// Lab name (a folder under --labs) or path to a lab folder
    pub lab: String,
    #[command(flatten)]
    pub plan: PlanArgs,
    /// Kubeconfig file for labctl and the solve commands [default: $KUBECONFIG, then ~/.kube/config]
    #[arg(long, value_name = "FILE")]
    pub kubeconfig: Option<PathBuf>,
    /// Kubeconfig context for labctl and the solve commands [default: the current context]
    #[arg(long, value_name = "NAME")]
    pub context: Option<String>,
    /// Also write JUnit XML: a testsuite per step, a testcase per solve block (with its output) and per check
    #[arg(long, value_name = "FILE")]
    pub junit: Option<PathBuf>,
    /// Leave the cluster as the last step left it: no cleanup, no leftover report
    #[arg(long)]
    pub keep: bool,
    /// Start at this step (by id); the steps before it must already be done on the cluster
    #[arg(long, value_name = "STEP")]
    pub from: Option<String>,
    /// How long each step's checks may take to pass once its commands are done
    #[arg(long, value_name = "DURATION", default_value = "5m", value_parser = parse_duration)]
    pub timeout: std::time::Duration,
    /// How long one solve block may run before it is killed
    #[arg(long, value_name = "DURATION", default_value = "10m", value_parser = parse_duration)]
    pub command_timeout: std::time::Duration,
    /// Replace each remote manifest URL the lab declares (`manifests:`) by its local stand-in file
    #[arg(long)]
    pub use_stand_ins: bool,
    /// Skip probe checks (requests from probe pods, exec, labctl) and say so in every report
    #[arg(long)]
    pub no_probes: bool,
}

#[derive(Debug, Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum Output {
    Text,
    Json,
}

/// Which started lab a learner command is about, when more than one is in progress.
#[derive(Debug, Args, Clone, Default)]
pub struct LearnerArgs {
    /// The lab [default: the one started most recently]
    #[arg(long, value_name = "LAB")]
    pub lab: Option<String>,
    /// Kubeconfig context the lab was started on [default: the one recorded at start]; for a
    /// lab started on kubectl's current context, the context to use this time
    #[arg(long, value_name = "NAME")]
    pub context: Option<String>,
}

/// Which cluster to talk to, as kubectl chooses it.
#[derive(Debug, Args, Clone)]
pub struct ClusterArgs {
    /// Kubeconfig file [default: $KUBECONFIG, then ~/.kube/config]
    #[arg(long, value_name = "FILE")]
    pub kubeconfig: Option<PathBuf>,
    /// Kubeconfig context [default: the current context]
    #[arg(long, value_name = "NAME")]
    pub context: Option<String>,
    /// Give up on the cluster after this long (e.g. 30s, 2m)
    #[arg(long, value_name = "DURATION", default_value = "30s", value_parser = parse_duration)]
    pub timeout: std::time::Duration,
}

fn parse_duration(s: &str) -> Result<std::time::Duration, String> {
    crate::labfile::load::parse_duration(s)
        .ok_or_else(|| format!("`{s}` is not a duration (e.g. 30s, 2m, 1m30s)"))
}

/// A duration, or `0` for none.
fn parse_interval(s: &str) -> Result<std::time::Duration, String> {
    if s == "0" {
        return Ok(std::time::Duration::ZERO);
    }
    parse_duration(s)
}

/// Flags that choose how a lab is resolved: which profile and which variable values.
#[derive(Debug, Args, Clone)]
pub struct PlanArgs {
    /// Profile to use (e.g. `aks`, `kind`) [default: the lab's first profile]
    #[arg(long, short = 'p', value_name = "PROFILE")]
    pub profile: Option<String>,
    /// Set a lab variable, e.g. `--var revision=asm-1-24` (repeatable)
    #[arg(long = "var", value_name = "NAME=VALUE")]
    pub vars: Vec<String>,
}
