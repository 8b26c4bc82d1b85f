//! The class report as one self-contained HTML page (inline CSS, no scripts, no fonts or
//! images fetched): made to be projected. On top, what to explain to the room; then a row per
//! learner with a progress bar and the step matrix; per-step class statistics; and per learner
//! the failing checks with expected, actual, the diagnosis and its fix. Every text is escaped.

use super::report::{Cell, ClassReport, LearnerResult};
use super::summary::{Summary, learners, summarize};
use super::terminal::whereabouts;
use std::fmt::Write as _;

/// `&`, `<`, `>`, `"` and `'` as entities: safe in text and in quoted attributes.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c if c.is_control() && c != '\n' => {}
            c => out.push(c),
        }
    }
    out
}

/// Inlined into the page: nothing is fetched.
const CSS: &str = include_str!("report.css");

pub fn class_html(report: &ClassReport) -> String {
    let s = summarize(report);
    let mut h = String::new();
    let title = format!("Class report · {}", report.title);
    let _ = write!(
        h,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">\
         <title>{}</title><style>{CSS}</style></head><body>\n",
        escape(&title)
    );
    let _ = writeln!(h, "<h1>{}</h1>", escape(&title));
    let _ = writeln!(
        h,
        "<div class=\"sub\">lab <b>{}</b> · profile <b>{}</b> · generated <time id=\"generated\">{}</time> in {} ms</div>",
        escape(&report.lab),
        escape(&report.profile),
        escape(&report.generated_at),
        report.duration.as_millis()
    );
    chips(&mut h, &s);
    room(&mut h, report, &s);
    matrix(&mut h, report);
    steps(&mut h, report, &s);
    details(&mut h, report);
    h.push_str("</body></html>\n");
    h
}

fn chips(h: &mut String, s: &Summary) {
    let _ = write!(
        h,
        "<div class=\"chips\"><span id=\"count-learners\">{}</span>",
        learners(s.learners)
    );
    let _ = write!(
        h,
        "<span>{} graded</span><span>{} finished</span>",
        s.graded, s.done
    );
    if s.unreachable > 0 {
        let _ = write!(
            h,
            "<span style=\"color:var(--down)\">{} unreachable</span>",
            s.unreachable
        );
    }
    if s.errors > 0 {
        let _ = write!(
            h,
            "<span style=\"color:#a77700\">{} could not be graded</span>",
            s.errors
        );
    }
    h.push_str("</div>\n");
}

fn room(h: &mut String, r: &ClassReport, s: &Summary) {
    let Some(i) = s.headline else { return };
    let Some(f) = &s.steps[i].top_failure else {
        return;
    };
    let _ = write!(
        h,
        "<div class=\"room\" id=\"explain\"><b class=\"big\">To explain to the room: {} of {} learners are on step {} “{}”; {} fail <code>{}</code></b>",
        s.steps[i].current,
        s.learners,
        i + 1,
        escape(&r.steps[i].title),
        f.learners,
        escape(&f.check)
    );
    let _ = write!(
        h,
        "<div>{} <small>(as seen by {})</small></div>",
        escape(&f.title),
        escape(&f.example)
    );
    match &f.diagnosis {
        Some(d) => {
            let _ = write!(
                h,
                "<div><b>Cause</b> ({} of {}): {}</div><div><b>Fix</b></div><pre>{}</pre>",
                f.diagnosed,
                f.learners,
                escape(&d.cause),
                escape(d.fix.trim())
            );
        }
        None => {
            if let Some(fix) = &f.fix {
                let _ = write!(h, "<div><b>Fix</b></div><pre>{}</pre>", escape(fix.trim()));
            }
        }
    }
    h.push_str("</div>\n");
}

fn symbol(c: Cell) -> &'static str {
    match c {
        Cell::Passed => "✔",
        Cell::Failed => "✘",
        Cell::NotReached => "",
        Cell::Error => "?",
        Cell::Unreachable => "!",
    }
}

fn class_of(c: Cell) -> &'static str {
    match c {
        Cell::Passed => "passed",
        Cell::Failed => "failed",
        Cell::NotReached => "notReached",
        Cell::Error => "error",
        Cell::Unreachable => "unreachable",
    }
}

fn matrix(h: &mut String, r: &ClassReport) {
    let n = r.steps.len();
    h.push_str("<h2>Learners</h2>\n<div class=\"legend\">");
    for c in [
        Cell::Passed,
        Cell::Failed,
        Cell::NotReached,
        Cell::Error,
        Cell::Unreachable,
    ] {
        let _ = write!(
            h,
            "<span><i class=\"cell {}\">{}</i>{}</span>",
            class_of(c),
            symbol(c),
            c.label()
        );
    }
    h.push_str("</div>\n<div class=\"legend\" style=\"margin-top:6px\">Steps: ");
    let names: Vec<String> = r
        .steps
        .iter()
        .enumerate()
        .map(|(i, s)| format!("<b>{}</b> {}", i + 1, escape(&s.id)))
        .collect();
    h.push_str(&names.join(" · "));
    h.push_str("</div><br>\n<table id=\"matrix\"><thead><tr><th>Learner</th><th>Progress</th>");
    for (i, st) in r.steps.iter().enumerate() {
        let _ = write!(
            h,
            "<th class=\"step\" title=\"{}\">{}</th>",
            escape(&format!("{} · {}", st.id, st.title)),
            i + 1
        );
    }
    h.push_str("<th>Score</th><th>Where</th></tr></thead><tbody>\n");
    for l in &r.learners {
        let pct = l.progress() * 100 / n.max(1);
        let _ = write!(
            h,
            "<tr class=\"learner\" data-learner=\"{}\" data-progress=\"{}\"><td class=\"name\" title=\"{}\">{}</td><td><div class=\"bar\" title=\"{pct}%\"><i style=\"width:{pct}%\"></i></div></td>",
            escape(&l.name),
            l.progress(),
            escape(&l.source),
            escape(&l.name)
        );
        for (st, c) in r.steps.iter().zip(l.cells(n)) {
            let _ = write!(
                h,
                "<td class=\"c\"><span class=\"cell {}\" data-step=\"{}\" title=\"{}\">{}</span></td>",
                class_of(c),
                escape(&st.id),
                escape(&format!("{}: {}", st.id, c.label())),
                symbol(c)
            );
        }
        let score = match l.report() {
            Some(_) => format!("{}/{n}", l.score()),
            None => "–".into(),
        };
        let _ = writeln!(
            h,
            "<td>{score}</td><td class=\"where\">{}</td></tr>",
            escape(&whereabouts(l, r))
        );
    }
    h.push_str("</tbody></table>\n");
}

fn steps(h: &mut String, r: &ClassReport, s: &Summary) {
    h.push_str("<h2>Steps</h2>\n<table id=\"steps\"><thead><tr><th>#</th><th>Step</th><th>Finished</th><th></th><th>On it now</th><th>Most common failure there</th></tr></thead><tbody>\n");
    for (i, st) in s.steps.iter().enumerate() {
        let pct = st.finished * 100 / s.learners.max(1);
        let failure = match &st.top_failure {
            None => String::new(),
            Some(f) => {
                let mut t = format!(
                    "<code>{}</code> ({} learners)",
                    escape(&f.check),
                    f.learners
                );
                if let Some(d) = &f.diagnosis {
                    let _ = write!(t, " — {} ({}×)", escape(&d.cause), f.diagnosed);
                }
                t
            }
        };
        let _ = writeln!(
            h,
            "<tr class=\"step-row\"><td>{}</td><td><b>{}</b><br><small>{}</small></td><td>{}/{}</td><td><div class=\"bar\"><i style=\"width:{pct}%\"></i></div></td><td>{}</td><td>{failure}</td></tr>",
            i + 1,
            escape(&st.id),
            escape(&r.steps[i].title),
            st.finished,
            s.learners,
            st.current
        );
    }
    h.push_str("</tbody></table>\n");
}

fn learner_details(h: &mut String, r: &ClassReport, l: &LearnerResult) {
    let _ = write!(
        h,
        "<details><summary>{} — {}</summary>",
        escape(&l.name),
        escape(&whereabouts(l, r))
    );
    if let Some(p) = l.problem() {
        let _ = write!(
            h,
            "<div class=\"check\">{} ({})</div>",
            escape(p),
            escape(&l.source)
        );
    }
    for c in l.blocking() {
        let _ = write!(
            h,
            "<div class=\"check\"><b>{}</b> <code>{}</code>",
            escape(&c.title),
            escape(&c.id)
        );
        for (k, v) in [("expected", &c.expected), ("actual", &c.actual)] {
            if !v.is_empty() {
                let _ = write!(h, "<div><span class=\"k\">{k}</span> {}</div>", escape(v));
            }
        }
        if let Some(m) = &c.message {
            let _ = write!(h, "<div><span class=\"k\">note</span> {}</div>", escape(m));
        }
        for d in &c.diagnoses {
            let _ = write!(
                h,
                "<div><span class=\"k\">cause</span> {}</div><div class=\"fix\"><pre>{}</pre></div>",
                escape(&d.cause),
                escape(d.fix.trim())
            );
        }
        if c.diagnoses.is_empty()
            && let Some(fix) = &c.fix
        {
            let _ = write!(
                h,
                "<div class=\"fix\"><pre>{}</pre></div>",
                escape(fix.trim())
            );
        }
        h.push_str("</div>");
    }
    h.push_str("</details>\n");
}

fn details(h: &mut String, r: &ClassReport) {
    let stuck: Vec<&LearnerResult> = r.learners.iter().filter(|l| !l.is_done()).collect();
    if stuck.is_empty() {
        return;
    }
    h.push_str("<h2>Failure details</h2>\n<div class=\"details\">\n");
    for l in stuck {
        learner_details(h, r, l);
    }
    h.push_str("</div>\n");
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::class::report::tests::sample;

    #[test]
    fn one_row_per_learner_everything_escaped_nothing_fetched() {
        let html = class_html(&sample());
        assert_eq!(html.matches("<tr class=\"learner\"").count(), 6);
        assert!(html.contains("carol &lt;c&amp;o&gt;"));
        assert!(!html.contains("<c&o>"));
        for external in ["http://", "https://", "src=", "<script", "@import", "url("] {
            let outside_text = html.replace("https://127.0.0.1:1", "");
            assert!(!outside_text.contains(external), "{external} in the page");
        }
        assert!(html.contains("id=\"explain\""));
        assert_eq!(
            escape("<a href='x'>\"&\"</a>\u{7}"),
            "&lt;a href=&#39;x&#39;&gt;&quot;&amp;&quot;&lt;/a&gt;"
        );
    }
}
