//! Command checks: judge a command's exit code and output against the expectation. Running the
//! command is the job of a `Facts` implementation (live grading runs it with a timeout; offline
//! grading reports it as unavailable, which skips the check).

use crate::eval::error::EvalError;
use crate::eval::facts::{CommandFact, Facts};
use crate::eval::resource::Outcome;
use crate::labfile::lab::{Command, CommandExpect, TextMatch};

/// The verdict on a command body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    Judged(Outcome),
    Skipped(String),
}

pub fn evaluate(
    cmd: &Command,
    expect: &CommandExpect,
    facts: &dyn Facts,
) -> Result<Verdict, EvalError> {
    let (exit_code, stdout, stderr) = match facts.run(cmd) {
        CommandFact::Ran {
            exit_code,
            stdout,
            stderr,
        } => (exit_code, stdout, stderr),
        CommandFact::Unavailable(reason) => return Ok(Verdict::Skipped(reason)),
        CommandFact::Failed(why) => {
            return Err(EvalError::CommandFailed {
                run: cmd.run.clone(),
                why,
            });
        }
    };
    let mut expected = vec![format!("`{}` exits {}", cmd.run, expect.exit_code)];
    let mut problems = Vec::new();
    if exit_code != expect.exit_code {
        problems.push(format!("exit code {exit_code}"));
    }
    for (stream, want, got) in [
        ("stdout", &expect.stdout, &stdout),
        ("stderr", &expect.stderr, &stderr),
    ] {
        if let Some(m) = want {
            expected.push(format!("{stream} {}", describe(m)));
            if !text_matches(m, got)? {
                problems.push(format!("{stream} was {}", quote(got)));
            }
        }
    }
    let passed = problems.is_empty();
    let actual = if passed {
        format!("exit code {exit_code}")
    } else {
        problems.join("; ")
    };
    let actual =
        if !passed && exit_code != 0 && !stderr.trim().is_empty() && expect.stderr.is_none() {
            format!("{actual}\nstderr: {}", quote(&stderr))
        } else {
            actual
        };
    Ok(Verdict::Judged(Outcome {
        passed,
        expected: expected.join(", "),
        actual,
    }))
}

fn text_matches(m: &TextMatch, text: &str) -> Result<bool, EvalError> {
    Ok(match m {
        TextMatch::Equals(s) => text.trim_end() == s.trim_end(),
        TextMatch::Contains(s) => text.contains(s.as_str()),
        TextMatch::Matches(re) => regex::Regex::new(re)
            .map_err(|e| EvalError::Regex {
                re: re.clone(),
                why: e.to_string(),
            })?
            .is_match(text),
    })
}

fn describe(m: &TextMatch) -> String {
    match m {
        TextMatch::Equals(s) => format!("equals {}", quote(s)),
        TextMatch::Contains(s) => format!("contains {}", quote(s)),
        TextMatch::Matches(s) => format!("matches /{s}/"),
    }
}

fn quote(s: &str) -> String {
    quote_at_most(s, 200)
}

/// `s` as a quoted string, cut after `max` characters (with `…`), for messages.
pub(crate) fn quote_at_most(s: &str, max: usize) -> String {
    let s = s.trim_end();
    let cut: String = s.chars().take(max).collect();
    if cut.len() < s.len() {
        format!("{cut:?}…")
    } else {
        format!("{cut:?}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::eval::facts::StaticFacts;
    use crate::view::objects::ObjectSet;
    use std::time::Duration;

    fn run(fact: CommandFact, expect: CommandExpect) -> Result<Verdict, EvalError> {
        let cmd = Command {
            run: "az aks show".into(),
            timeout: Duration::from_secs(5),
        };
        let mut facts = StaticFacts::offline(ObjectSet::default(), "offline");
        facts.commands.insert(cmd.run.clone(), fact);
        evaluate(&cmd, &expect, &facts)
    }

    #[test]
    fn judges_exit_code_and_output() {
        let e = CommandExpect {
            stdout: Some(TextMatch::Contains("asm-1-23".into())),
            ..CommandExpect::default()
        };
        let ok = run(
            CommandFact::Ran {
                exit_code: 0,
                stdout: "asm-1-23\n".into(),
                stderr: String::new(),
            },
            e.clone(),
        )
        .unwrap();
        assert!(matches!(ok, Verdict::Judged(Outcome { passed: true, .. })));
        let bad = run(
            CommandFact::Ran {
                exit_code: 0,
                stdout: "asm-1-22\n".into(),
                stderr: String::new(),
            },
            e.clone(),
        )
        .unwrap();
        let Verdict::Judged(o) = bad else { panic!() };
        assert_eq!(o.actual, "stdout was \"asm-1-22\"");
        assert_eq!(
            o.expected,
            "`az aks show` exits 0, stdout contains \"asm-1-23\""
        );
        let failed = run(
            CommandFact::Ran {
                exit_code: 3,
                stdout: String::new(),
                stderr: "ERROR: not logged in".into(),
            },
            CommandExpect::default(),
        )
        .unwrap();
        let Verdict::Judged(o) = failed else { panic!() };
        assert_eq!(o.actual, "exit code 3\nstderr: \"ERROR: not logged in\"");
    }

    #[test]
    fn unavailable_skips_and_failure_to_run_is_an_error() {
        assert_eq!(
            run(
                CommandFact::Unavailable("offline".into()),
                CommandExpect::default()
            ),
            Ok(Verdict::Skipped("offline".into()))
        );
        assert!(
            run(
                CommandFact::Failed("timed out after 5s".into()),
                CommandExpect::default()
            )
            .unwrap_err()
            .to_string()
            .contains("timed out")
        );
    }
}
