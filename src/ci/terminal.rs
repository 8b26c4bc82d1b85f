//! `labctl ci` in a terminal or a CI log: each block in full before it runs (after the file
//! and line it comes from), its output as it arrives, then each step's verdict; a failing step shows
//! its checks as `labctl grade` does (expected, actual, cause, fix) and the debug output.
//!
//! ```text
//! ▶ 2/7 deploy-app  Deploy the pets app
//!   # steps/02-deploy-app.md:22
//!   $ kubectl create namespace pets --dry-run=client -o yaml | kubectl apply -f -
//!     kubectl apply -n pets -f https://raw.githubusercontent.com/…/aks-store-quickstart.yaml
//!   │ namespace/pets created
//!   ✔ block 1/1 succeeded in 412ms
//!   … waiting up to 5m00s for the step's checks
//! ✔ deploy-app passed in 3.2s
//! ```

use crate::ci::report::{CiEvent, CiReport, CiReporter, CiStep, StepOutcome};
use crate::render::terminal::Look;
use crate::report::collect::plain_text;
use crate::report::terminal::{human_duration, step_report};
use console::Style;
use std::io::{self, Write};

pub struct CiTerminal {
    out: Box<dyn Write>,
    look: Look,
}

impl CiTerminal {
    pub fn new(out: Box<dyn Write>, look: Look) -> Self {
        CiTerminal { out, look }
    }

    fn paint(&self, style: Style, s: &str) -> String {
        self.look.paint(style, s)
    }

    fn verdict(&self, step: &CiStep) -> String {
        let (symbol, text) = match &step.outcome {
            StepOutcome::Passed => (
                self.paint(Style::new().green().bold(), "✔"),
                format!("passed in {}", human_duration(step.duration)),
            ),
            StepOutcome::CommandFailed => (
                self.paint(Style::new().red().bold(), "✘"),
                "failed: a command failed (its output is above)".into(),
            ),
            StepOutcome::ChecksFailed => (
                self.paint(Style::new().red().bold(), "✘"),
                "failed: the checks did not pass in time".into(),
            ),
            StepOutcome::CouldNotGrade(why) => (
                self.paint(Style::new().yellow().bold(), "!"),
                format!("could not grade: {}", plain_text(why)),
            ),
            StepOutcome::NotRun(why) => (
                self.paint(Style::new().dim(), "-"),
                format!("not run: {why}"),
            ),
        };
        let mut out = format!(
            "{symbol} {} {text}\n",
            self.paint(Style::new().bold(), &step.id)
        );
        let failed = !matches!(step.outcome, StepOutcome::Passed | StepOutcome::NotRun(_));
        if failed && let Some(grade) = &step.grade {
            out.push_str(&indent(&step_report(
                grade,
                self.look.color,
                self.look.width,
            )));
        }
        if let Some(debug) = &step.debug {
            out.push_str(&format!(
                "  {}\n",
                self.paint(Style::new().bold(), "debug output:")
            ));
            out.push_str(&indent(&plain_text(debug)));
        }
        out
    }

    fn summary(&self, report: &CiReport) -> String {
        let ran: Vec<&CiStep> = report
            .steps
            .iter()
            .filter(|s| !matches!(s.outcome, StepOutcome::NotRun(_)))
            .collect();
        let passed = ran
            .iter()
            .filter(|s| s.outcome == StepOutcome::Passed)
            .count();
        let mut out = String::from("\n");
        match &report.leftovers {
            None => out
                .push_str("leftovers: not checked (--keep, or the cluster could not be listed)\n"),
            Some(l) if l.is_empty() => out.push_str("leftovers: none\n"),
            Some(l) => {
                out.push_str(&format!(
                    "{} {} object(s) created by the run are still there after the cleanup:\n",
                    self.paint(Style::new().red().bold(), "leftovers:"),
                    l.len()
                ));
                for o in l {
                    out.push_str(&format!("  {o}\n"));
                }
            }
        }
        let verdict = if report.passed() {
            self.paint(Style::new().green().bold(), "passed")
        } else {
            self.paint(Style::new().red().bold(), "failed")
        };
        out.push_str(&format!(
            "ci {verdict}: {passed} of {} steps run passed ({} in the lab), in {}\n",
            ran.len(),
            report.steps.len(),
            human_duration(report.duration)
        ));
        out
    }
}

fn indent(text: &str) -> String {
    text.lines().map(|l| format!("  {l}\n")).collect()
}

impl CiReporter for CiTerminal {
    fn event(&mut self, event: &CiEvent<'_>) -> io::Result<()> {
        let text = match event {
            CiEvent::Started {
                lab,
                profile,
                context,
            } => format!(
                "labctl ci {} · profile {profile}{}\n",
                self.paint(Style::new().bold(), lab),
                context
                    .map(|c| format!(" · context {c}"))
                    .unwrap_or_default()
            ),
            CiEvent::StepStarted {
                index,
                total,
                id,
                title,
                ..
            } => format!(
                "\n▶ {}/{total} {}  {}\n",
                index + 1,
                self.paint(Style::new().bold(), id),
                plain_text(title)
            ),
            CiEvent::CommandStarted { origin, code, .. } => {
                // The whole block, as it runs: CI logs must show exactly what was executed.
                let mut out = format!(
                    "  {}\n",
                    self.paint(Style::new().dim(), &format!("# {origin}"))
                );
                for (i, line) in code.lines().enumerate() {
                    let prompt = if i == 0 { "$" } else { " " };
                    out.push_str(&format!(
                        "  {} {}\n",
                        self.paint(Style::new().green(), prompt),
                        plain_text(line)
                    ));
                }
                out
            }
            CiEvent::Output(line) => format!(
                "  {} {}\n",
                self.paint(Style::new().dim(), "│"),
                plain_text(line)
            ),
            CiEvent::CommandFinished(run) => {
                let style = if run.outcome.ok() {
                    Style::new().green()
                } else {
                    Style::new().red().bold()
                };
                format!(
                    "  {} block {} {} in {}\n",
                    self.paint(style, if run.outcome.ok() { "✔" } else { "✘" }),
                    run.index,
                    run.outcome,
                    human_duration(run.duration)
                )
            }
            CiEvent::Waiting { timeout } => format!(
                "  {}\n",
                self.paint(
                    Style::new().dim(),
                    &format!(
                        "… waiting up to {} for the step's checks",
                        human_duration(*timeout)
                    )
                )
            ),
            CiEvent::StepFinished(step) => self.verdict(step),
            CiEvent::Finished(report) => self.summary(report),
        };
        self.out.write_all(text.as_bytes())?;
        self.out.flush()
    }
}
