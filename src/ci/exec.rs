//! Running one solve block the way a learner would: `bash -euo pipefail -c CODE`, stdout and
//! stderr interleaved, each line handed to the caller as it arrives (so CI logs show progress
//! of a slow `istioctl install`) and kept for the report. A timeout kills bash and everything
//! it started: a pipeline's `kubectl` would otherwise keep the output pipe open.

use crate::ci::report::CommandOutcome;
use std::io::{BufRead, BufReader};
use std::sync::Arc;
use std::sync::mpsc::{RecvTimeoutError, channel};
use std::time::{Duration, Instant};

use crate::process::CommandEnv;

/// Run `code`; returns how it ended and its whole output.
pub fn run_block(
    code: &str,
    env: &CommandEnv,
    timeout: Duration,
    on_line: &mut dyn FnMut(&str),
) -> (CommandOutcome, String) {
    let expr = env.apply(
        duct::cmd("bash", ["-euo", "pipefail", "-c", code])
            .stdin_null()
            .stderr_to_stdout()
            .unchecked(),
    );
    let handle = match expr.reader() {
        Ok(h) => Arc::new(h),
        Err(e) => {
            return (
                CommandOutcome::NotStarted {
                    message: e.to_string(),
                },
                String::new(),
            );
        }
    };
    let (tx, rx) = channel::<String>();
    let reader = {
        let handle = Arc::clone(&handle);
        std::thread::spawn(move || {
            let mut lines = BufReader::new(&*handle);
            let mut buf = Vec::new();
            loop {
                buf.clear();
                match lines.read_until(b'\n', &mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(_) => {
                        let line = String::from_utf8_lossy(&buf);
                        if tx
                            .send(line.trim_end_matches(['\n', '\r']).to_owned())
                            .is_err()
                        {
                            break;
                        }
                    }
                }
            }
        })
    };
    let deadline = Instant::now() + timeout;
    let mut output = String::new();
    let mut timed_out = false;
    loop {
        match rx.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
            Ok(line) => {
                on_line(&line);
                output.push_str(&line);
                output.push('\n');
            }
            Err(RecvTimeoutError::Disconnected) => break,
            Err(RecvTimeoutError::Timeout) => {
                timed_out = true;
                kill_tree(&handle.pids());
                let _ = handle.kill();
                break;
            }
        }
    }
    let _ = reader.join();
    if timed_out {
        return (
            CommandOutcome::TimedOut {
                after_secs: timeout.as_secs(),
            },
            output,
        );
    }
    let outcome = match handle.try_wait() {
        Ok(Some(out)) if out.status.success() => CommandOutcome::Succeeded,
        Ok(Some(out)) => CommandOutcome::Failed {
            exit_code: out.status.code().unwrap_or(-1),
        },
        Ok(None) => CommandOutcome::NotStarted {
            message: "bash closed its output but did not exit".into(),
        },
        Err(e) => CommandOutcome::NotStarted {
            message: e.to_string(),
        },
    };
    (outcome, output)
}

/// SIGKILL every descendant of `roots` (Linux: read from /proc; other Unixes: from `ps`),
/// children first found last. Elsewhere (Windows) only the bash process itself is killed, by the
/// caller's handle: `labctl ci` is a tool for authors and CI runners, which run Linux.
#[cfg(unix)]
fn kill_tree(roots: &[u32]) {
    let mut victims: Vec<u32> = Vec::new();
    let mut frontier: Vec<u32> = roots.to_vec();
    let parents = parent_map();
    while let Some(pid) = frontier.pop() {
        for (child, parent) in &parents {
            if *parent == pid && !victims.contains(child) {
                victims.push(*child);
                frontier.push(*child);
            }
        }
    }
    for pid in victims {
        // SAFETY: kill(2) with a pid we just read; a pid that is gone meanwhile yields ESRCH.
        unsafe {
            libc::kill(pid as libc::pid_t, libc::SIGKILL);
        }
    }
}

#[cfg(not(unix))]
fn kill_tree(_roots: &[u32]) {}

/// (pid, parent pid) of every process, from /proc/<pid>/stat, or from `ps` where there is no
/// /proc (macOS); empty when neither answers.
#[cfg(unix)]
fn parent_map() -> Vec<(u32, u32)> {
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return ps_parent_map();
    };
    dir.filter_map(|e| e.ok())
        .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
        .filter_map(|pid| {
            let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
            // The command name is in parentheses and may hold spaces: read after the last ')'.
            let rest = &stat[stat.rfind(')')? + 1..];
            let ppid = rest.split_whitespace().nth(1)?.parse().ok()?;
            Some((pid, ppid))
        })
        .collect()
}

/// `ps -A -o pid= -o ppid=` (POSIX options, as macOS and the BSDs have them).
#[cfg(unix)]
fn ps_parent_map() -> Vec<(u32, u32)> {
    let Ok(out) = std::process::Command::new("ps")
        .args(["-A", "-o", "pid=", "-o", "ppid="])
        .output()
    else {
        return Vec::new();
    };
    parse_ps(&String::from_utf8_lossy(&out.stdout))
}

#[cfg_attr(not(unix), allow(dead_code))]
fn parse_ps(text: &str) -> Vec<(u32, u32)> {
    text.lines()
        .filter_map(|l| {
            let mut it = l.split_whitespace();
            Some((it.next()?.parse().ok()?, it.next()?.parse().ok()?))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(code: &str, timeout: Duration) -> (CommandOutcome, String, Vec<String>) {
        let mut seen = Vec::new();
        let (o, out) = run_block(code, &CommandEnv::default(), timeout, &mut |l| {
            seen.push(l.to_owned())
        });
        (o, out, seen)
    }

    #[test]
    fn reads_the_process_tree_from_proc_and_from_ps_alike() {
        assert_eq!(
            parse_ps("  1     0\n 42  1\nbad line\n"),
            vec![(1, 0), (42, 1)]
        );
        // Both sources see this test process with the same parent (macOS uses the `ps` path).
        let me = std::process::id();
        let parent = |m: &[(u32, u32)]| m.iter().find(|(p, _)| *p == me).map(|(_, pp)| *pp);
        let from_proc = parent(&parent_map());
        assert!(from_proc.is_some());
        assert_eq!(parent(&ps_parent_map()), from_proc);
    }

    #[test]
    fn streams_interleaved_output_and_reports_success() {
        let (o, out, seen) = run(
            "echo one; echo two >&2; echo three",
            Duration::from_secs(10),
        );
        assert_eq!(o, CommandOutcome::Succeeded);
        assert_eq!(out, "one\ntwo\nthree\n");
        assert_eq!(seen, ["one", "two", "three"]);
    }

    #[test]
    fn strict_mode_stops_at_the_first_failing_command() {
        let (o, out, _) = run(
            "echo before; false | cat; echo after",
            Duration::from_secs(10),
        );
        assert_eq!(o, CommandOutcome::Failed { exit_code: 1 });
        assert_eq!(out, "before\n");
        let (o, _, _) = run("echo $UNSET_VARIABLE_FOR_LABCTL", Duration::from_secs(10));
        assert!(matches!(o, CommandOutcome::Failed { .. }), "{o:?}");
    }

    #[test]
    fn a_timeout_kills_the_whole_pipeline() {
        let start = Instant::now();
        // `sleep | cat`: without killing the tree, `sleep` would hold the pipe for 30 s.
        let (o, out, _) = run("echo started; sleep 30 | cat", Duration::from_millis(500));
        assert_eq!(o, CommandOutcome::TimedOut { after_secs: 0 });
        assert_eq!(out, "started\n");
        assert!(start.elapsed() < Duration::from_secs(20), "not killed");
    }

    #[test]
    fn kubeconfig_is_passed_to_the_commands() {
        let env =
            CommandEnv::pinned(Some(std::path::Path::new("/tmp/some/kubeconfig")), None).unwrap();
        let (o, out) = run_block(
            "echo \"$KUBECONFIG\"",
            &env,
            Duration::from_secs(10),
            &mut |_| {},
        );
        assert_eq!(o, CommandOutcome::Succeeded);
        assert_eq!(out, "/tmp/some/kubeconfig\n");
    }
}
