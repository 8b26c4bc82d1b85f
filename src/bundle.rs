//! Where labs come from: a folder the user names (`--labs`, `LABCTL_LABS`), the `labs` folder of
//! a checkout one stands in, or the labs compiled into the binary (see `build.rs`).
//!
//! A learner has nothing but the downloaded binary, so the bundled labs are the default. They
//! are written out once to the user's cache folder (the platform's own: XDG on Linux,
//! `~/Library/Caches` on macOS, `%LOCALAPPDATA%` on Windows) because the rest of labctl reads
//! labs as files; the folder is named after the content hash and checked byte for byte on every
//! use, so what runs is always what was compiled in.

use std::fmt;
use std::path::{Path, PathBuf};

mod embedded {
    include!(concat!(env!("OUT_DIR"), "/bundled_labs.rs"));
}

/// The commit labctl was built from (`unknown` outside a checkout).
pub const COMMIT: &str = env!("LABCTL_COMMIT");

/// `labctl --version`: the version and the commit.
pub const VERSION: &str = concat!(
    env!("CARGO_PKG_VERSION"),
    " (commit ",
    env!("LABCTL_COMMIT"),
    ")"
);

/// How the labs folder was chosen.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Origin {
    /// `--labs DIR`
    Flag,
    /// `LABCTL_LABS`
    Env,
    /// `./labs` of the current folder (a checkout of the labs)
    CurrentDir,
    /// the labs compiled into this binary
    Bundled,
}

/// The labs folder to read, and why it is that one.
#[derive(Clone, Debug)]
pub struct LabSource {
    pub dir: PathBuf,
    pub origin: Origin,
}

impl fmt::Display for LabSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let dir = self.dir.display();
        match self.origin {
            Origin::Flag => write!(f, "labs from {dir} (--labs)"),
            Origin::Env => write!(f, "labs from {dir} (LABCTL_LABS)"),
            Origin::CurrentDir => write!(f, "labs from ./{dir} in the current folder"),
            Origin::Bundled => write!(
                f,
                "labs bundled with labctl {} (commit {COMMIT}), unpacked in {dir}",
                env!("CARGO_PKG_VERSION")
            ),
        }
    }
}

/// Pick the labs folder: `--labs`, else `LABCTL_LABS`, else `./labs` when it holds a lab, else
/// the bundled labs (written out to the cache first when needed).
pub fn resolve(flag: Option<PathBuf>) -> Result<LabSource, UnpackError> {
    if let Some(dir) = flag {
        return Ok(LabSource {
            dir,
            origin: Origin::Flag,
        });
    }
    if let Some(dir) = std::env::var_os("LABCTL_LABS").filter(|d| !d.is_empty()) {
        return Ok(LabSource {
            dir: dir.into(),
            origin: Origin::Env,
        });
    }
    let here = PathBuf::from("labs");
    if holds_a_lab(&here) {
        return Ok(LabSource {
            dir: here,
            origin: Origin::CurrentDir,
        });
    }
    let root = unpack(&cache_root())?;
    Ok(LabSource {
        dir: root.join("labs"),
        origin: Origin::Bundled,
    })
}

/// A folder with at least one `*/lab.yaml` (a stray `labs` folder of something else is not one).
fn holds_a_lab(dir: &Path) -> bool {
    std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .flatten()
                .any(|e| e.path().join("lab.yaml").is_file())
        })
        .unwrap_or(false)
}

/// `<user cache>/labctl/bundled-labs`, or the temporary folder when the platform names none.
fn cache_root() -> PathBuf {
    directories::ProjectDirs::from("", "", "labctl")
        .map(|p| p.cache_dir().to_path_buf())
        .unwrap_or_else(|| std::env::temp_dir().join("labctl"))
        .join("bundled-labs")
}

/// The bundled labs could not be written out (no cache folder, disk full, read-only home).
#[derive(Debug, thiserror::Error)]
#[error("cannot unpack the bundled labs into {} (use --labs DIR with a copy of the labs instead)", .dir.display())]
pub struct UnpackError {
    pub dir: PathBuf,
    #[source]
    pub source: std::io::Error,
}

/// Make `<root>/<version>-<hash>` hold exactly the bundled files, and return it. A copy that
/// differs in any byte (edited, half-written by a crash) is replaced: a fresh copy is written
/// beside it and renamed into place, so a concurrent labctl sees the old or the new, never a mix.
pub fn unpack(root: &Path) -> Result<PathBuf, UnpackError> {
    let dir = root.join(format!("{}-{}", env!("CARGO_PKG_VERSION"), embedded::HASH));
    if matches(&dir) {
        return Ok(dir);
    }
    let tmp = root.join(format!(".tmp-{}-{}", embedded::HASH, std::process::id()));
    let _ = std::fs::remove_dir_all(&tmp);
    let write = || -> std::io::Result<()> {
        for (rel, bytes) in embedded::FILES {
            let path = join(&tmp, rel);
            if let Some(parent) = path.parent() {
                std::fs::create_dir_all(parent)?;
            }
            std::fs::write(&path, bytes)?;
        }
        if dir.exists() {
            std::fs::remove_dir_all(&dir)?;
        }
        std::fs::rename(&tmp, &dir)
    };
    match write() {
        Ok(()) => Ok(dir),
        // Another labctl unpacked the same labs meanwhile: theirs is as good as ours.
        Err(_) if matches(&dir) => {
            let _ = std::fs::remove_dir_all(&tmp);
            Ok(dir)
        }
        Err(source) => {
            let _ = std::fs::remove_dir_all(&tmp);
            Err(UnpackError { dir, source })
        }
    }
}

/// Every bundled file is present under `dir` with the same bytes.
fn matches(dir: &Path) -> bool {
    embedded::FILES
        .iter()
        .all(|(rel, bytes)| std::fs::read(join(dir, rel)).is_ok_and(|b| b == *bytes))
}

/// `dir` joined with a `/`-separated relative path, with the platform's separator.
fn join(dir: &Path, rel: &str) -> PathBuf {
    rel.split('/')
        .fold(dir.to_path_buf(), |p, part| p.join(part))
}

/// The names of the bundled labs (folders under `labs/` with a `lab.yaml`).
pub fn bundled_lab_names() -> Vec<&'static str> {
    embedded::FILES
        .iter()
        .filter_map(|(rel, _)| rel.strip_prefix("labs/")?.strip_suffix("/lab.yaml"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bundles_the_labs_and_their_check_library() {
        assert!(bundled_lab_names().contains(&"istio-aks"));
        let names: Vec<&str> = embedded::FILES.iter().map(|(n, _)| *n).collect();
        assert!(names.contains(&"checks/istiod-ready.yaml"), "{names:?}");
        // A step's checks file beside its Markdown (`labfile::step_file`).
        assert!(
            names.contains(&"labs/istio-aks/steps/01-enable-addon.yaml"),
            "{names:?}"
        );
        assert!(
            names
                .iter()
                .all(|n| !n.contains('\\') && !n.starts_with('/'))
        );
    }

    #[test]
    fn unpacks_once_and_repairs_an_edited_copy() {
        let root = tempfile::tempdir().unwrap();
        let dir = unpack(root.path()).unwrap();
        let lab = dir.join("labs/istio-aks/lab.yaml");
        let original = std::fs::read(&lab).unwrap();
        assert!(original.starts_with(b"name: istio-aks"));
        // A second run reuses the copy as it is.
        assert_eq!(unpack(root.path()).unwrap(), dir);
        // An edited or truncated copy is replaced by the bundled bytes.
        std::fs::write(&lab, b"name: tampered\n").unwrap();
        std::fs::remove_file(dir.join("checks/istiod-ready.yaml")).unwrap();
        assert_eq!(unpack(root.path()).unwrap(), dir);
        assert_eq!(std::fs::read(&lab).unwrap(), original);
        assert!(dir.join("checks/istiod-ready.yaml").is_file());
        // No temporary folder is left behind.
        let left: Vec<_> = std::fs::read_dir(root.path()).unwrap().flatten().collect();
        assert_eq!(left.len(), 1, "{left:?}");
    }

    #[test]
    fn a_folder_without_labs_is_not_a_labs_folder() {
        let d = tempfile::tempdir().unwrap();
        assert!(!holds_a_lab(d.path()));
        std::fs::create_dir_all(d.path().join("x")).unwrap();
        assert!(!holds_a_lab(d.path()));
        std::fs::write(d.path().join("x/lab.yaml"), "name: x").unwrap();
        assert!(holds_a_lab(d.path()));
    }
}
