//! Programs labctl runs: bash commands (command checks, solve blocks) and kubectl, each with a
//! timeout, in the environment of the cluster being graded ([`CommandEnv`]). Neutral: the
//! grading layer, probes and content CI use it.

use crate::eval::facts::CommandFact;
use crate::labfile::lab::Command;
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

/// Run `bash -c RUN` with the command's timeout; the process is killed when time runs out.
pub fn run_command(command: &Command, env: &CommandEnv) -> CommandFact {
    run_with_timeout(
        env.apply(duct::cmd("bash", ["-c", command.run.as_str()])),
        command.timeout,
    )
}

/// The environment commands run in (solve blocks, command checks), beyond labctl's own.
#[derive(Debug, Clone, Default)]
pub struct CommandEnv {
    /// `KUBECONFIG` for the commands (the cluster labctl grades), when not inherited.
    pub kubeconfig: Option<OsString>,
    /// The file that pins the context, kept while any copy of this environment lives.
    _pin: Option<Arc<ContextFile>>,
}

impl CommandEnv {
    /// Commands pointed at the cluster labctl talks to: `kubeconfig` (absolute) and `context`
    /// when given, else labctl's own environment. `context` is pinned with a small kubeconfig
    /// put first in `KUBECONFIG` that only names it as the current context — kubectl, helm,
    /// istioctl and anything else that merges kubeconfigs then use it, and no cluster or
    /// credential is copied: those stay in the user's own files.
    pub fn pinned(kubeconfig: Option<&Path>, context: Option<&str>) -> std::io::Result<CommandEnv> {
        let pin = context.map(ContextFile::new).transpose()?.map(Arc::new);
        let base: Option<OsString> = match kubeconfig {
            Some(k) => Some(std::path::absolute(k).unwrap_or(k.to_path_buf()).into()),
            None if pin.is_some() => Some(
                std::env::var_os("KUBECONFIG")
                    .filter(|v| !v.is_empty())
                    .unwrap_or_else(|| {
                        std::env::home_dir()
                            .unwrap_or_default()
                            .join(".kube/config")
                            .into()
                    }),
            ),
            None => None,
        };
        let kubeconfig = match (&pin, base) {
            (Some(c), Some(base)) => {
                let mut joined = OsString::from(&c.path);
                joined.push(":");
                joined.push(base);
                Some(joined)
            }
            (_, base) => base,
        };
        Ok(CommandEnv {
            kubeconfig,
            _pin: pin,
        })
    }

    /// `expr` with this environment.
    pub fn apply(&self, expr: duct::Expression) -> duct::Expression {
        match &self.kubeconfig {
            Some(k) => expr.env("KUBECONFIG", k),
            None => expr,
        }
    }
}

/// A kubeconfig file that only names the current context; removed when dropped.
#[derive(Debug)]
struct ContextFile {
    path: PathBuf,
}

impl ContextFile {
    fn new(context: &str) -> std::io::Result<ContextFile> {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let path = std::env::temp_dir().join(format!(
            "labctl-context-{}-{}.yaml",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        ));
        let body = format!(
            "apiVersion: v1\nkind: Config\ncurrent-context: {}\n",
            serde_json::to_string(context).unwrap_or_default()
        );
        std::fs::write(&path, body)?;
        Ok(ContextFile { path })
    }
}

impl Drop for ContextFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

/// Run a program with captured output; it is killed when `timeout` runs out. Also used to run
/// `kubectl exec` when the API server will not speak the exec WebSocket protocol.
pub fn run_with_timeout(expr: duct::Expression, timeout: std::time::Duration) -> CommandFact {
    let expr = expr
        .stdin_null()
        .stdout_capture()
        .stderr_capture()
        .unchecked();
    let handle = match expr.start() {
        Ok(h) => h,
        Err(e) => return CommandFact::Failed(format!("cannot start it: {e}")),
    };
    match handle.wait_timeout(timeout) {
        Ok(Some(out)) => CommandFact::Ran {
            exit_code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        },
        Ok(None) => {
            let _ = handle.kill();
            CommandFact::Failed(format!("timed out after {}s", timeout.as_secs()))
        }
        Err(e) => CommandFact::Failed(e.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, Instant};

    #[test]
    fn runs_and_times_out() {
        let env = CommandEnv::default();
        let ok = run_command(
            &Command {
                run: "echo hi; echo err >&2; exit 3".into(),
                timeout: Duration::from_secs(5),
            },
            &env,
        );
        assert_eq!(
            ok,
            CommandFact::Ran {
                exit_code: 3,
                stdout: "hi\n".into(),
                stderr: "err\n".into()
            }
        );
        let start = Instant::now();
        let slow = run_command(
            &Command {
                run: "sleep 30".into(),
                timeout: Duration::from_millis(300),
            },
            &env,
        );
        assert_eq!(slow, CommandFact::Failed("timed out after 0s".into()));
        assert!(start.elapsed() < Duration::from_secs(10));
    }

    #[test]
    fn a_pinned_context_comes_first_in_kubeconfig_and_is_removed_with_the_env() {
        let env = CommandEnv::pinned(Some(Path::new("/k/config")), Some("ctx \"a\"")).unwrap();
        let got = run_command(
            &Command {
                run: r#"IFS=: read -r pin rest <<< "$KUBECONFIG"; cat "$pin"; echo "$rest""#.into(),
                timeout: Duration::from_secs(5),
            },
            &env,
        );
        let CommandFact::Ran { stdout, .. } = got else {
            panic!("{got:?}")
        };
        assert_eq!(
            stdout,
            "apiVersion: v1\nkind: Config\ncurrent-context: \"ctx \\\"a\\\"\"\n/k/config\n"
        );
        let pin = env.kubeconfig.clone().unwrap();
        let pin = PathBuf::from(pin.to_string_lossy().split(':').next().unwrap());
        let copy = env.clone();
        drop(env);
        assert!(pin.exists(), "a copy still uses it");
        drop(copy);
        assert!(!pin.exists());
        assert!(CommandEnv::pinned(None, None).unwrap().kubeconfig.is_none());
    }
}
