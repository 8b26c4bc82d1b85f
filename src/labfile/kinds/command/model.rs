//! A `command:` check as written (`CommandDecl`) and validated (`CommandBody`): a shell
//! command run in the graded cluster's environment, judged by its exit code and output.

use serde::Deserialize;
use serde_saphyr::Spanned;
use std::time::Duration;

type S = Spanned<String>;

/// How long a command may run when the check names no `timeout`.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);

#[derive(Debug, Deserialize, Clone)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct CommandDecl {
    pub run: String,
    #[serde(default)]
    pub timeout: Option<S>,
}

/// `stdout:` or `stderr:` as written; exactly one field may be set (a lint).
#[derive(Debug, Deserialize, Default, Clone)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct TextMatchDecl {
    #[serde(default)]
    pub equals: Option<String>,
    #[serde(default)]
    pub contains: Option<String>,
    #[serde(default)]
    pub matches: Option<S>,
}

/// A command check: run `command`, judge it by `expect`.
#[derive(Debug, Clone, PartialEq)]
pub struct CommandBody {
    pub command: Command,
    pub expect: CommandExpect,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Command {
    pub run: String,
    pub timeout: Duration,
}

/// The exit code (0 unless written) and, optionally, the output.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct CommandExpect {
    pub exit_code: i32,
    pub stdout: Option<TextMatch>,
    pub stderr: Option<TextMatch>,
}

/// One way to match output: the type holds exactly one.
#[derive(Debug, Clone, PartialEq)]
pub enum TextMatch {
    Equals(String),
    Contains(String),
    Matches(String),
}
