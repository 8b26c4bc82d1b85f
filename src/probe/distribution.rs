//! Sending a distribution's N requests and reading each answer's version (issue 14's canary
//! probe). From a probe pod or an exec, one `sh` script sends them all in a loop around curl,
//! reads each answer's key (the marker header's value, or the start of the body for a body
//! marker), and prints a report of *counts*: one line per distinct (curl exit, HTTP status,
//! key), most frequent first. Counting in the pod keeps the report the same size for 10
//! requests or 1000, so it fits a probe pod's termination message (4096 bytes), and a body
//! marker's regular expression is matched here, in Rust, on the keys — the pod needs no regex
//! dialect of ours. From labctl itself the requests are made with [`http::get_with_header`].
//!
//! The report, after [`MAGIC`]:
//!
//! ```text
//! sent 100
//!      88 0 200 v1
//!      12 0 200 v2
//! ```
//!
//! Everything in it is untrusted (a learner's pod runs the exec; a hostile server chooses the
//! headers and bodies): lines that do not parse are ignored, a key is cleaned of control
//! characters and cut to [`KEY_CHARS`], and counts that add up to more than were sent make the
//! report unreadable rather than the split. Requests not sent (the time ran out) and answers the
//! report left out (more than [`MAX_KEYS`] distinct ones) are failed answers: they are in n and in
//! no version, so they count against the pass.

use crate::eval::distribution::Answer;
use crate::eval::probe::Reply;
use crate::labfile::kinds::distribution::model::{DistributionBody, Marker};
use crate::probe::curl::{Runner, conn_error, finish, sh_quote};
use crate::probe::error::ProbeError;
use crate::probe::http;
use std::time::{Duration, Instant};

/// First line of every distribution report; anything before it is ignored.
pub const MAGIC: &str = "labctl-distribution 1";
/// The most distinct answers a report lists (the rest are counted as left out).
pub const MAX_KEYS: usize = 12;
/// How much of a body a body marker is matched on (newlines and other non-printable bytes
/// become spaces). Also the longest key: with [`MAX_KEYS`] of them the report stays well under
/// a termination message's 4096 bytes.
pub const BODY_BYTES: usize = 200;
/// The longest version a report keeps (characters).
pub const KEY_CHARS: usize = BODY_BYTES;
/// The report is cut to this many bytes in the pod, whatever it holds.
const REPORT_BYTES: usize = 3800;

/// The script: up to `requests` requests, each within `request_timeout`, stopping early when
/// `budget` has passed; then the counts (see the module docs).
pub fn script(
    url: &str,
    body: &DistributionBody,
    request_timeout: Duration,
    budget: Duration,
    runner: Runner,
) -> String {
    let key = match &body.by {
        // The first header line of that name; its value without the CR. `grep -i` on a pattern
        // that only matches the name literally (see `header_pattern`).
        Marker::Header(name) => format!(
            r#"grep -i -e {pattern} "$t.h" | head -n 1 | cut -d: -f2- | tr -d '\r\n' | LC_ALL=C tr -c '[:print:]' '?' | cut -c1-{KEY_CHARS}"#,
            pattern = sh_quote(&header_pattern(name)),
        ),
        Marker::Body(_) => {
            format!(r#"head -c {BODY_BYTES} "$t.b" | LC_ALL=C tr -c '[:print:]' ' '"#)
        }
    };
    format!(
        r#"t="${{TMPDIR:-/tmp}}/labctl-distribution-$$"
: >"$t.all"
end=$(( $(date +%s) + {budget} ))
i=0
while [ "$i" -lt {requests} ] && [ "$(date +%s)" -lt "$end" ]; do
  i=$((i + 1))
  code=$(curl -sS -o "$t.b" -D "$t.h" -w '%{{http_code}}' --max-time {secs} {url} 2>/dev/null)
  rc=$?
  key=$( {{ {key}; }} 2>/dev/null)
  printf '%s %s %s\n' "$rc" "${{code:-000}}" "$key" >>"$t.all"
  rm -f "$t.b" "$t.h"
done
{{ printf '{MAGIC}\nsent %s\n' "$i"; sort "$t.all" | uniq -c | sort -rn | head -n {MAX_KEYS}; }} | head -c {REPORT_BYTES} >"$t.out"
{finish}"#,
        budget = budget.as_secs().max(1),
        requests = body.requests,
        secs = request_timeout.as_secs().max(1),
        url = sh_quote(url),
        finish = finish(runner, r#""$t.b" "$t.h" "$t.all""#),
    )
}

/// A basic regular expression matching a header line named `name` (any case, through
/// `grep -i`): `^name:` with every character but letters, digits and `-` in brackets, so
/// that none is special (`^` escaped: in brackets it would negate).
fn header_pattern(name: &str) -> String {
    let mut out = String::from("^");
    for c in name.chars() {
        match c {
            c if c.is_ascii_alphanumeric() || c == '-' => out.push(c),
            '^' => out.push_str(r"\^"),
            '\\' => out.push_str(r"\\"),
            c => {
                out.push('[');
                out.push(c);
                out.push(']');
            }
        }
    }
    out.push(':');
    out
}

/// A report read back: how many requests were sent, and the counted lines.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Report {
    pub sent: u32,
    pub counts: Vec<Counted>,
}

/// One line of a report: `count` answers with this curl exit, HTTP status and key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Counted {
    pub count: u32,
    pub exit: i32,
    pub status: u16,
    pub key: String,
}

/// Read a report of at most `requests` requests (see the module docs for what is refused).
pub fn parse(text: &str, requests: u32) -> Result<Report, ProbeError> {
    let Some(start) = text.find(MAGIC) else {
        let seen = text.trim();
        return Err(if seen.is_empty() {
            ProbeError::NothingPrinted
        } else {
            ProbeError::NoReport(clean(seen, 300))
        });
    };
    let mut lines = text[start + MAGIC.len()..]
        .lines()
        .skip_while(|l| l.is_empty());
    let sent = lines
        .next()
        .and_then(|l| l.strip_prefix("sent "))
        .and_then(|n| n.trim().parse::<u32>().ok())
        .filter(|n| *n <= requests)
        .ok_or_else(|| ProbeError::NoCounts(clean(&text[start..], 300)))?;
    let counts: Vec<Counted> = lines.take(MAX_KEYS).filter_map(counted).collect();
    let total: u64 = counts.iter().map(|c| u64::from(c.count)).sum();
    if total > u64::from(sent) {
        return Err(ProbeError::Counts {
            counted: total,
            sent,
        });
    }
    Ok(Report { sent, counts })
}

/// `   12 0 200 v2`: count, curl exit, HTTP status, key (the rest of the line, maybe empty).
fn counted(line: &str) -> Option<Counted> {
    let mut parts = line.trim_start().splitn(4, ' ');
    let count = parts.next()?.parse().ok()?;
    let exit = parts.next()?.parse().ok()?;
    let status = parts.next()?.parse().ok()?;
    let key = clean(parts.next().unwrap_or(""), KEY_CHARS);
    Some(Counted {
        count,
        exit,
        status,
        key,
    })
}

/// Untrusted text made a short, printable, single line: control characters become `?`, at most
/// `max` characters, surrounding spaces trimmed.
fn clean(s: &str, max: usize) -> String {
    s.chars()
        .map(|c| if c.is_control() { '?' } else { c })
        .take(max)
        .collect::<String>()
        .trim()
        .to_owned()
}

/// How each answer's key names its version: a header's value as it is, a body marker's first
/// group. `Err` when a body marker (after substitution) is not a regular expression.
pub struct Reader {
    regex: Option<regex::Regex>,
}

impl Reader {
    pub fn new(marker: &Marker) -> Result<Reader, ProbeError> {
        let regex = match marker {
            Marker::Header(_) => None,
            Marker::Body(re) => Some(regex::Regex::new(re).map_err(|e| ProbeError::Marker {
                pattern: re.clone(),
                reason: e.to_string(),
            })?),
        };
        Ok(Reader { regex })
    }

    /// One answer from its curl exit, HTTP status and key.
    pub fn answer(&self, exit: i32, status: u16, key: &str) -> Answer {
        if exit != 0 {
            return Answer::Failed(format!("curl exit {exit} ({})", conn_error(exit)));
        }
        if status == 0 || status >= 400 {
            return Answer::Failed(format!("HTTP {status}"));
        }
        let version = match &self.regex {
            None => Some(key),
            Some(re) => re.captures(key).and_then(|c| c.get(1)).map(|m| m.as_str()),
        };
        match version.map(|v| clean(v, KEY_CHARS)) {
            Some(v) if !v.is_empty() => Answer::Marked(v),
            _ => Answer::Unmarked,
        }
    }

    /// Every one of `requests` answers from a report: the counted ones, then those the report
    /// left out, then those never sent.
    pub fn answers(&self, report: &Report, requests: u32) -> Vec<Answer> {
        let mut out = Vec::with_capacity(requests as usize);
        for c in &report.counts {
            let a = self.answer(c.exit, c.status, &c.key);
            out.extend(std::iter::repeat_n(a, c.count as usize));
        }
        let left_out = (report.sent as usize).saturating_sub(out.len());
        out.extend(std::iter::repeat_n(
            Answer::Failed(format!(
                "not in the report (more than {MAX_KEYS} different answers)"
            )),
            left_out,
        ));
        fill_unsent(&mut out, report.sent, requests);
        out
    }
}

/// Complete `answers` to `requests` with failures for those never sent (the time ran out).
fn fill_unsent(answers: &mut Vec<Answer>, sent: u32, requests: u32) {
    let unsent = (requests as usize).saturating_sub(answers.len());
    answers.extend(std::iter::repeat_n(
        Answer::Failed(format!(
            "not sent: the time ran out after {sent} of {requests} requests"
        )),
        unsent,
    ));
}

/// Read a probe pod's or an exec's output into `body.requests` answers.
pub fn read(text: &str, body: &DistributionBody) -> Result<Vec<Answer>, ProbeError> {
    let reader = Reader::new(&body.by)?;
    let report = parse(text, body.requests)?;
    Ok(reader.answers(&report, body.requests))
}

/// The key labctl's own request gives: the header's value, or the start of the body flattened
/// as the script flattens it.
fn key_of(by: &Marker, header: Option<String>, body: &str) -> String {
    match by {
        Marker::Header(_) => header.unwrap_or_default(),
        Marker::Body(_) => body
            .chars()
            .take(BODY_BYTES)
            .map(|c| if c.is_control() { ' ' } else { c })
            .collect(),
    }
}

/// Send the requests from labctl itself, one after another, until all are sent or `budget`
/// has passed.
pub async fn from_labctl(
    url: &str,
    body: &DistributionBody,
    request_timeout: Duration,
    budget: Duration,
) -> Result<Vec<Answer>, ProbeError> {
    let reader = Reader::new(&body.by)?;
    let header = match &body.by {
        Marker::Header(h) => Some(h.as_str()),
        Marker::Body(_) => None,
    };
    let started = Instant::now();
    let mut sent = 0;
    let mut answers = Vec::new();
    while sent < body.requests && started.elapsed() < budget {
        sent += 1;
        let (reply, value) = http::get_with_header(url, request_timeout, header).await?;
        answers.push(match reply {
            Reply::Http { status, body: text } => {
                reader.answer(0, status, &key_of(&body.by, value, &text))
            }
            Reply::Failed { error, detail } => Answer::Failed(format!("{error}: {detail}")),
        });
    }
    fill_unsent(&mut answers, sent, body.requests);
    Ok(answers)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::labfile::kinds::body::Body;
    use crate::labfile::kinds::body::tests::lint_yaml;

    fn body(by: &str) -> DistributionBody {
        let yaml = format!(
            "id: canary\ndistribution:\n  pod: {{namespace: pets}}\n  http: {{url: 'http://store-front.pets/'}}\n  requests: 100\n  by: {by}\n  expect: {{weights: {{v1: 90, v2: 10}}}}\n"
        );
        match lint_yaml(&yaml) {
            (Some(Body::Distribution(d)), m) if m.is_empty() => d,
            other => panic!("a distribution body: {other:?}"),
        }
    }

    fn count(answers: &[Answer], want: &Answer) -> usize {
        answers.iter().filter(|a| *a == want).count()
    }

    /// How many answers named `version`.
    fn marked(answers: &[Answer], version: &str) -> usize {
        count(answers, &Answer::Marked(version.into()))
    }

    #[test]
    fn reads_counts_by_header() {
        let out = "sh noise\nlabctl-distribution 1\nsent 100\n     88 0 200  v1\n     10 0 200  v2\n      1 0 200 \n      1 7 000 \n";
        let a = read(out, &body("{header: x-version}")).unwrap();
        assert_eq!(a.len(), 100);
        assert_eq!(marked(&a, "v1"), 88);
        assert_eq!(marked(&a, "v2"), 10);
        assert_eq!(count(&a, &Answer::Unmarked), 1);
        assert_eq!(
            count(
                &a,
                &Answer::Failed("curl exit 7 (connection refused)".into())
            ),
            1,
            "{a:?}"
        );
    }

    #[test]
    fn a_body_marker_is_matched_on_the_keys() {
        let out = "labctl-distribution 1\nsent 100\n     50 0 200 Hello version: v1, instance: a\n     45 0 200 Hello version: v2, instance: b\n      5 0 503 no healthy upstream\n";
        let a = read(out, &body(r"{body: 'version: (v[0-9]+)'}")).unwrap();
        assert_eq!(marked(&a, "v1"), 50);
        assert_eq!(marked(&a, "v2"), 45);
        assert_eq!(count(&a, &Answer::Failed("HTTP 503".into())), 5);
    }

    #[test]
    fn unsent_and_left_out_answers_are_failures() {
        // 60 sent, 50 in the report: 10 left out, 40 never sent.
        let out = "labctl-distribution 1\nsent 60\n     50 0 200 v1\n";
        let a = read(out, &body("{header: x-version}")).unwrap();
        assert_eq!(a.len(), 100);
        assert_eq!(marked(&a, "v1"), 50);
        assert_eq!(
            count(
                &a,
                &Answer::Failed("not in the report (more than 12 different answers)".into())
            ),
            10
        );
        assert_eq!(
            count(
                &a,
                &Answer::Failed("not sent: the time ran out after 60 of 100 requests".into())
            ),
            40
        );
    }

    #[test]
    fn garbage_is_not_a_report() {
        let by = body("{header: x-version}");
        assert_eq!(read("", &by), Err(ProbeError::NothingPrinted));
        assert!(matches!(
            read("sh: curl: not found\n", &by),
            Err(ProbeError::NoReport(s)) if s == "sh: curl: not found"
        ));
        // No `sent`, a `sent` over the requests asked, counts over what was sent.
        for bad in [
            "labctl-distribution 1\n     88 0 200 v1\n",
            "labctl-distribution 1\nsent lots\n",
            "labctl-distribution 1\nsent 5000\n",
            "labctl-distribution 1\nsent -1\n",
        ] {
            assert!(
                matches!(read(bad, &by), Err(ProbeError::NoCounts(_))),
                "{bad}"
            );
        }
        assert_eq!(
            read(
                "labctl-distribution 1\nsent 100\n 4294967295 0 200 v1\n 4294967295 0 200 v2\n",
                &by
            ),
            Err(ProbeError::Counts {
                counted: 2 * u64::from(u32::MAX),
                sent: 100
            })
        );
        // Lines that do not parse are left out (and so count as failures), not guessed at.
        let a = read(
            "labctl-distribution 1\nsent 10\nx 0 200 v1\n  3 zero 200 v1\n  3 0 2000000 v1\n  4 0 200 v2\n",
            &by,
        )
        .unwrap();
        assert_eq!(a.len(), 100);
        assert_eq!(marked(&a, "v2"), 4);
        assert_eq!(
            a.iter()
                .filter(|x| matches!(x, Answer::Failed(w) if w.starts_with("not in the report")))
                .count(),
            6
        );
    }

    #[test]
    fn a_hostile_marker_never_reaches_the_terminal_raw() {
        let long = "v".repeat(5000);
        let out = format!(
            "labctl-distribution 1\nsent 3\n  1 0 200 \u{1b}]0;owned\u{7}\u{1b}[2Jv9\n  1 0 200 {long}\n  1 0 200 v1\r\u{1b}[1A\n"
        );
        let a = read(&out, &body("{header: x-version}")).unwrap();
        for answer in &a[..3] {
            let Answer::Marked(v) = answer else {
                panic!("{a:?}")
            };
            assert!(!v.chars().any(char::is_control), "{v:?}");
            assert!(v.chars().count() <= KEY_CHARS);
        }
        assert_eq!(a[0], Answer::Marked("?]0;owned??[2Jv9".into()));
    }

    #[test]
    fn header_names_match_literally() {
        assert_eq!(header_pattern("x-version"), "^x-version:");
        assert_eq!(header_pattern("x.v^1*"), r"^x[.]v\^1[*]:");
    }

    #[test]
    fn the_script_is_bounded_and_quotes_what_it_is_given() {
        let by = body("{header: x-version}");
        let s = script(
            "http://x/it's",
            &by,
            Duration::from_secs(5),
            Duration::from_secs(60),
            Runner::ProbePod { mesh: true },
        );
        assert!(s.contains(r"'http://x/it'\''s'"), "{s}");
        assert!(s.contains(r#"grep -i -e '^x-version:'"#), "{s}");
        assert!(s.contains("--max-time 5") && s.contains("+ 60 ))"), "{s}");
        assert!(s.contains("[ \"$i\" -lt 100 ]"), "{s}");
        assert!(
            s.contains("head -n 12") && s.contains("head -c 3800"),
            "{s}"
        );
        assert!(s.contains("/dev/termination-log") && s.contains("quitquitquit"));
        let exec = script(
            "http://x/",
            &by,
            Duration::from_secs(5),
            Duration::from_secs(60),
            Runner::Exec,
        );
        assert!(!exec.contains("termination-log") && !exec.contains("quitquitquit"));
    }

    /// The script really counts answers that `read` reads, against a tiny server that answers
    /// v1, v1, v2, …, when sh and curl are at hand.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_script_round_trips_through_sh_and_curl() {
        if duct::cmd!("sh", "-c", "command -v curl").read().is_err() {
            return;
        }
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            use tokio::io::{AsyncReadExt, AsyncWriteExt};
            for n in 0.. {
                let Ok((mut s, _)) = listener.accept().await else {
                    return;
                };
                let mut buf = [0u8; 1024];
                let _ = s.read(&mut buf).await;
                let v = if n % 4 == 3 { "v2" } else { "v1" };
                let body = format!("<p>version: {v}</p>");
                let _ = s
                    .write_all(
                        format!(
                            "HTTP/1.1 200 OK\r\nX-Version: {v}\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                            body.len()
                        )
                        .as_bytes(),
                    )
                    .await;
            }
        });
        for by in ["{header: x-version}", r"{body: 'version: (v[0-9]+)'}"] {
            let mut b = body(by);
            b.requests = 8;
            let dir = tempfile::tempdir().unwrap();
            let log = dir.path().join("termination-log");
            let s = script(
                &format!("http://{addr}/"),
                &b,
                Duration::from_secs(5),
                Duration::from_secs(60),
                Runner::ProbePod { mesh: false },
            );
            let out = tokio::task::spawn_blocking(move || {
                duct::cmd("sh", ["-c", &s])
                    .env("LABCTL_TERMINATION_LOG", &log)
                    .stdout_capture()
                    .read()
                    .unwrap()
            })
            .await
            .unwrap();
            let a = read(&out, &b).unwrap();
            assert_eq!(a.len(), 8, "{out}");
            assert_eq!(marked(&a, "v1"), 6, "{by}: {out}");
            assert_eq!(marked(&a, "v2"), 2, "{by}: {out}");
        }
        // And from labctl itself.
        let mut b = body("{header: x-version}");
        b.requests = 4;
        let a = from_labctl(
            &format!("http://{addr}/"),
            &b,
            Duration::from_secs(5),
            Duration::from_secs(60),
        )
        .await
        .unwrap();
        assert_eq!(a.len(), 4);
        assert_eq!(marked(&a, "v1"), 3, "{a:?}");
    }
}
