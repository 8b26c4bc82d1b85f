//! Runs the `labctl` binary like a user would, from the repository root.

use std::path::Path;
use std::process::Command;

/// The output of one `labctl` run.
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

/// Run `labctl ARGS` in the repository root with colours off.
pub fn labctl(args: &[&str]) -> Run {
    let out = Command::new(env!("CARGO_BIN_EXE_labctl"))
        .args(args)
        .current_dir(Path::new(env!("CARGO_MANIFEST_DIR")))
        .env("NO_COLOR", "1")
        .env_remove("LABCTL_LABS")
        .output()
        .expect("run labctl");
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}
