//! Runs the `labctl` binary like a user would, from the repository root: the one place the tests
//! build its command (as ripgrep's tests/util.rs does). Tests add arguments, environment and
//! stdio to [`command`], or use [`labctl`] for a plain run.

use std::ffi::OsStr;
use std::process::{Command, Output};

/// The `labctl` binary cargo built for these tests.
pub const BIN: &str = env!("CARGO_BIN_EXE_labctl");
/// The repository root, where commands run by default.
pub const REPO: &str = env!("CARGO_MANIFEST_DIR");

/// The output of one `labctl` run.
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    /// Run `cmd` to the end, capturing its output.
    pub fn of(cmd: &mut Command) -> Run {
        Run::from(cmd.output().expect("run labctl"))
    }

    /// Standard output, then standard error.
    pub fn all(&self) -> String {
        format!("{}{}", self.stdout, self.stderr)
    }
}

impl From<Output> for Run {
    fn from(out: Output) -> Run {
        Run {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }
}

/// `labctl` as the tests run it: in the repository root, colours off, labs not taken from the
/// environment (`LABCTL_LABS`). Arguments, environment and stdio are the caller's.
pub fn command() -> Command {
    command_for(BIN)
}

/// [`command`] for another build of labctl (the benchmarks compare two).
pub fn command_for(program: impl AsRef<OsStr>) -> Command {
    let mut cmd = Command::new(program);
    cmd.current_dir(REPO)
        .env("NO_COLOR", "1")
        .env_remove("LABCTL_LABS");
    cmd
}

/// Run `labctl ARGS` with [`command`].
pub fn labctl(args: &[&str]) -> Run {
    Run::of(command().args(args))
}
