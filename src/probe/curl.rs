//! The request a probe pod or an exec makes, as a `sh` script around curl, and the report it
//! prints: a few `key value` lines (curl's exit code, the HTTP status, curl's error message)
//! and then the start of the body. The script writes the report to stdout (exec) and to
//! `/dev/termination-log` (probe pods), so a probe pod's result is read from its status —
//! no `pods/log` permission needed, and one watch sees both "finished" and the result.

use crate::eval::probe::Reply;
use crate::labfile::lab::ConnError;
use crate::probe::error::ProbeError;
use std::time::Duration;

/// First line of every report; anything before it (a shell's noise) is ignored.
pub const MAGIC: &str = "labctl-probe 1";
/// A termination message holds at most 4096 bytes; the header takes well under 600.
const BODY_BYTES: usize = 3000;

/// Quote for `sh`: single quotes, with embedded ones closed and escaped.
pub fn sh_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

/// Where the script runs: its own probe pod, or someone else's container (exec).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Runner {
    /// A probe pod: report to the termination message too; `mesh` asks the Istio sidecar to
    /// exit afterwards, so that the pod finishes.
    ProbePod { mesh: bool },
    /// An exec into a learner's pod: stdout only, leaving its termination message alone.
    Exec,
}

/// The script: one request with `curl`, then the report.
pub fn script(url: &str, request_timeout: Duration, runner: Runner) -> String {
    format!(
        r#"t="${{TMPDIR:-/tmp}}/labctl-probe-$$"
curl -sS -o "$t.body" -w '%{{http_code}}' --max-time {secs} {url} >"$t.code" 2>"$t.err"
rc=$?
{{ printf '{MAGIC}\nexit %s\ncode %s\nerror %s\nbody\n' "$rc" "$(cat "$t.code")" "$(head -c 300 "$t.err" | tr '\n' ' ')"; head -c {BODY_BYTES} "$t.body" 2>/dev/null; }} >"$t.out"
{finish}"#,
        secs = request_timeout.as_secs().max(1),
        url = sh_quote(url),
        finish = finish(runner, r#""$t.body" "$t.code" "$t.err""#),
    )
}

/// The end of every probe script: print the report in `"$t.out"` (and, in a probe pod, write
/// it to the termination message), remove `files` and the report, ask a probe pod's sidecar to
/// quit, and exit 0 (the report says what happened, not the exit code).
pub fn finish(runner: Runner, files: &str) -> String {
    let termination = if matches!(runner, Runner::ProbePod { .. }) {
        "cat \"$t.out\" >\"${LABCTL_TERMINATION_LOG:-/dev/termination-log}\" 2>/dev/null\n"
    } else {
        ""
    };
    let quit = if runner == (Runner::ProbePod { mesh: true }) {
        "curl -fsS -o /dev/null -X POST http://127.0.0.1:15020/quitquitquit >/dev/null 2>&1 || true\n"
    } else {
        ""
    };
    format!("cat \"$t.out\"\n{termination}rm -f {files} \"$t.out\"\n{quit}exit 0\n")
}

/// Read a report back. `Err` when the text is not one (the script did not run: no `sh` or
/// `curl` in the image, an exec into the wrong container…), with what was there instead.
pub fn parse(text: &str) -> Result<Reply, ProbeError> {
    let Some(start) = text.find(MAGIC) else {
        let seen = text.trim();
        return Err(if seen.is_empty() {
            ProbeError::NothingPrinted
        } else {
            ProbeError::NoReport(seen.chars().take(300).collect())
        });
    };
    let rest = &text[start + MAGIC.len()..];
    let (head, body) = rest.split_once("\nbody\n").unwrap_or((rest, ""));
    let field = |key: &str| {
        head.lines()
            .find_map(|l| l.strip_prefix(key)?.strip_prefix(' '))
            .unwrap_or("")
            .trim()
            .to_owned()
    };
    let exit: i32 = field("exit")
        .parse()
        .map_err(|_| ProbeError::NoExitCode(head.to_owned()))?;
    let code: u16 = field("code").parse().unwrap_or(0);
    let error = field("error");
    if exit == 0 && code != 0 {
        return Ok(Reply::Http {
            status: code,
            body: body.to_owned(),
        });
    }
    Ok(Reply::Failed {
        error: conn_error(exit),
        detail: if error.is_empty() {
            format!("curl exit {exit}")
        } else {
            format!("curl exit {exit}: {}", error.trim_start_matches("curl: "))
        },
    })
}

/// curl's exit codes, by what they mean for a probe. 35 is a handshake that was cut or
/// refused (what a sidecar does to HTTPS for a host outside the registry); 60 (51 before curl
/// 7.62) is a server certificate the client does not trust: the host answered.
pub fn conn_error(curl_exit: i32) -> ConnError {
    match curl_exit {
        6 => ConnError::Dns,
        7 => ConnError::Refused,
        28 => ConnError::Timeout,
        35 => ConnError::Tls,
        51 | 60 => ConnError::Untrusted,
        52 => ConnError::Empty,
        55 | 56 => ConnError::Reset,
        _ => ConnError::Other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_a_reply() {
        let out = "labctl-probe 1\nexit 0\ncode 200\nerror \nbody\n<!doctype html>\n<title>Contoso Pet Store</title>\n";
        assert_eq!(
            parse(out),
            Ok(Reply::Http {
                status: 200,
                body: "<!doctype html>\n<title>Contoso Pet Store</title>\n".into()
            })
        );
        let bad_gateway = "noise\nlabctl-probe 1\nexit 0\ncode 502\nerror \nbody\n";
        assert_eq!(
            parse(bad_gateway),
            Ok(Reply::Http {
                status: 502,
                body: String::new()
            })
        );
    }

    #[test]
    fn reads_connection_errors() {
        let reset = "labctl-probe 1\nexit 56\ncode 000\nerror curl: (56) Recv failure: Connection reset by peer \nbody\n";
        assert_eq!(
            parse(reset),
            Ok(Reply::Failed {
                error: ConnError::Reset,
                detail: "curl exit 56: (56) Recv failure: Connection reset by peer".into()
            })
        );
        for (exit, want) in [
            (7, ConnError::Refused),
            (28, ConnError::Timeout),
            (52, ConnError::Empty),
            (6, ConnError::Dns),
            (35, ConnError::Tls),
            (60, ConnError::Untrusted),
            (51, ConnError::Untrusted),
            (3, ConnError::Other),
        ] {
            let text = format!("labctl-probe 1\nexit {exit}\ncode 000\nerror \nbody\n");
            let Ok(Reply::Failed { error, detail }) = parse(&text) else {
                panic!("{text}")
            };
            assert_eq!((error, detail), (want, format!("curl exit {exit}")));
        }
    }

    #[test]
    fn anything_else_is_not_a_report() {
        assert!(
            parse("")
                .unwrap_err()
                .to_string()
                .contains("printed nothing")
        );
        assert!(
            parse("sh: curl: not found\n")
                .unwrap_err()
                .to_string()
                .contains("curl: not found")
        );
        assert!(parse("labctl-probe 1\ncode 200\n").is_err());
    }

    #[test]
    fn the_script_quotes_the_url_and_reports() {
        let s = script(
            "http://x/it's",
            Duration::from_secs(10),
            Runner::ProbePod { mesh: true },
        );
        assert!(s.contains(r"'http://x/it'\''s'"), "{s}");
        assert!(s.contains("--max-time 10"));
        assert!(s.contains("/dev/termination-log"));
        assert!(s.contains("quitquitquit"));
        let outside = script(
            "http://x/",
            Duration::from_secs(10),
            Runner::ProbePod { mesh: false },
        );
        assert!(!outside.contains("quitquitquit"));
        // Someone else's container: no termination message of theirs is touched.
        let exec = script("http://x/", Duration::from_secs(10), Runner::Exec);
        assert!(!exec.contains("termination-log") && !exec.contains("quitquitquit"));
    }

    /// The script really prints a report that `parse` reads, when sh and curl are at hand.
    #[test]
    fn the_script_round_trips_through_sh() {
        if duct::cmd!("sh", "-c", "command -v curl").read().is_err() {
            return;
        }
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("termination-log");
        let out = duct::cmd(
            "sh",
            [
                "-c",
                &script(
                    "http://127.0.0.1:1/",
                    Duration::from_secs(5),
                    Runner::ProbePod { mesh: false },
                ),
            ],
        )
        .env("LABCTL_TERMINATION_LOG", &log)
        .stdout_capture()
        .read()
        .unwrap();
        let Ok(Reply::Failed { error, .. }) = parse(&out) else {
            panic!("{out}")
        };
        assert_eq!(error, ConnError::Refused);
        assert_eq!(
            std::fs::read_to_string(&log).unwrap().trim_end(),
            out.trim_end()
        );
    }
}
