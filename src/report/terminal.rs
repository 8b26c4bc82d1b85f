//! The grade as a learner reads it: one line per step as steps finish, the details of what
//! went wrong under a step that did not pass, and a summary line.
//!
//! ```text
//! ✘ onboard-mesh  Add the app to the mesh  873ms
//!   ✘ namespace-labelled  Namespace pets is labelled for sidecar injection
//!       expected: Namespace pets: labels["istio.io/rev"] == "asm-1-23"
//!       actual:   labels: istio-injection=enabled
//!       cause:    The namespace has istio-injection=enabled, which the AKS add-on ignores …
//!       fix:
//!           kubectl label namespace pets istio-injection- istio.io/rev=asm-1-23
//! ```
//!
//! A one-line fix is a single command and is indented under `fix:`. A fix of several lines is
//! printed flush left between rules, untouched: it may hold a heredoc, whose `EOF` only ends it
//! at the start of a line, or a quoted manifest whose indentation matters.
//!
//! Values found in the cluster go through [`plain_text`]: they are the learner's data and must
//! never reach the terminal as escape codes.

use super::collect::replay;
use super::event::{Event, GradeReport, Reporter, RunInfo, StepReport};
use super::set::ReporterError;
use crate::eval::facts::{PROBES_DISABLED, PROBES_OFFLINE};
use crate::eval::result::{CheckResult, Status};
use crate::render::terminal::wrap;
use crate::render::text::plain_text;
use console::Style;
use std::io::{self, Write};
use std::time::Duration;

/// Where detail lines start, and the width of their labels (`expected: `).
const INDENT: usize = 6;
const LABEL: usize = 10;
/// A narrower terminal than this is treated as this wide.
const MIN_WIDTH: usize = 40;

pub struct TerminalReporter {
    out: Box<dyn Write>,
    paint: Paint,
    width: usize,
    verbose: bool,
    /// Whether the last line written was blank (so blocks are separated by exactly one).
    blank: bool,
}

impl TerminalReporter {
    /// `width` is the terminal's width in columns (prose wraps and step titles are cut to fit);
    /// `verbose` also lists passing checks and says why checks were skipped.
    pub fn new(out: Box<dyn Write>, color: bool, width: usize, verbose: bool) -> Self {
        TerminalReporter {
            out,
            paint: Paint { color },
            width: width.max(MIN_WIDTH),
            verbose,
            blank: true,
        }
    }

    fn header(&self, info: &RunInfo) -> String {
        let p = &self.paint;
        let mut facts = vec![format!("profile {}", info.profile)];
        if let Some(rev) = &info.revision {
            facts.push(format!("revision {rev}"));
        }
        let target = match (&info.context, &info.snapshot) {
            (_, Some(snapshot)) => format!(" from snapshot {}", plain_text(snapshot)),
            (Some(context), None) => format!(" on context {}", plain_text(context)),
            (None, None) => String::new(),
        };
        let learner = match &info.learner {
            Some(l) => format!(" for {}", plain_text(l)),
            None => String::new(),
        };
        // Where discovered values came from: a grade of the wrong revision must be visible.
        let discovered: String = info
            .discovered
            .iter()
            .map(|d| format!("{}\n", p.dim(&plain_text(&d.to_string()))))
            .collect();
        format!(
            "Grading {} ({}){target}{learner}\n{discovered}\n",
            p.bold(&info.lab),
            facts.join(", ")
        )
    }

    fn step(&self, step: &StepReport) -> String {
        let p = &self.paint;
        let mut out = String::new();
        // Nothing ran in a skipped step: no duration to show.
        let duration = match step.status {
            Status::Skipped => String::new(),
            _ => format!("  {}", human_duration(step.duration)),
        };
        // "✔ " + id + "  " + title + duration
        let fixed = 2 + console::measure_text_width(&step.id) + 2 + duration.len();
        let room = self.width.saturating_sub(fixed).max(12);
        let title = plain_text(&step.title);
        let title = console::truncate_str(&title, room, "…");
        out.push_str(&format!(
            "{} {}  {title}{}\n",
            p.symbol(step.status),
            p.bold(&step.id),
            p.dim(&duration)
        ));

        let show_skipped = self.verbose || step.status != Status::Skipped;
        let mut details = false;
        for check in &step.checks {
            let shown = match check.status {
                Status::Passed => self.verbose,
                Status::Skipped => show_skipped,
                Status::Failed | Status::Error => true,
            };
            if !shown {
                continue;
            }
            out.push_str(&format!(
                "  {} {}  {}\n",
                p.symbol(check.status),
                check.id,
                plain_text(&check.title)
            ));
            let before = out.len();
            self.check_details(check, &mut out);
            details |= out.len() > before;
        }
        if details {
            out.push('\n');
        }
        out
    }

    fn check_details(&self, c: &CheckResult, out: &mut String) {
        let p = &self.paint;
        match c.status {
            Status::Passed => {
                if !c.actual.is_empty() {
                    self.field(out, "found:", &c.actual, false);
                }
            }
            Status::Skipped => {
                if self.verbose {
                    let reason = c.message.as_deref().unwrap_or("no reason given");
                    self.field(out, "skipped:", reason, true);
                }
            }
            Status::Error => {
                let message = c.message.as_deref().unwrap_or("no message");
                let label = "could not evaluate: ";
                let lines = wrap(&plain_text(message), self.text_width(label.len()));
                for (i, line) in lines.iter().enumerate() {
                    let lead = if i == 0 {
                        p.warn(label)
                    } else {
                        " ".repeat(label.len())
                    };
                    out.push_str(&format!("{}{lead}{line}\n", " ".repeat(INDENT)));
                }
            }
            Status::Failed => {
                if !c.expected.is_empty() {
                    self.field(out, "expected:", &c.expected, false);
                }
                if !c.actual.is_empty() {
                    self.field(out, "actual:", &c.actual, false);
                }
                for found in &c.diagnoses {
                    self.field(out, "cause:", &found.cause, true);
                    self.fix(out, &found.fix);
                }
                if c.diagnoses.is_empty()
                    && let Some(fix) = &c.fix
                {
                    self.fix(out, fix);
                }
            }
        }
    }

    /// Columns left for text after the indent and a label of `label` columns.
    fn text_width(&self, label: usize) -> usize {
        self.width.saturating_sub(INDENT + label).max(20)
    }

    /// `label` and `value`, continuation lines aligned under the value. Prose is wrapped to the
    /// terminal; values (what a check expected and found) keep their lines as they are.
    fn field(&self, out: &mut String, label: &str, value: &str, prose: bool) {
        let value = plain_text(value);
        let lines: Vec<String> = if prose {
            wrap(&value, self.text_width(LABEL))
        } else {
            value.trim_end().lines().map(str::to_owned).collect()
        };
        let pad = " ".repeat(LABEL.saturating_sub(label.len()).max(1));
        for (i, line) in lines.iter().enumerate() {
            if i == 0 {
                out.push_str(&format!(
                    "{}{}{pad}{line}\n",
                    " ".repeat(INDENT),
                    self.paint.dim(label)
                ));
            } else {
                out.push_str(&format!("{}{line}\n", " ".repeat(INDENT + LABEL)));
            }
        }
    }

    fn fix(&self, out: &mut String, fix: &str) {
        let p = &self.paint;
        let fix = plain_text(fix);
        let fix = fix.trim_matches('\n').trim_end();
        if fix.is_empty() {
            return;
        }
        if !fix.contains('\n') {
            out.push_str(&format!("{}{}\n", " ".repeat(INDENT), p.dim("fix:")));
            out.push_str(&format!(
                "{}{}\n",
                " ".repeat(INDENT + 4),
                p.code(fix.trim())
            ));
            return;
        }
        let rule = "─".repeat(self.width.saturating_sub(7));
        out.push_str(&p.dim(&format!("── fix {rule}")));
        out.push('\n');
        for line in fix.lines() {
            out.push_str(&p.code(line));
            out.push('\n');
        }
        out.push_str(&p.dim(&"─".repeat(self.width)));
        out.push('\n');
    }

    fn summary(&self, report: &GradeReport) -> String {
        let p = &self.paint;
        let (passed, failed, skipped, errors) = report.counts();
        let steps_passed = report
            .steps
            .iter()
            .filter(|s| s.status == Status::Passed)
            .count();
        let count = |n: usize, word: &str, style: fn(&Paint, &str) -> String| {
            let text = format!("{n} {word}");
            if n > 0 { style(p, &text) } else { text }
        };
        let errors_word = if errors == 1 { "error" } else { "errors" };
        let mut out = format!(
            "{} (profile {}): {steps_passed}/{} steps passed · {}, {}, {}, {}\n",
            p.bold(&report.info.lab),
            report.info.profile,
            report.steps.len(),
            count(passed, "passed", Paint::ok),
            count(failed, "failed", Paint::bad),
            count(skipped, "skipped", Paint::dim),
            count(errors, errors_word, Paint::warn),
        );
        // Say why probes did not run even without --verbose: a grade without them proves less.
        for reason in [PROBES_OFFLINE, PROBES_DISABLED] {
            let n = report
                .steps
                .iter()
                .flat_map(|s| &s.checks)
                .filter(|c| c.status == Status::Skipped && c.message.as_deref() == Some(reason))
                .count();
            if n > 0 {
                let what = if n == 1 {
                    "probe check"
                } else {
                    "probe checks"
                };
                out.push_str(&p.dim(&format!("{n} {what} skipped: {reason}\n")));
            }
        }
        for w in &report.info.warnings {
            out.push_str(&format!("{} {w}\n", p.warn("warning:")));
        }
        out
    }

    fn write(&mut self, text: &str) -> io::Result<()> {
        if text.is_empty() {
            return Ok(());
        }
        self.out.write_all(text.as_bytes())?;
        self.out.flush()?;
        self.blank = text.ends_with("\n\n");
        Ok(())
    }
}

impl Reporter for TerminalReporter {
    fn event(&mut self, event: &Event<'_>) -> Result<(), ReporterError> {
        Ok(self.on(event)?)
    }
}

impl TerminalReporter {
    fn on(&mut self, event: &Event<'_>) -> io::Result<()> {
        match *event {
            Event::RunStarted(info) => {
                let text = self.header(info);
                self.write(&text)
            }
            // Steps are printed when they finish, when their outcome is known; a spinner for
            // the step in progress is another reporter's job.
            Event::StepStarted { .. } | Event::CheckFinished { .. } => Ok(()),
            Event::StepFinished(step) => {
                let text = self.step(step);
                self.write(&text)
            }
            Event::RunFinished(report) => {
                let sep = if self.blank { "" } else { "\n" };
                let text = format!("{sep}{}", self.summary(report));
                self.write(&text)
            }
        }
    }
}

/// A finished report as [`TerminalReporter`] prints it, as a string.
pub fn terminal_report(report: &GradeReport, color: bool, width: usize, verbose: bool) -> String {
    let buf = SharedBuf::default();
    let mut reporter = TerminalReporter::new(Box::new(buf.clone()), color, width, verbose);
    replay(report, &mut reporter).expect("writing to memory cannot fail");
    drop(reporter);
    buf.take()
}

/// One step's line and the details of its checks, as `labctl grade` prints them.
pub fn step_report(step: &StepReport, color: bool, width: usize) -> String {
    TerminalReporter::new(Box::new(io::sink()), color, width, false).step(step)
}

#[derive(Clone, Default)]
struct SharedBuf(std::rc::Rc<std::cell::RefCell<Vec<u8>>>);

impl SharedBuf {
    fn take(&self) -> String {
        String::from_utf8(std::mem::take(&mut *self.0.borrow_mut()))
            .expect("the reporter writes UTF-8")
    }
}

impl Write for SharedBuf {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.borrow_mut().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// `850ms`, `1.2s`, `2m05s`.
pub fn human_duration(d: Duration) -> String {
    let ms = d.as_millis();
    if ms < 1000 {
        format!("{ms}ms")
    } else if ms < 60_000 {
        format!("{:.1}s", d.as_secs_f64())
    } else {
        let s = d.as_secs();
        format!("{}m{:02}s", s / 60, s % 60)
    }
}

/// Colours, or none: with `color` false not one escape code is written.
#[derive(Debug, Clone, Copy)]
struct Paint {
    color: bool,
}

impl Paint {
    fn paint(&self, s: &str, style: Style) -> String {
        if self.color {
            style.force_styling(true).apply_to(s).to_string()
        } else {
            s.to_owned()
        }
    }
    fn symbol(&self, status: Status) -> String {
        match status {
            Status::Passed => self.ok("✔"),
            Status::Failed => self.bad("✘"),
            Status::Error => self.warn("!"),
            Status::Skipped => self.dim("-"),
        }
    }
    fn ok(&self, s: &str) -> String {
        self.paint(s, Style::new().green().bold())
    }
    fn bad(&self, s: &str) -> String {
        self.paint(s, Style::new().red().bold())
    }
    fn warn(&self, s: &str) -> String {
        self.paint(s, Style::new().yellow().bold())
    }
    fn dim(&self, s: &str) -> String {
        self.paint(s, Style::new().dim())
    }
    fn bold(&self, s: &str) -> String {
        self.paint(s, Style::new().bold())
    }
    fn code(&self, s: &str) -> String {
        self.paint(s, Style::new().green())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::collect::fixture;

    #[test]
    fn terminal_golden() {
        let out = terminal_report(&fixture::report(), false, 100, false);
        assert!(!out.contains('\x1b'));
        insta::assert_snapshot!(out);
    }

    #[test]
    fn terminal_golden_verbose() {
        insta::assert_snapshot!(terminal_report(&fixture::report(), false, 100, true));
    }

    #[test]
    fn terminal_golden_narrow() {
        insta::assert_snapshot!(terminal_report(&fixture::report(), false, 60, false));
    }

    #[test]
    fn color_only_when_asked() {
        let colored = terminal_report(&fixture::report(), true, 100, false);
        assert!(colored.contains("\x1b["));
        assert_eq!(
            console::strip_ansi_codes(&colored),
            terminal_report(&fixture::report(), false, 100, false)
        );
    }

    #[test]
    fn values_from_the_cluster_cannot_drive_the_terminal() {
        let mut report = fixture::report();
        let check = &mut report.steps[1].checks[0];
        check.actual = "\x1b[2J\x1b]0;pwned\x07cleared\tscreen".into();
        check.diagnoses[0].cause = "bell\x07 and \x1b[31mred\x1b[0m".into();
        for color in [false, true] {
            let out = terminal_report(&report, color, 100, false);
            assert!(!out.contains("\x1b[2J") && !out.contains('\x07') && !out.contains("pwned"));
            assert!(out.contains("cleared screen"), "{out}");
            assert!(out.contains("bell and red"), "{out}");
        }
    }

    #[test]
    fn multi_line_fix_is_printed_flush_left_and_intact() {
        let out = terminal_report(&fixture::report(), false, 100, false);
        assert!(
            out.contains("\nkubectl apply -n pets -f - <<EOF\napiVersion"),
            "{out}"
        );
        assert!(
            out.contains("\n  http:\n  - route:\n    - destination"),
            "{out}"
        );
        assert!(out.contains("\nEOF\n"), "{out}");
    }

    #[test]
    fn streams_one_step_at_a_time() {
        let report = fixture::report();
        let buf = SharedBuf::default();
        let mut r = TerminalReporter::new(Box::new(buf.clone()), false, 100, false);
        r.event(&Event::RunStarted(&report.info)).unwrap();
        assert!(
            buf.take()
                .starts_with("Grading istio-aks (profile aks, revision asm-1-23)")
        );
        r.event(&Event::StepFinished(&report.steps[0])).unwrap();
        let first = buf.take();
        assert!(first.starts_with("✔ enable-addon  "), "{first}");
        assert_eq!(first.lines().count(), 1);
        r.event(&Event::RunFinished(&report)).unwrap();
        assert!(
            buf.take()
                .starts_with("\nistio-aks (profile aks): 1/5 steps passed")
        );
    }

    #[test]
    fn durations_read_naturally() {
        assert_eq!(human_duration(Duration::from_millis(0)), "0ms");
        assert_eq!(human_duration(Duration::from_millis(999)), "999ms");
        assert_eq!(human_duration(Duration::from_millis(1234)), "1.2s");
        assert_eq!(human_duration(Duration::from_secs(125)), "2m05s");
    }

    #[test]
    fn probe_skips_and_warnings_are_said_without_verbose() {
        let mut report = fixture::report();
        let c = &mut report.steps[0].checks[0];
        c.status = Status::Skipped;
        c.message = Some(PROBES_DISABLED.into());
        report.info.warnings =
            vec!["probe pod default/labctl-probe-x could not be deleted: boom".into()];
        let out = terminal_report(&report, false, 100, false);
        assert!(
            out.contains("1 probe check skipped: probes are not run with --no-probes\n"),
            "{out}"
        );
        assert!(
            out.contains("warning: probe pod default/labctl-probe-x could not be deleted: boom\n"),
            "{out}"
        );
    }
}
