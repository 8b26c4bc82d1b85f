//! [`Kubectl`]: runs the machine's `kubectl` (1.32, `/usr/bin/kubectl`) against a test control
//! plane, the way a lab's solve commands do. kubectl warns about the version skew with the 1.20
//! server on stderr; that is expected.

use std::path::PathBuf;
use std::process::Stdio;

use tokio::io::AsyncWriteExt;

/// A kubectl bound to one kubeconfig file.
#[derive(Clone, Debug)]
pub struct Kubectl {
    program: PathBuf,
    kubeconfig: PathBuf,
    cache_dir: Option<PathBuf>,
}

/// What one kubectl run gave.
#[derive(Clone, Debug)]
pub struct KubectlOutput {
    pub status: std::process::ExitStatus,
    pub stdout: String,
    pub stderr: String,
}

impl KubectlOutput {
    pub fn success(&self) -> bool {
        self.status.success()
    }

    /// Panics with stdout/stderr unless kubectl exited 0; returns stdout.
    pub fn expect_success(&self, what: &str) -> &str {
        assert!(
            self.status.success(),
            "kubectl {what} failed ({}):\nstdout:\n{}\nstderr:\n{}",
            self.status,
            self.stdout,
            self.stderr
        );
        &self.stdout
    }
}

impl Kubectl {
    /// `$LABCTL_KUBECTL`, else `/usr/bin/kubectl` if present, else `kubectl` from `$PATH`.
    pub fn new(kubeconfig: PathBuf) -> Kubectl {
        let program = std::env::var_os("LABCTL_KUBECTL")
            .map(PathBuf::from)
            .or_else(|| Some(PathBuf::from("/usr/bin/kubectl")).filter(|p| p.exists()))
            .unwrap_or_else(|| PathBuf::from("kubectl"));
        Kubectl {
            program,
            kubeconfig,
            cache_dir: None,
        }
    }

    /// Where kubectl keeps its discovery cache (default: its own, under `$HOME`).
    pub fn cache_dir(mut self, dir: PathBuf) -> Kubectl {
        self.cache_dir = Some(dir);
        self
    }

    pub fn kubeconfig(&self) -> &std::path::Path {
        &self.kubeconfig
    }

    /// Runs `kubectl --kubeconfig <file> [--cache-dir <dir>] args...`.
    pub async fn run(&self, args: &[&str]) -> KubectlOutput {
        self.run_with_stdin(args, None).await
    }

    /// Like [`run`](Self::run), writing `stdin` to kubectl (e.g. `apply -f -`).
    pub async fn run_with_stdin(&self, args: &[&str], stdin: Option<&str>) -> KubectlOutput {
        let mut cmd = tokio::process::Command::new(&self.program);
        cmd.arg("--kubeconfig").arg(&self.kubeconfig);
        if let Some(dir) = &self.cache_dir {
            cmd.arg("--cache-dir").arg(dir);
        }
        cmd.args(args)
            .env_remove("KUBECONFIG")
            .stdin(if stdin.is_some() {
                Stdio::piped()
            } else {
                Stdio::null()
            })
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        let mut child = cmd.spawn().unwrap_or_else(|e| {
            panic!(
                "run {}: {e} (is kubectl installed?)",
                self.program.display()
            )
        });
        if let (Some(text), Some(mut pipe)) = (stdin, child.stdin.take()) {
            pipe.write_all(text.as_bytes())
                .await
                .expect("write kubectl stdin");
            drop(pipe);
        }
        let out = child.wait_with_output().await.expect("wait for kubectl");
        KubectlOutput {
            status: out.status,
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }
}
