//! Facts for live grading: listed objects, plus commands run for real (bash, via duct) with a
//! timeout each. A command is run at most once per grade, however many checks ask for it.

use crate::eval::facts::{CommandFact, Facts, ProbeFact};
use crate::spec::lab::{Command, Probe};
use crate::view::objects::{FetchError, ObjectSet};
use crate::view::query::Query;
use serde_json::Value;
use std::collections::BTreeMap;
use std::sync::Mutex;

pub struct LiveFacts {
    pub objects: ObjectSet,
    ran: Mutex<BTreeMap<String, CommandFact>>,
    /// Probe outcomes, gathered before evaluation by [`crate::probe::run::Prober`] (concurrently).
    pub probes: BTreeMap<Probe, ProbeFact>,
    /// Set when probes are not run on purpose (`--no-probes`): every probe is skipped with it.
    pub probes_skipped: Option<String>,
}

impl LiveFacts {
    pub fn new(objects: ObjectSet) -> Self {
        LiveFacts {
            objects,
            ran: Mutex::new(BTreeMap::new()),
            probes: BTreeMap::new(),
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
        let fact = run_command(command);
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
}

/// Run `bash -c RUN` with the command's timeout; the process is killed when time runs out.
pub fn run_command(command: &Command) -> CommandFact {
    run_with_timeout(
        duct::cmd("bash", ["-c", command.run.as_str()]),
        command.timeout,
    )
}

/// Run a program with captured output; it is killed when `timeout` runs out. Also used to run
/// `kubectl exec` when the API server will not speak the exec WebSocket protocol.
pub fn run_with_timeout(expr: duct::Expression, timeout: std::time::Duration) -> CommandFact {
    let expr = expr
        .stdin_null()
        .stdout_capture()
        .stderr_capture()
        .unchecked();
    let handle = match expr.start() {
        Ok(h) => h,
        Err(e) => return CommandFact::Failed(format!("cannot start it: {e}")),
    };
    match handle.wait_timeout(timeout) {
        Ok(Some(out)) => CommandFact::Ran {
            exit_code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        },
        Ok(None) => {
            let _ = handle.kill();
            CommandFact::Failed(format!("timed out after {}s", timeout.as_secs()))
        }
        Err(e) => CommandFact::Failed(e.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, Instant};

    #[test]
    fn runs_and_times_out() {
        let ok = run_command(&Command {
            run: "echo hi; echo err >&2; exit 3".into(),
            timeout: Duration::from_secs(5),
        });
        assert_eq!(
            ok,
            CommandFact::Ran {
                exit_code: 3,
                stdout: "hi\n".into(),
                stderr: "err\n".into()
            }
        );
        let start = Instant::now();
        let slow = run_command(&Command {
            run: "sleep 30".into(),
            timeout: Duration::from_millis(300),
        });
        assert_eq!(slow, CommandFact::Failed("timed out after 0s".into()));
        assert!(start.elapsed() < Duration::from_secs(10));
    }
}
