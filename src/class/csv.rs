//! The class report as CSV for a learning-management system: a row per learner, a column per
//! step (`passed`, `failed`, `not reached`, `error`, `unreachable`), the score (steps passed)
//! and where they are. RFC 4180 quoting; a value that a spreadsheet would run as a formula
//! (starting with `=`, `+`, `-`, `@`) is prefixed with `'`: learner names are user input.

use super::report::ClassReport;
use super::terminal::whereabouts;

pub fn class_csv(report: &ClassReport) -> String {
    let n = report.steps.len();
    let mut head = vec!["learner", "source", "score", "steps", "current_step"];
    head.extend(report.steps.iter().map(|s| s.id.as_str()));
    head.push("details");
    let mut out = row(head.iter().copied());
    for l in &report.learners {
        let current = l
            .current()
            .and_then(|i| report.steps.get(i))
            .map_or("", |s| s.id.as_str());
        let score = l.score().to_string();
        let total = n.to_string();
        let cells: Vec<&str> = l.cells(n).into_iter().map(|c| c.label()).collect();
        let details = whereabouts(l, report);
        let mut fields = vec![l.name.as_str(), l.source.as_str(), &score, &total, current];
        fields.extend(cells);
        fields.push(&details);
        out.push_str(&row(fields.into_iter()));
    }
    out
}

fn row<'a>(fields: impl Iterator<Item = &'a str>) -> String {
    let mut line = fields.map(field).collect::<Vec<_>>().join(",");
    line.push_str("\r\n");
    line
}

fn field(s: &str) -> String {
    let s = match s.chars().next() {
        Some('=' | '+' | '-' | '@') => format!("'{s}"),
        _ => s.to_owned(),
    };
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::class::report::tests::sample;

    #[test]
    fn golden_csv() {
        insta::assert_snapshot!(class_csv(&sample()).replace("\r\n", "\n"));
    }

    #[test]
    fn quotes_and_defuses_formulas() {
        assert_eq!(field("a,b"), "\"a,b\"");
        assert_eq!(field("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(field("=HYPERLINK(1)"), "'=HYPERLINK(1)");
        assert_eq!(field("plain"), "plain");
    }
}
