//! Child processes (etcd, kube-apiserver, kube-controller-manager) that never outlive the test
//! process, and the scratch directories they run in.
//!
//! - Every child gets `PR_SET_PDEATHSIG(SIGKILL)` in `pre_exec`. That signal fires when the *thread*
//!   that forked the child exits, not the process, so children are forked by one dedicated thread
//!   that lives as long as the process: the kernel kills them when the test process dies, however it
//!   dies (panic, abort, SIGKILL, Ctrl-C).
//! - [`Processes`] kills its children on `Drop`; statics are never dropped, so an `atexit` hook also
//!   kills what is still registered and deletes its scratch directory when the test binary exits.
//! - Scratch directories live under `target/tmp/labctl-kube/<pid>-<n>`; directories of dead
//!   processes are swept at the next start. `LABCTL_KEEP_CLUSTER=1` keeps them (and the logs).

use std::collections::HashMap;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, OnceLock, mpsc};

type SpawnRequest = (Command, mpsc::Sender<std::io::Result<Child>>);

/// Whether scratch directories are kept (`LABCTL_KEEP_CLUSTER=1`).
pub fn keep_cluster() -> bool {
    std::env::var("LABCTL_KEEP_CLUSTER").is_ok_and(|v| !v.is_empty() && v != "0")
}

/// Where scratch directories go.
pub fn scratch_root() -> PathBuf {
    PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("labctl-kube")
}

/// A fresh scratch directory `<root>/<pid>-<n>`, after sweeping those of dead test processes.
pub fn new_scratch_dir() -> PathBuf {
    static N: AtomicU64 = AtomicU64::new(0);
    let root = scratch_root();
    sweep_stale(&root);
    let dir = root.join(format!(
        "{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("create {}: {e}", dir.display()));
    dir
}

fn sweep_stale(root: &Path) {
    let Ok(entries) = std::fs::read_dir(root) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let Some(pid) = name.split('-').next().and_then(|p| p.parse::<i32>().ok()) else {
            continue;
        };
        let alive = unsafe { libc::kill(pid, 0) } == 0
            || std::io::Error::last_os_error().raw_os_error() == Some(libc::EPERM);
        if !alive && !entry.path().join("KEEP").exists() {
            let _ = std::fs::remove_dir_all(entry.path());
        }
    }
}

/// Spawns `cmd` from the long-lived spawner thread with `PR_SET_PDEATHSIG(SIGKILL)`.
fn spawn_orphan_proof(mut cmd: Command) -> std::io::Result<Child> {
    static SPAWNER: OnceLock<Mutex<mpsc::Sender<SpawnRequest>>> = OnceLock::new();
    let parent = std::process::id() as libc::pid_t;
    unsafe {
        cmd.pre_exec(move || {
            if libc::prctl(
                libc::PR_SET_PDEATHSIG,
                libc::SIGKILL as libc::c_ulong,
                0,
                0,
                0,
            ) != 0
            {
                return Err(std::io::Error::last_os_error());
            }
            // The parent may have died between fork and prctl: then nobody will signal us.
            if libc::getppid() != parent {
                libc::_exit(1);
            }
            Ok(())
        });
    }
    let tx = SPAWNER
        .get_or_init(|| {
            let (tx, rx) = mpsc::channel::<SpawnRequest>();
            std::thread::Builder::new()
                .name("labctl-spawner".into())
                .spawn(move || {
                    for (mut cmd, reply) in rx {
                        let _ = reply.send(cmd.spawn());
                    }
                })
                .expect("start the child-spawner thread");
            unsafe { libc::atexit(kill_all_at_exit) };
            Mutex::new(tx)
        })
        .lock()
        .expect("spawner lock")
        .clone();
    let (reply_tx, reply_rx) = mpsc::channel();
    tx.send((cmd, reply_tx)).expect("spawner thread is alive");
    reply_rx.recv().expect("spawner thread replied")
}

/// Registered groups: id -> (pids, scratch dir). Read by the `atexit` hook.
type Registry = HashMap<u64, (Vec<i32>, PathBuf)>;
static LIVE: Mutex<Option<Registry>> = Mutex::new(None);
static NEXT_ID: AtomicU64 = AtomicU64::new(0);

extern "C" fn kill_all_at_exit() {
    let Ok(mut live) = LIVE.try_lock() else {
        return;
    };
    for (_, (pids, dir)) in live.take().unwrap_or_default() {
        for pid in pids.iter().rev() {
            unsafe { libc::kill(*pid, libc::SIGKILL) };
            unsafe { libc::waitpid(*pid, std::ptr::null_mut(), 0) };
        }
        if !keep_cluster() {
            let _ = std::fs::remove_dir_all(&dir);
        }
    }
}

/// The children of one control plane and its scratch directory; all are gone when it drops.
pub struct Processes {
    id: u64,
    dir: PathBuf,
    children: Vec<(String, Child)>,
}

impl Processes {
    pub fn new(dir: PathBuf) -> Processes {
        let id = NEXT_ID.fetch_add(1, Ordering::Relaxed);
        let mut live = LIVE.lock().expect("registry lock");
        live.get_or_insert_default()
            .insert(id, (Vec::new(), dir.clone()));
        if keep_cluster() {
            let _ = std::fs::write(dir.join("KEEP"), "LABCTL_KEEP_CLUSTER was set\n");
        }
        Processes {
            id,
            dir,
            children: Vec::new(),
        }
    }

    /// Starts `program args...` with stdout+stderr appended to `<dir>/<name>.log`, proxies unset.
    pub fn spawn(&mut self, name: &str, program: &Path, args: &[String]) -> std::io::Result<()> {
        let log_path = self.log_path(name);
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&log_path)?;
        let mut cmd = Command::new(program);
        cmd.args(args)
            .current_dir(&self.dir)
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log);
        for var in [
            "HTTP_PROXY",
            "HTTPS_PROXY",
            "ALL_PROXY",
            "http_proxy",
            "https_proxy",
            "all_proxy",
        ] {
            cmd.env_remove(var);
        }
        let child = spawn_orphan_proof(cmd)?;
        if let Some((pids, _)) = LIVE
            .lock()
            .expect("registry lock")
            .get_or_insert_default()
            .get_mut(&self.id)
        {
            pids.push(child.id() as i32);
        }
        self.children.push((name.to_string(), child));
        Ok(())
    }

    /// `Some(description)` when a child has exited (it never should while the plane is up).
    pub fn exited(&mut self) -> Option<String> {
        for (name, child) in &mut self.children {
            if let Ok(Some(status)) = child.try_wait() {
                let tail = log_tail(&self.dir.join(format!("{name}.log")), 30);
                return Some(format!(
                    "{name} exited ({status}); last lines of its log:\n{tail}"
                ));
            }
        }
        None
    }

    pub fn log_path(&self, name: &str) -> PathBuf {
        self.dir.join(format!("{name}.log"))
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }
}

impl Drop for Processes {
    fn drop(&mut self) {
        for (_, child) in self.children.iter_mut().rev() {
            let _ = child.kill();
            let _ = child.wait();
        }
        if let Ok(mut live) = LIVE.lock() {
            live.get_or_insert_default().remove(&self.id);
        }
        if keep_cluster() {
            eprintln!("LABCTL_KEEP_CLUSTER: kept {}", self.dir.display());
        } else {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}

/// The last `n` lines of a log file (for error messages).
pub fn log_tail(path: &Path, n: usize) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

/// A loopback TCP port that was free a moment ago (the kernel picks it: bind port 0).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("bind 127.0.0.1:0 to find a free port")
        .port()
}
