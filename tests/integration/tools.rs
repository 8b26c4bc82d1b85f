//! The programs some tests need besides labctl (`bash scripts/test.sh` installs them). A test
//! that needs one fails when it is missing, naming it and its Debian package: it never passes
//! having checked nothing.

use std::path::Path;
use std::process::{Command, Output};

/// The JUnit schema CI systems use (Jenkins'), relative to the repository root.
pub const JUNIT_XSD: &str = "tests/junit/jenkins-junit.xsd";

/// Run `cmd` to the end; panics, naming `package`, when its program is not installed.
pub fn output(cmd: &mut Command, package: &str) -> Output {
    let program = cmd.get_program().to_string_lossy().into_owned();
    match cmd.output() {
        Ok(out) => out,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => panic!(
            "`{program}` is needed by this test and is not installed (Debian package \
             {package}): run the tests with `bash scripts/test.sh`, which installs it"
        ),
        Err(e) => panic!("cannot run `{program}`: {e}"),
    }
}

/// Validate the JUnit file `path` against [`JUNIT_XSD`] with xmllint: `Err` holds its complaint.
pub fn junit_validation(path: &Path) -> Result<(), String> {
    let out = output(
        Command::new("xmllint")
            .args(["--noout", "--schema", JUNIT_XSD])
            .arg(path)
            .current_dir(crate::cli::REPO),
        "libxml2-utils",
    );
    if out.status.success() {
        Ok(())
    } else {
        Err(String::from_utf8_lossy(&out.stderr).into_owned())
    }
}

/// Panics unless the JUnit file `path` is valid against [`JUNIT_XSD`].
pub fn assert_valid_junit(path: &Path) {
    if let Err(e) = junit_validation(path) {
        let xml = std::fs::read_to_string(path).unwrap_or_default();
        panic!(
            "{} is not valid JUnit ({JUNIT_XSD}):\n{e}\n{xml}",
            path.display()
        );
    }
}

#[test]
fn a_missing_tool_fails_the_test_naming_its_package() {
    let missing = std::panic::catch_unwind(|| {
        output(
            &mut Command::new("labctl-test-no-such-program"),
            "no-such-package",
        )
    })
    .expect_err("a missing program must fail the test");
    let message = missing
        .downcast_ref::<String>()
        .cloned()
        .unwrap_or_default();
    assert!(
        message.contains("labctl-test-no-such-program") && message.contains("no-such-package"),
        "{message}"
    );
}

#[test]
fn junit_validation_rejects_what_the_schema_forbids() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("bad.xml");
    std::fs::write(
        &file,
        r#"<testsuites><testsuite name="s" tests="x"/></testsuites>"#,
    )
    .unwrap();
    assert!(junit_validation(&file).is_err());
}
