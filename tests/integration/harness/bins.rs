//! Where the control-plane binaries come from.
//!
//! `kube-apiserver` and `kube-controller-manager` are built from Debian's `kubernetes` source
//! package by `scripts/kube-bin.sh` and cached outside the work tree; `etcd` is Debian's
//! `etcd-server`. Lookup order: `$LABCTL_KUBE_BIN`, then the script's default cache directory
//! (`$LABCTL_KUBE_CACHE`, else `${XDG_CACHE_HOME:-$HOME/.cache}/labctl/kube-<version>`). etcd is
//! taken from that directory when present there, else `/usr/bin/etcd`, else `$PATH`.

use std::path::{Path, PathBuf};

/// Upstream version `scripts/kube-bin.sh` builds (Debian's 1.20.5+really1.20.2).
pub const KUBE_VERSION: &str = "1.20.2";

/// Paths of the three programs a control plane runs.
#[derive(Clone, Debug)]
pub struct KubeBins {
    pub dir: PathBuf,
    pub apiserver: PathBuf,
    pub controller_manager: PathBuf,
    pub etcd: PathBuf,
}

/// The directory `scripts/kube-bin.sh` caches into when `LABCTL_KUBE_CACHE` is unset.
pub fn default_cache_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("LABCTL_KUBE_CACHE").filter(|d| !d.is_empty()) {
        return PathBuf::from(dir);
    }
    let cache = std::env::var_os("XDG_CACHE_HOME")
        .filter(|d| !d.is_empty())
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))
        .unwrap_or_else(|| PathBuf::from("/root/.cache"));
    cache.join("labctl").join(format!("kube-{KUBE_VERSION}"))
}

impl KubeBins {
    /// Finds the binaries, or panics telling the user how to get them.
    pub fn locate() -> KubeBins {
        let (dir, from) = match std::env::var_os("LABCTL_KUBE_BIN").filter(|d| !d.is_empty()) {
            Some(d) => (PathBuf::from(d), "$LABCTL_KUBE_BIN"),
            None => (default_cache_dir(), "the default cache directory"),
        };
        let apiserver = dir.join("kube-apiserver");
        let controller_manager = dir.join("kube-controller-manager");
        for bin in [&apiserver, &controller_manager] {
            if !is_executable(bin) {
                panic!(
                    "{} not found ({from} = {}).\n\
                     The integration tests run a real kube-apiserver built from Debian's sources: \
                     run `bash scripts/kube-bin.sh` once (about 5 minutes; it caches the build), \
                     or `bash scripts/test.sh`, which does it for you, \
                     or point LABCTL_KUBE_BIN at a directory holding kube-apiserver and kube-controller-manager.",
                    bin.display(),
                    dir.display()
                );
            }
        }
        let etcd = [dir.join("etcd"), PathBuf::from("/usr/bin/etcd")]
            .into_iter()
            .chain(
                std::env::var_os("PATH")
                    .map(|p| {
                        std::env::split_paths(&p)
                            .map(|d| d.join("etcd"))
                            .collect::<Vec<_>>()
                    })
                    .unwrap_or_default(),
            )
            .find(|p| is_executable(p))
            .unwrap_or_else(|| {
                panic!(
                    "etcd not found (looked in {}, /usr/bin and $PATH): \
                     run `bash scripts/kube-bin.sh` (it installs Debian's etcd-server)",
                    dir.display()
                )
            });
        KubeBins {
            dir,
            apiserver,
            controller_manager,
            etcd,
        }
    }
}

fn is_executable(p: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(p).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}
