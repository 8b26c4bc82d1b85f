//! A step's result as a [`Submission`], queued and then delivered with everything queued before
//! it, oldest first, within a time budget: a slow or unreachable class server costs a learner
//! about a second per command, never more, and what was not sent waits for the next command.
//!
//! A submission carries statuses, check and diagnosis ids, durations and the one-line text the
//! report already showed the learner; never a kubeconfig, a cluster token or object contents.

use super::client::{Answer, Client};
use super::error::PushError;
use super::join::{Joined, push_dir};
use super::queue::Queue;
use crate::class::wire::{
    CheckOutcome, CheckStatus, MAX_MESSAGE_BYTES, StepStatus, Submission, SubmitCommand,
};
use crate::eval::result::{CheckResult, Status};
use crate::report::event::GradeReport;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// How long one labctl command may spend delivering results.
pub const BUDGET: Duration = Duration::from_secs(1);

/// The submission of a graded step.
pub fn submission(
    lab: &str,
    step: &str,
    report: &GradeReport,
    command: SubmitCommand,
) -> Submission {
    let status = match report.status {
        Status::Passed => StepStatus::Passed,
        Status::Error => StepStatus::Error,
        // A step whose checks were all skipped is not done (the learner stays on it).
        Status::Failed | Status::Skipped => StepStatus::Failed,
    };
    Submission {
        id: new_id(),
        lab: lab.to_owned(),
        step: step.to_owned(),
        command,
        at: crate::view::snapshot::now_rfc3339(),
        duration_ms: millis(report.duration),
        status,
        checks: report
            .steps
            .iter()
            .flat_map(|s| &s.checks)
            .map(outcome)
            .collect(),
    }
}

fn outcome(c: &CheckResult) -> CheckOutcome {
    let status = match c.status {
        Status::Passed => CheckStatus::Passed,
        Status::Failed => CheckStatus::Failed,
        Status::Skipped => CheckStatus::Skipped,
        Status::Error => CheckStatus::Error,
    };
    // What the report showed about a check that did not pass: why it was skipped or could not
    // be evaluated, else what it found.
    let message = match c.status {
        Status::Passed => None,
        _ => c
            .message
            .as_deref()
            .or(Some(c.actual.as_str()))
            .filter(|m| !m.trim().is_empty())
            .map(|m| truncate(m, MAX_MESSAGE_BYTES)),
    };
    CheckOutcome {
        id: c.id.clone(),
        status,
        diagnosis: c.diagnoses.first().map(|d| d.id.clone()),
        message,
        duration_ms: Some(millis(c.duration)),
    }
}

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

/// At most `max` bytes of `s`, cut at a character boundary.
fn truncate(s: &str, max: usize) -> String {
    let mut end = s.len().min(max);
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    s[..end].to_owned()
}

/// 64 random hex digits (as the server makes its tokens): the submission's id, kept across
/// retries.
fn new_id() -> String {
    crate::class::serve::secret::new_secret().unwrap_or_else(|_| {
        // No system randomness: the time and the process still make it unique on this machine.
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0);
        format!("{nanos:032x}{:08x}", std::process::id())
    })
}

/// What one delivery did.
#[derive(Debug, Default)]
pub struct Delivery {
    pub sent: usize,
    /// Refused for good: (where the file was moved, HTTP status, the server's reason).
    pub rejected: Vec<(PathBuf, u16, String)>,
    /// Still queued.
    pub pending: usize,
    /// Why the rest is still queued.
    pub problem: Option<String>,
}

/// Send what is queued, oldest first, until it is all sent or `budget` is spent. A file is
/// deleted only once the server has it (a duplicate too: it has it); an answer that retrying
/// cannot change moves it aside; anything else stops here and keeps the order.
pub fn deliver(joined: &Joined, queue: &Queue, budget: Duration) -> Delivery {
    let mut done = Delivery::default();
    done.problem = send_queued(joined, queue, budget, &mut done)
        .err()
        .map(|e| e.to_string());
    done.pending = queue.pending().len();
    done
}

fn send_queued(
    joined: &Joined,
    queue: &Queue,
    budget: Duration,
    done: &mut Delivery,
) -> Result<(), PushError> {
    let started = Instant::now();
    let client = Client::new(joined)?;
    let runtime = crate::view::runtime::runtime()?;
    let sent = runtime.block_on(async {
        for path in queue.pending() {
            let Some(body) = queue.read(&path) else {
                let to = queue.reject(&path).map_err(PushError::Queue)?;
                done.rejected
                    .push((to, 0, "the queued file cannot be read".into()));
                continue;
            };
            let left = budget.saturating_sub(started.elapsed());
            let answer = tokio::time::timeout(left, client.submit(body))
                .await
                .map_err(|_| PushError::Timeout {
                    secs: budget.as_secs_f32(),
                })??;
            match answer {
                Answer::Accepted { .. } => {
                    queue.done(&path).map_err(PushError::Queue)?;
                    done.sent += 1;
                }
                Answer::Rejected { status, error } => {
                    let to = queue.reject(&path).map_err(PushError::Queue)?;
                    done.rejected.push((to, status, error));
                }
                Answer::Later { status, error } => {
                    return Err(PushError::Answered { status, error });
                }
            }
        }
        Ok(())
    });
    // A name lookup still running must not hold the command up when the runtime is dropped.
    runtime.shutdown_background();
    sent
}

/// After `check`, `check --wait` or `solve` graded `step`: when this state folder joined a class
/// for this lab, queue the result and deliver what is queued, then say in a line what happened.
/// Never fails the command: learning goes on whatever the class server does.
pub fn after_step(
    state_dir: &Path,
    lab: &str,
    step: &str,
    report: &GradeReport,
    command: SubmitCommand,
) {
    let joined = match Joined::load(state_dir) {
        Ok(Some(j)) if j.lab == lab => j,
        Ok(_) => return,
        Err(e) => {
            eprintln!("note: results are not sent to the class: {e}");
            return;
        }
    };
    let queue = Queue::new(&push_dir(state_dir));
    if let Err(e) = queue.push(&submission(lab, step, report, command)) {
        eprintln!("note: cannot keep this result for the class: {e}");
    }
    let done = deliver(&joined, &queue, BUDGET);
    for line in lines(&joined, &done) {
        println!("{line}");
    }
}

/// What the learner is told about a delivery.
fn lines(joined: &Joined, done: &Delivery) -> Vec<String> {
    let mut out = Vec::new();
    for (path, status, error) in &done.rejected {
        out.push(format!(
            "The class server refused a result ({status}: {error}); it is kept in {}.",
            path.display()
        ));
    }
    match (done.pending, &done.problem) {
        (0, _) if done.sent > 0 => out.push(format!("Sent to the class at {}.", joined.server)),
        (0, _) => {}
        (n, problem) => out.push(format!(
            "{n} result{} waiting for the class at {} ({}); sent with your next `labctl check`.",
            if n == 1 { "" } else { "s" },
            joined.server,
            problem.as_deref().unwrap_or("not sent yet")
        )),
    }
    out
}

/// For `labctl status`: deliver what is queued (within the budget), then one line: how many
/// results wait, or that all were sent. `None` when this state folder joined no class.
pub fn status_line(state_dir: &Path) -> Option<String> {
    let joined = match Joined::load(state_dir) {
        Ok(j) => j?,
        Err(e) => return Some(format!("results: not sent ({e})")),
    };
    let queue = Queue::new(&push_dir(state_dir));
    let done = deliver(&joined, &queue, BUDGET);
    Some(match (done.pending, done.problem) {
        (0, _) => format!(
            "results: all sent to {} (as {})",
            joined.server,
            crate::render::text::plain_text(&joined.learner)
        ),
        (n, problem) => format!(
            "results: {n} pending for {}{}",
            joined.server,
            problem.map(|p| format!(" ({p})")).unwrap_or_default()
        ),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::eval::result::Found;
    use crate::report::event::{RunInfo, StepReport};

    fn report(status: Status, checks: Vec<CheckResult>) -> GradeReport {
        GradeReport {
            info: RunInfo {
                lab: "istio-aks".into(),
                title: "t".into(),
                profile: "kind".into(),
                revision: None,
                context: None,
                snapshot: None,
                learner: None,
                started_at: "2026-12-06T02:10:00Z".into(),
                warnings: vec![],
                discovered: vec![],
            },
            status,
            duration: Duration::from_millis(1500),
            steps: vec![StepReport {
                id: "onboard".into(),
                title: "t".into(),
                status,
                duration: Duration::from_millis(1500),
                checks,
            }],
        }
    }

    #[test]
    fn a_submission_carries_ids_statuses_and_the_report_line_only() {
        let mut failed = CheckResult::new("sidecar", "Sidecars injected", Status::Failed);
        failed.actual = "pod web-1 has no istio-proxy".into();
        failed.expected = "secret stuff from the object".into();
        failed.diagnoses = vec![Found {
            id: "no-label".into(),
            cause: "c".into(),
            fix: "f".into(),
        }];
        failed.duration = Duration::from_millis(12);
        let mut long = CheckResult::new("ns", "Namespace", Status::Error);
        long.message = Some("é".repeat(MAX_MESSAGE_BYTES));
        let passed = CheckResult::new("ok", "Fine", Status::Passed);
        let report = report(Status::Error, vec![failed, long, passed]);
        let s = submission("istio-aks", "onboard", &report, SubmitCommand::CheckWait);
        assert!(crate::class::wire::valid_id(&s.id));
        assert_ne!(s.id, submission("l", "s", &report, SubmitCommand::Check).id);
        assert_eq!((s.status, s.duration_ms), (StepStatus::Error, 1500));
        assert_eq!(s.checks[0].diagnosis.as_deref(), Some("no-label"));
        assert_eq!(
            s.checks[0].message.as_deref(),
            Some("pod web-1 has no istio-proxy")
        );
        assert!(s.checks[1].message.as_ref().unwrap().len() <= MAX_MESSAGE_BYTES);
        assert_eq!(s.checks[2].message, None);
        let json = serde_json::to_string(&s).unwrap();
        assert!(!json.contains("secret stuff"));
    }

    #[test]
    fn an_unreachable_server_keeps_everything_queued_in_order() {
        let dir = tempfile::tempdir().unwrap();
        // A port nothing listens on: bind, learn the port, close.
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let joined = Joined {
            server: format!("http://127.0.0.1:{port}"),
            learner: "ana".into(),
            lab: "istio-aks".into(),
            token: "t".into(),
            pin: None,
        };
        let queue = Queue::new(&push_dir(dir.path()));
        let report = report(Status::Passed, vec![]);
        for _ in 0..2 {
            queue
                .push(&submission("istio-aks", "s", &report, SubmitCommand::Solve))
                .unwrap();
        }
        let done = deliver(&joined, &queue, BUDGET);
        assert_eq!((done.sent, done.pending), (0, 2));
        assert!(done.problem.is_some());
        let text = lines(&joined, &done).join("\n");
        assert!(text.contains("2 results waiting"), "{text}");
    }
}
