//! The class report in the terminal: a learner × step matrix sorted by progress (with where
//! each learner is stuck and why), a legend, per-step counts, and the one thing to explain to
//! the room. Colours only when asked for; learner names are shown as plain text.

use super::report::{Cell, ClassReport, LearnerResult};
use super::summary::{Summary, TopFailure, learners, summarize};
use crate::render::terminal::{Look, wrap};
use crate::render::text::plain_text;
use console::Style;
use std::fmt::Write as _;

pub fn class_terminal(report: &ClassReport, look: Look) -> String {
    let summary = summarize(report);
    let mut out = String::new();
    header(&mut out, report, &summary, look);
    matrix(&mut out, report, look);
    steps(&mut out, report, &summary, look);
    headline(&mut out, report, &summary, look);
    out
}

fn symbol(cell: Cell, look: Look) -> String {
    let (s, style) = match cell {
        Cell::Passed => ("✔", Style::new().green().bold()),
        Cell::Failed => ("✘", Style::new().red().bold()),
        Cell::NotReached => ("·", Style::new().dim()),
        Cell::Error => ("?", Style::new().yellow().bold()),
        Cell::Unreachable => ("!", Style::new().magenta().bold()),
    };
    look.paint(style, s)
}

/// At most `n` characters, with `…` when cut.
fn fit(s: &str, n: usize) -> String {
    let s = plain_text(s).replace('\n', " ");
    if s.chars().count() <= n {
        s
    } else {
        let mut t: String = s.chars().take(n.saturating_sub(1)).collect();
        t.push('…');
        t
    }
}

fn header(out: &mut String, r: &ClassReport, s: &Summary, look: Look) {
    let title = format!(
        "Class report · {} ({}) · profile {}",
        r.title, r.lab, r.profile
    );
    for line in wrap(&plain_text(&title), look.width) {
        let _ = writeln!(out, "{}", look.paint(Style::new().bold(), &line));
    }
    let mut counts = format!("{}: {} graded", learners(s.learners), s.graded);
    if s.unreachable > 0 {
        counts.push_str(&format!(", {} unreachable", s.unreachable));
    }
    if s.errors > 0 {
        counts.push_str(&format!(", {} could not be graded", s.errors));
    }
    let counts = format!(
        "{counts} · {} finished every step · {} ({} ms)",
        s.done,
        r.generated_at,
        r.duration.as_millis()
    );
    for line in wrap(&counts, look.width) {
        let _ = writeln!(out, "{line}");
    }
    out.push('\n');
}

/// Where a learner is, in a few words: `done`, `<step>: <check> (<diagnosis>)`, or the problem.
pub fn whereabouts(l: &LearnerResult, r: &ClassReport) -> String {
    if let Some(p) = l.problem() {
        return p.to_owned();
    }
    if l.is_done() {
        return "done".into();
    }
    let step = l
        .current()
        .and_then(|i| r.steps.get(i))
        .map_or("?", |s| s.id.as_str());
    let blocking = l.blocking();
    // The first failing check with a known cause says most; else the first failing check.
    let Some(first) = blocking
        .iter()
        .find(|c| !c.diagnoses.is_empty())
        .or(blocking.first())
    else {
        return step.to_owned();
    };
    let mut s = format!("{step}: {}", first.id);
    if let Some(d) = first.diagnoses.first() {
        s.push_str(&format!(" ({})", d.id));
    } else if let Some(m) = first
        .message
        .as_deref()
        .filter(|_| first.status == crate::eval::result::Status::Error)
    {
        s.push_str(&format!(" ({m})"));
    }
    if blocking.len() > 1 {
        s.push_str(&format!(" +{}", blocking.len() - 1));
    }
    s
}

fn matrix(out: &mut String, r: &ClassReport, look: Look) {
    let n = r.steps.len();
    let name_w = r
        .learners
        .iter()
        .map(|l| l.name.chars().count())
        .max()
        .unwrap_or(7)
        .clamp(7, 20);
    let numbers: String = (1..=n).map(|i| format!("{:<2}", i % 100)).collect();
    let head = format!("{:<name_w$}  {numbers} score  where", "learner");
    let _ = writeln!(out, "{}", look.paint(Style::new().bold(), head.trim_end()));
    let used = name_w + 2 + 2 * n + 8;
    let rest = look.width.saturating_sub(used).max(20);
    for l in &r.learners {
        let cells: String = l
            .cells(n)
            .into_iter()
            .map(|c| format!("{} ", symbol(c, look)))
            .collect();
        let score = match l.report() {
            Some(_) => format!("{}/{n}", l.score()),
            None => "-".into(),
        };
        let line = format!(
            "{:<name_w$}  {cells} {score:<5}  {}",
            fit(&l.name, name_w),
            fit(&whereabouts(l, r), rest)
        );
        let _ = writeln!(out, "{}", line.trim_end());
    }
    let legend = [
        Cell::Passed,
        Cell::Failed,
        Cell::NotReached,
        Cell::Error,
        Cell::Unreachable,
    ]
    .map(|c| format!("{} {}", symbol(c, look), c.label()))
    .join("  ");
    let _ = writeln!(out, "\n{legend}\n");
}

fn failure_text(f: &TopFailure) -> String {
    let mut s = format!("{} ({})", f.check, f.learners);
    if let Some(d) = &f.diagnosis {
        s.push_str(&format!(": {}", d.id));
    }
    s
}

fn steps(out: &mut String, r: &ClassReport, s: &Summary, look: Look) {
    let id_w = r.steps.iter().map(|s| s.id.len()).max().unwrap_or(4).max(4) + 3;
    let head = format!(
        "{:<id_w$}  finished  on it  most common failure there",
        "step"
    );
    let _ = writeln!(out, "{}", look.paint(Style::new().bold(), &head));
    let rest = look.width.saturating_sub(id_w + 19).max(20);
    for (i, st) in s.steps.iter().enumerate() {
        let failure = st
            .top_failure
            .as_ref()
            .map(failure_text)
            .unwrap_or_default();
        let line = format!(
            "{:<id_w$}  {:>8}  {:>5}  {}",
            format!("{} {}", i + 1, st.id),
            format!("{}/{}", st.finished, s.learners),
            st.current,
            fit(&failure, rest)
        );
        let _ = writeln!(out, "{}", line.trim_end());
    }
}

fn headline(out: &mut String, r: &ClassReport, s: &Summary, look: Look) {
    let Some(i) = s.headline else {
        return;
    };
    let st = &s.steps[i];
    let Some(f) = &st.top_failure else { return };
    let title = format!(
        "To explain to the room: {} on step {} {}, {} failing `{}`",
        learners(st.current),
        i + 1,
        r.steps[i].id,
        f.learners,
        f.check
    );
    out.push('\n');
    for line in wrap(&plain_text(&title), look.width) {
        let _ = writeln!(out, "{}", look.paint(Style::new().bold().yellow(), &line));
    }
    let width = look.width.saturating_sub(4).max(30);
    let mut para = |label: &str, text: &str| {
        for (j, line) in wrap(&format!("{label}: {}", plain_text(text)), width)
            .iter()
            .enumerate()
        {
            let _ = writeln!(out, "  {}{line}", if j == 0 { "" } else { "  " });
        }
    };
    para(&format!("check (as seen by {})", f.example), &f.title);
    let fix = match &f.diagnosis {
        Some(d) => {
            para(
                &format!("cause ({} of {})", f.diagnosed, f.learners),
                &d.cause,
            );
            Some(&d.fix)
        }
        None => f.fix.as_ref(),
    };
    if let Some(fix) = fix {
        commands(out, fix);
    }
}

/// The fix as commands to copy: on lines of their own, as written — never wrapped, whatever the
/// width, because a command broken across lines breaks when pasted.
fn commands(out: &mut String, fix: &str) {
    let _ = writeln!(out, "  fix:");
    for line in plain_text(fix).trim_end().lines() {
        let _ = writeln!(out, "    {line}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::class::report::tests::sample;

    #[test]
    fn golden_matrix_summary_and_headline() {
        let look = Look {
            color: false,
            width: 100,
        };
        insta::assert_snapshot!(class_terminal(&sample(), look));
    }

    /// `sample()` with what overflows narrow terminals: a long reason, a long two-line fix.
    fn long_texts() -> ClassReport {
        let mut r = sample();
        for l in &mut r.learners {
            if let crate::class::report::Outcome::Graded { report } = &mut l.outcome {
                let report = std::sync::Arc::make_mut(report);
                for c in report.steps.iter_mut().flat_map(|s| &mut s.checks) {
                    c.id = format!("{}-in-the-learners-own-application-namespace", c.id);
                    for d in &mut c.diagnoses {
                        d.id = "injection-label-ignored-because-the-add-on-has-no-default-revision"
                            .into();
                        d.fix = "kubectl label namespace pets-with-a-long-learner-name istio-injection- istio.io/rev=asm-1-23 --overwrite\nkubectl rollout restart deployment -n pets-with-a-long-learner-name\n".into();
                    }
                }
            }
        }
        r
    }

    #[test]
    fn golden_at_80_and_200_columns() {
        for width in [80, 200] {
            let out = class_terminal(
                &long_texts(),
                Look {
                    color: false,
                    width,
                },
            );
            // Each fix command is one line of its own, as written, at any width.
            assert!(out.contains("\n    kubectl label namespace pets-with-a-long-learner-name istio-injection- istio.io/rev=asm-1-23 --overwrite\n    kubectl rollout restart deployment -n pets-with-a-long-learner-name\n"), "{out}");
            insta::assert_snapshot!(format!("long_texts_{width}_columns"), out);
        }
        // The widest reason fits in 200 columns, not in 80.
        let reason = "s2: namespace-rev-label-in-the-learners-own-application-namespace (injection-label-ignored-because-the-add-on-has-no-default-revision)";
        let wide = class_terminal(
            &long_texts(),
            Look {
                color: false,
                width: 200,
            },
        );
        assert!(wide.contains(reason), "{wide}");
        let narrow = class_terminal(
            &long_texts(),
            Look {
                color: false,
                width: 80,
            },
        );
        assert!(!narrow.contains(reason));
        assert!(
            narrow
                .lines()
                .filter(|l| !l.starts_with("    "))
                .all(|l| console::measure_text_width(l) <= 80),
            "{narrow}"
        );
    }

    #[test]
    fn colours_only_when_asked() {
        let plain = class_terminal(
            &sample(),
            Look {
                color: false,
                width: 80,
            },
        );
        assert!(!plain.contains('\x1b'));
        let colored = class_terminal(
            &sample(),
            Look {
                color: true,
                width: 80,
            },
        );
        assert!(colored.contains("\x1b["));
        assert_eq!(console::strip_ansi_codes(&colored), plain);
    }
}
