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

use crate::ci::report::{CiEvent, CiReport, CiRun, CiStep, CommandOutcome, StepOutcome};
use crate::render::terminal::Look;
use crate::render::text::plain_text;
use crate::report::event::Reporter;
use crate::report::set::ReporterError;
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
            // Not indented: a multi-line fix is printed flush left so that a heredoc in it
            // still ends at its `EOF` when copied.
            // The step's own line repeats the verdict above: keep only its checks.
            let text = step_report(grade, self.look.color, self.look.width);
            out.push_str(text.split_once('\n').map_or("", |(_, checks)| checks));
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

impl Reporter<CiRun> for CiTerminal {
    fn event(&mut self, event: &CiEvent<'_>) -> Result<(), ReporterError> {
        Ok(self.on(event)?)
    }
}

impl CiTerminal {
    fn on(&mut self, event: &CiEvent<'_>) -> io::Result<()> {
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
                prerequisite,
                ..
            } => format!(
                "\n▶ {}{}/{total} {}  {}\n",
                prerequisite
                    .map(|p| self.paint(Style::new().dim(), &format!("{} ", plain_text(p))))
                    .unwrap_or_default(),
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
            CiEvent::Discovered(d) => format!(
                "  {}\n",
                self.paint(
                    Style::new().dim(),
                    &format!("· {}", plain_text(&d.to_string()))
                )
            ),
            CiEvent::CommandFinished(run) => {
                let style = if run.outcome.ok() {
                    Style::new().green()
                } else {
                    Style::new().red().bold()
                };
                let took = match run.outcome {
                    CommandOutcome::TimedOut { .. } => String::new(),
                    _ => format!(" in {}", human_duration(run.duration)),
                };
                format!(
                    "  {} block {} {}{took}\n",
                    self.paint(style, if run.outcome.ok() { "✔" } else { "✘" }),
                    run.index,
                    run.outcome,
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ci::report::{CommandRun, Leftover};
    use crate::report::collect::fixture;
    use std::time::Duration;

    fn command(
        index: usize,
        origin: &str,
        code: &str,
        output: &str,
        outcome: CommandOutcome,
    ) -> CommandRun {
        CommandRun {
            index,
            origin: origin.into(),
            code: code.into(),
            output: output.into(),
            outcome,
            duration: Duration::from_millis(250),
        }
    }

    fn step(id: &str, commands: Vec<CommandRun>, outcome: StepOutcome) -> CiStep {
        CiStep {
            id: id.into(),
            title: format!("The {id} step"),
            cleanup: id == "cleanup",
            prerequisite: None,
            commands,
            grade: None,
            outcome,
            debug: None,
            duration: Duration::from_millis(1500),
        }
    }

    /// The events a run with these steps emits, through the terminal reporter.
    fn render(report: &CiReport) -> String {
        let buf = std::rc::Rc::new(std::cell::RefCell::new(Vec::new()));
        struct Out(std::rc::Rc<std::cell::RefCell<Vec<u8>>>);
        impl Write for Out {
            fn write(&mut self, b: &[u8]) -> io::Result<usize> {
                self.0.borrow_mut().extend_from_slice(b);
                Ok(b.len())
            }
            fn flush(&mut self) -> io::Result<()> {
                Ok(())
            }
        }
        let mut t = CiTerminal::new(
            Box::new(Out(buf.clone())),
            Look {
                color: false,
                width: 80,
            },
        );
        let total = report.steps.len();
        t.event(&CiEvent::Started {
            lab: &report.lab,
            profile: &report.profile,
            context: report.context.as_deref(),
        })
        .unwrap();
        for (index, s) in report.steps.iter().enumerate() {
            if !matches!(s.outcome, StepOutcome::NotRun(_)) {
                t.event(&CiEvent::StepStarted {
                    index,
                    total,
                    id: &s.id,
                    title: &s.title,
                    cleanup: s.cleanup,
                    prerequisite: s.prerequisite.as_deref(),
                })
                .unwrap();
                for c in &s.commands {
                    t.event(&CiEvent::CommandStarted {
                        index: c.index,
                        total: s.commands.len(),
                        origin: &c.origin,
                        code: &c.code,
                    })
                    .unwrap();
                    for line in c.output.lines() {
                        t.event(&CiEvent::Output(line)).unwrap();
                    }
                    t.event(&CiEvent::CommandFinished(c)).unwrap();
                }
                if s.commands.iter().all(|c| c.outcome.ok()) {
                    t.event(&CiEvent::Waiting {
                        timeout: Duration::from_secs(300),
                    })
                    .unwrap();
                }
            }
            t.event(&CiEvent::StepFinished(s)).unwrap();
        }
        t.event(&CiEvent::Finished(report)).unwrap();
        drop(t);
        String::from_utf8(buf.take()).unwrap()
    }

    #[test]
    fn golden_run_with_a_failing_step_and_a_leftover() {
        let mut failing = step(
            "onboard-mesh",
            vec![command(
                1,
                "steps/03-onboard-mesh.md:22",
                "kubectl label namespace pets istio-injection=enabled --overwrite",
                "namespace/pets labeled",
                CommandOutcome::Succeeded,
            )],
            StepOutcome::ChecksFailed,
        );
        failing.grade = fixture::report().steps.into_iter().nth(1);
        failing.debug = Some(
            "── events in namespace pets (latest last)\n   Normal   Killing   Pod/store-front-1   Stopping container\n"
                .into(),
        );
        let report = CiReport {
            lab: "istio-aks".into(),
            profile: "aks".into(),
            context: Some("aks-ci".into()),
            started_at: "2026-11-23T12:00:00Z".into(),
            steps: vec![
                step(
                    "deploy-app",
                    vec![command(
                        1,
                        "steps/02-deploy-app.md:22",
                        "kubectl create namespace pets --dry-run=client -o yaml | kubectl apply -f -\nkubectl apply -n pets -f manifests/pets-app.yaml",
                        "namespace/pets created\ndeployment.apps/store-front created",
                        CommandOutcome::Succeeded,
                    )],
                    StepOutcome::Passed,
                ),
                failing,
                step(
                    "strict-mtls",
                    vec![],
                    StepOutcome::NotRun("step `onboard-mesh` failed before it".into()),
                ),
                step(
                    "cleanup",
                    vec![command(
                        1,
                        "steps/07-cleanup.md:10",
                        "kubectl delete namespace pets --ignore-not-found",
                        "namespace \"pets\" deleted",
                        CommandOutcome::TimedOut { after_secs: 600 },
                    )],
                    StepOutcome::CommandFailed,
                ),
            ],
            leftovers: Some(vec![Leftover {
                api_version: "v1".into(),
                kind: "Namespace".into(),
                namespace: None,
                name: "pets".into(),
            }]),
            duration: Duration::from_secs(75),
        };
        insta::assert_snapshot!(render(&report));
    }
}
