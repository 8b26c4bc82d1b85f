//! The command line: every subcommand, flag and help text lives here.

use clap::{Args, Parser, Subcommand, ValueEnum};
use std::path::PathBuf;

#[derive(Debug, Parser)]
#[command(
    name = "labctl",
    version,
    about = "Lab runner and automated grader for hands-on Kubernetes workshops",
    long_about = "Lab runner and automated grader for hands-on Kubernetes workshops.\n\n\
Learners follow a lab on their own cluster and ask labctl whether each step is done; lab authors \
validate labs and replay them in CI.",
    after_help = "Exit codes: 0 all passed · 1 a check failed · 2 could not grade or validate (lab files, cluster) · 3 usage error\n\n\
Examples:\n  labctl validate                      check every lab under ./labs\n  labctl list                          the labs, their steps and profiles\n  labctl show istio-aks --profile kind  read the lab for a kind cluster\n  labctl show istio-aks onboard-mesh   one step"
)]
pub struct Cli {
    /// Folder holding the labs
    #[arg(
        long,
        global = true,
        env = "LABCTL_LABS",
        default_value = "labs",
        value_name = "DIR"
    )]
    pub labs: PathBuf,
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
    Show {
        /// Lab name (a folder under --labs) or path to a lab folder
        lab: String,
        /// Only this step (by id, e.g. `onboard-mesh`, or number, e.g. `3`)
        step: Option<String>,
        #[command(flatten)]
        plan: PlanArgs,
    },
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
