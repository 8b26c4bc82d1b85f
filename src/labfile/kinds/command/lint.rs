//! Linting a `command:` check: its `timeout:` and its `expect:` fields (each output match
//! takes exactly one of `equals`, `contains`, `matches`; a regular expression that parses).

use crate::labfile::kinds::command::model::{
    Command, CommandDecl, CommandExpect, DEFAULT_TIMEOUT, TextMatch, TextMatchDecl,
};
use crate::labfile::kinds::lint::Lint;
use crate::labfile::model::ExpectDecl;

/// The `expect:` fields a command check takes, in the order the help lists them.
pub const EXPECT_HELP: &str = "exitCode, stdout, stderr";

/// Which of a command check's `expect:` fields are set, by name (for "does not apply").
pub fn expect_fields(e: &ExpectDecl) -> [(bool, &'static str); 3] {
    [
        (e.exit_code.is_some(), "exitCode"),
        (e.stdout.is_some(), "stdout"),
        (e.stderr.is_some(), "stderr"),
    ]
}

/// `command:` with its `timeout:` (or the default).
pub fn command(lint: &mut Lint, c: &CommandDecl) -> Command {
    Command {
        run: c.run.clone(),
        timeout: lint.duration(c.timeout.as_ref(), DEFAULT_TIMEOUT),
    }
}

/// The command fields of `expect:`, linted; `line:col` is the check's.
pub fn expect(lint: &mut Lint, line: u32, col: u32, e: Option<&ExpectDecl>) -> CommandExpect {
    let Some(e) = e else {
        return CommandExpect::default();
    };
    let stdout = e
        .stdout
        .as_ref()
        .and_then(|m| text_match(lint, line, col, m));
    let stderr = e
        .stderr
        .as_ref()
        .and_then(|m| text_match(lint, line, col, m));
    CommandExpect {
        exit_code: e.exit_code.unwrap_or(0),
        stdout,
        stderr,
    }
}

fn text_match(lint: &mut Lint, line: u32, col: u32, m: &TextMatchDecl) -> Option<TextMatch> {
    let set = [
        m.equals.is_some(),
        m.contains.is_some(),
        m.matches.is_some(),
    ]
    .iter()
    .filter(|b| **b)
    .count();
    if set != 1 {
        let d = lint.at_pos(
            line,
            col,
            "an output expectation takes exactly one of `equals`, `contains`, `matches`",
        );
        lint.diags.push(d);
        return None;
    }
    if let Some(re) = &m.matches
        && let Err(err) = regex_lite_check(&re.value)
    {
        let d = lint.at(re, format!("invalid regular expression: {err}"));
        lint.diags.push(d);
    }
    m.equals
        .clone()
        .map(TextMatch::Equals)
        .or_else(|| m.contains.clone().map(TextMatch::Contains))
        .or_else(|| {
            m.matches
                .as_ref()
                .map(|r| TextMatch::Matches(r.value.clone()))
        })
}

/// Compile a regular expression the way command checks will run it.
fn regex_lite_check(re: &str) -> Result<(), regex::Error> {
    regex::Regex::new(re).map(|_| ())
}
