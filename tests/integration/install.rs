//! The one-line installers and the release workflow that feeds them. `install/install.sh` runs
//! for real against a release folder made here (file:// is what the script's download accepts
//! besides https): it installs into ~/.local/bin without root, checks the checksum, says how to
//! fix PATH, and installs nothing when the checksum is wrong.

use serde_json::Value;
use std::path::Path;
use std::process::Command;

const REPO: &str = env!("CARGO_MANIFEST_DIR");

/// The release file name the installer asks for on this machine.
fn host_target() -> String {
    let arch = std::env::consts::ARCH;
    match std::env::consts::OS {
        "linux" => format!("{arch}-unknown-linux-musl"),
        "macos" => format!("{arch}-apple-darwin"),
        other => panic!("installer test runs on Linux or macOS, not {other}"),
    }
}

/// A release folder holding `labctl-<target>.tar.gz` (this build's labctl) and its `.sha256`.
fn release(dir: &Path) -> String {
    let archive = format!("labctl-{}.tar.gz", host_target());
    let stage = dir.join("stage");
    std::fs::create_dir_all(&stage).unwrap();
    std::fs::copy(crate::cli::BIN, stage.join("labctl")).unwrap();
    let tar = Command::new("tar")
        .args(["-czf"])
        .arg(dir.join(&archive))
        .args(["-C"])
        .arg(&stage)
        .arg("labctl")
        .status()
        .unwrap();
    assert!(tar.success());
    let sum = Command::new("sha256sum")
        .arg(&archive)
        .current_dir(dir)
        .output()
        .unwrap();
    assert!(sum.status.success());
    std::fs::write(dir.join(format!("{archive}.sha256")), &sum.stdout).unwrap();
    archive
}

fn install(home: &Path, url: &str) -> (i32, String) {
    let out = Command::new("sh")
        .arg(Path::new(REPO).join("install/install.sh"))
        .env_clear()
        .env("HOME", home)
        .env("PATH", "/usr/local/bin:/usr/bin:/bin")
        .env("LABCTL_DOWNLOAD_URL", url)
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn the_shell_installer_installs_into_local_bin_and_verifies_the_checksum() {
    let dir = tempfile::tempdir().unwrap();
    let home = tempfile::tempdir().unwrap();
    let archive = release(dir.path());
    let url = format!("file://{}", dir.path().display());

    let (code, stderr) = install(home.path(), &url);
    assert_eq!(code, 0, "{stderr}");
    let bin = home.path().join(".local/bin/labctl");
    let version = Command::new(&bin).arg("--version").output().unwrap();
    assert!(String::from_utf8_lossy(&version.stdout).starts_with("labctl "));
    assert!(stderr.contains("is not on your PATH"), "{stderr}");
    assert!(stderr.contains("export PATH="), "{stderr}");

    // A download that does not match its checksum installs nothing, and says why.
    std::fs::remove_file(&bin).unwrap();
    std::fs::write(
        dir.path().join(format!("{archive}.sha256")),
        format!("{}  {archive}\n", "0".repeat(64)),
    )
    .unwrap();
    let (code, stderr) = install(home.path(), &url);
    assert_eq!(code, 1, "{stderr}");
    assert!(stderr.contains("checksum mismatch"), "{stderr}");
    assert!(!bin.exists());

    // A release without the file names the URL it tried.
    let (code, stderr) = install(home.path(), "file:///nonexistent-release");
    assert_eq!(code, 1, "{stderr}");
    assert!(
        stderr.contains("could not download file:///nonexistent-release/labctl-"),
        "{stderr}"
    );
}

#[test]
fn shellcheck_finds_nothing_in_the_installer() {
    let out = crate::tools::output(
        Command::new("shellcheck")
            .args(["-s", "sh"])
            .arg(Path::new(REPO).join("install/install.sh")),
        "shellcheck",
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
}

#[test]
fn the_release_workflow_builds_every_platform_with_checksums_and_provenance() {
    let text =
        std::fs::read_to_string(Path::new(REPO).join(".github/workflows/release.yml")).unwrap();
    let w: Value = serde_saphyr::from_str(&text).unwrap();
    let targets: Vec<&str> = w["jobs"]["build"]["strategy"]["matrix"]["include"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e["target"].as_str())
        .collect();
    for t in [
        "x86_64-unknown-linux-musl",
        "aarch64-unknown-linux-musl",
        "aarch64-apple-darwin",
        "x86_64-apple-darwin",
        "x86_64-pc-windows-msvc",
    ] {
        assert!(targets.contains(&t), "{t} missing from {targets:?}");
    }
    assert!(w["on"]["push"]["tags"].to_string().contains("v*"));
    let publish = w["jobs"]["publish"].to_string();
    assert!(publish.contains("actions/attest-build-provenance"));
    assert!(publish.contains("SHA256SUMS"));
    assert!(
        publish.contains("__LABCTL_REPO__"),
        "installers get the repository written in"
    );
    // The installers ask for exactly the names the workflow publishes.
    let installer = std::fs::read_to_string(Path::new(REPO).join("install/install.sh")).unwrap();
    assert!(installer.contains(r#"archive="labctl-$t.tar.gz""#));
    assert!(text.contains(r#""labctl-$TARGET.tar.gz.sha256""#));
    let ps = std::fs::read_to_string(Path::new(REPO).join("install/install.ps1")).unwrap();
    assert!(ps.contains(r#"$archive = "labctl-$target.zip""#));
    assert!(text.contains(r#""labctl-$env:TARGET.zip.sha256""#));
}

#[test]
fn the_portable_workflow_tests_linux_macos_and_windows_from_an_empty_folder() {
    let text =
        std::fs::read_to_string(Path::new(REPO).join(".github/workflows/portable.yml")).unwrap();
    let w: Value = serde_saphyr::from_str(&text).unwrap();
    let os = w["jobs"]["build"]["strategy"]["matrix"]["os"].to_string();
    for o in ["ubuntu-latest", "macos-latest", "windows-latest"] {
        assert!(os.contains(o), "{o} missing: {os}");
    }
    for cmd in [
        "cargo test --locked --lib",
        "validate",
        "list",
        "grade istio-aks --snapshot",
    ] {
        assert!(text.contains(cmd), "{cmd} missing");
    }
}
