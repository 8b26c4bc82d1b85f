//! Build script: bundles the labs into the binary and records the commit it was built from.
//!
//! A learner downloads one file and has no checkout, so `labs/` and the shared check library
//! `checks/` (which labs reach as `library: ../../checks`) are compiled in as bytes, keeping
//! their relative layout; `src/bundle.rs` writes them out to a cache folder on first use. The
//! content hash names that folder, so a binary with other labs never reads a stale copy.
//!
//! `labctl --version` names the commit: `LABCTL_COMMIT` when set (release builds from a source
//! archive), else `git rev-parse` of the checkout, else "unknown".

use std::fmt::Write as _;
use std::hash::Hasher;
use std::path::{Path, PathBuf};

/// The folders bundled, relative to the package root.
const ROOTS: [&str; 2] = ["labs", "checks"];

fn main() {
    let root = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").expect("cargo sets it"));
    let mut files = Vec::new();
    for dir in ROOTS {
        println!("cargo:rerun-if-changed={dir}");
        collect(&root, &root.join(dir), &mut files);
    }
    files.sort();

    // FNV-1a over names and contents: stable across runs and platforms (std's SipHash
    // keys are fixed too, but FNV keeps the build script free of that assumption).
    let mut hash = Fnv(0xcbf29ce484222325);
    let mut code = String::from("pub static FILES: &[(&str, &[u8])] = &[\n");
    for rel in &files {
        let path = root.join(rel);
        let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
        hash.write(rel.as_bytes());
        hash.write(&[0]);
        hash.write(&bytes);
        writeln!(
            code,
            "    ({rel:?}, include_bytes!({:?})),",
            path.display().to_string()
        )
        .unwrap();
    }
    code.push_str("];\n");
    writeln!(code, "pub const HASH: &str = \"{:016x}\";", hash.finish()).unwrap();
    let out = PathBuf::from(std::env::var_os("OUT_DIR").expect("cargo sets it"));
    std::fs::write(out.join("bundled_labs.rs"), code).expect("write bundled_labs.rs");

    println!("cargo:rerun-if-env-changed=LABCTL_COMMIT");
    println!("cargo:rustc-env=LABCTL_COMMIT={}", commit(&root));
}

/// Every regular file under `dir`, as a `/`-separated path relative to `root` (hidden files and
/// snapshots of the test harness's own scratch left out).
fn collect(root: &Path, dir: &Path, out: &mut Vec<String>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.starts_with('.') {
            continue;
        }
        let path = entry.path();
        let Ok(kind) = entry.file_type() else {
            continue;
        };
        if kind.is_dir() {
            collect(root, &path, out);
        } else if kind.is_file() {
            let rel = path.strip_prefix(root).expect("under root");
            let parts: Vec<String> = rel
                .components()
                .map(|c| c.as_os_str().to_string_lossy().into_owned())
                .collect();
            out.push(parts.join("/"));
        }
    }
}

fn commit(root: &Path) -> String {
    if let Some(c) = std::env::var("LABCTL_COMMIT")
        .ok()
        .filter(|c| !c.is_empty())
    {
        return c;
    }
    // Rebuild when HEAD moves (a checkout or a commit on the branch).
    for f in [".git/HEAD", ".git/packed-refs"] {
        if root.join(f).exists() {
            println!("cargo:rerun-if-changed={f}");
        }
    }
    if let Ok(head) = std::fs::read_to_string(root.join(".git/HEAD"))
        && let Some(r) = head.trim().strip_prefix("ref: ")
        && root.join(".git").join(r).exists()
    {
        println!("cargo:rerun-if-changed=.git/{r}");
    }
    std::process::Command::new("git")
        .args(["rev-parse", "--short=12", "HEAD"])
        .current_dir(root)
        .output()
        .ok()
        .filter(|o| o.status.success())
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "unknown".into())
}

/// 64-bit FNV-1a.
struct Fnv(u64);

impl Hasher for Fnv {
    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 ^= u64::from(*b);
            self.0 = self.0.wrapping_mul(0x100000001b3);
        }
    }
    fn finish(&self) -> u64 {
        self.0
    }
}
