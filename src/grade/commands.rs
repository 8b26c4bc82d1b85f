//! Facts for live grading: listed objects, plus commands run for real ([`crate::process`]: bash,
//! via duct, with a timeout each). A command is run at most once per grade, however many checks
//! ask for it. Probes and distributions are sent before evaluation, all at once, by
//! [`crate::probe::run::Prober`]; these facts only hand out what it found.

use crate::eval::distribution::DistributionFact;
use crate::eval::facts::{CommandFact, Facts, ProbeFact};
use crate::labfile::kinds::distribution::model::DistributionBody;
use crate::labfile::lab::{Command, Probe};
use crate::process::{CommandEnv, run_command};
use crate::view::objects::{FetchError, ObjectSet};
use crate::view::query::Query;
use serde_json::Value;
use std::collections::BTreeMap;
use std::sync::Mutex;

pub struct LiveFacts {
    pub objects: ObjectSet,
    /// Where command checks run (the cluster being graded, when it is not kubectl's default).
    pub env: CommandEnv,
    ran: Mutex<BTreeMap<String, CommandFact>>,
    /// Probe outcomes, gathered before evaluation by [`crate::probe::run::Prober`] (concurrently).
    pub probes: BTreeMap<Probe, ProbeFact>,
    /// Distribution answers, gathered with the probes.
    pub distributions: BTreeMap<DistributionBody, DistributionFact>,
    /// Set when probes are not run on purpose (`--no-probes`): every probe and distribution is
    /// skipped with it.
    pub probes_skipped: Option<String>,
}

impl LiveFacts {
    pub fn new(objects: ObjectSet) -> Self {
        LiveFacts {
            objects,
            env: CommandEnv::default(),
            ran: Mutex::new(BTreeMap::new()),
            probes: BTreeMap::new(),
            distributions: BTreeMap::new(),
            probes_skipped: None,
        }
    }
}

impl Facts for LiveFacts {
    fn list(&self, query: &Query) -> Result<&[Value], FetchError> {
        self.objects.get(query)
    }

    fn run(&self, command: &Command) -> CommandFact {
        if let Some(done) = self
            .ran
            .lock()
            .ok()
            .and_then(|m| m.get(&command.run).cloned())
        {
            return done;
        }
        let fact = run_command(command, &self.env);
        if let Ok(mut m) = self.ran.lock() {
            m.insert(command.run.clone(), fact.clone());
        }
        fact
    }

    fn probe(&self, probe: &Probe) -> ProbeFact {
        if let Some(reason) = &self.probes_skipped {
            return ProbeFact::Unavailable(reason.clone());
        }
        self.probes.get(probe).cloned().unwrap_or_else(|| {
            ProbeFact::Failed("internal error: the probe was not run before grading".into())
        })
    }

    fn distribution(&self, body: &DistributionBody) -> DistributionFact {
        if let Some(reason) = &self.probes_skipped {
            return DistributionFact::Unavailable(reason.clone());
        }
        self.distributions.get(body).cloned().unwrap_or_else(|| {
            DistributionFact::Failed(
                "internal error: the distribution was not sent before grading".into(),
            )
        })
    }
}

/// Solve blocks and command checks are bash. Where there is none on `PATH` (Windows outside WSL
/// and Git Bash), say so before anything runs, instead of failing on the first command.
pub fn require_bash(what: &str) -> Result<(), crate::error::Error> {
    let found = std::env::var_os("PATH").is_some_and(|path| {
        std::env::split_paths(&path)
            .any(|dir| dir.join("bash").is_file() || dir.join("bash.exe").is_file())
    });
    if found {
        return Ok(());
    }
    let hint = if cfg!(windows) {
        "on Windows, run it in WSL or in Git Bash (https://learn.microsoft.com/windows/wsl/install)"
    } else {
        "install bash (e.g. `apt-get install bash`) and run it again"
    };
    Err(crate::error::Error::Usage(format!(
        "{what} runs bash commands, and no `bash` is on PATH: {hint}"
    )))
}
