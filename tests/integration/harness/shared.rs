//! The control plane shared by every test of the test process.
//!
//! `cargo test` runs all tests of the integration binary in one process, on parallel threads; the
//! first to call [`ControlPlane::shared`] starts it (with the controller manager and the Istio
//! CRDs), the others wait for it. Tests isolate themselves with unique namespace names
//! ([`unique_name`](super::unique_name)) and, where they count requests, a
//! [`fresh_learner`](ControlPlane::fresh_learner). If start-up fails, every test using it fails with
//! the same message, without retrying.
//!
//! It is never dropped (statics aren't): its processes die with the test process
//! (`PR_SET_PDEATHSIG`), and an `atexit` hook deletes its directory.

use tokio::sync::OnceCell;

use super::{ControlPlane, ControlPlaneOptions, harness_runtime};

impl ControlPlane {
    /// The process-wide control plane, started on first use.
    pub async fn shared() -> &'static ControlPlane {
        static SHARED: OnceCell<Result<ControlPlane, String>> = OnceCell::const_new();
        let opts = ControlPlaneOptions {
            controller_manager: true,
            istio_crds: true,
        };
        process_wide(&SHARED, opts, "shared test").await
    }
}

/// A control plane started once per test process in `cell`. It is started on the harness
/// runtime, so its clients and tasks do not die with the test that happened to start it; a
/// failed start is remembered, so every test using it fails with the same message.
pub async fn process_wide(
    cell: &'static OnceCell<Result<ControlPlane, String>>,
    opts: ControlPlaneOptions,
    label: &str,
) -> &'static ControlPlane {
    let started = cell
        .get_or_init(|| async {
            match harness_runtime().spawn(ControlPlane::start(opts)).await {
                Ok(cp) => {
                    eprintln!(
                        "labctl {label} control plane: {} ({})",
                        cp.server_url(),
                        cp.dir().display()
                    );
                    Ok(cp)
                }
                Err(e) if e.is_panic() => {
                    let p = e.into_panic();
                    Err(p
                        .downcast_ref::<String>()
                        .cloned()
                        .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
                        .unwrap_or_else(|| "panic without message".into()))
                }
                Err(e) => Err(e.to_string()),
            }
        })
        .await;
    match started {
        Ok(cp) => cp,
        Err(msg) => panic!("the {label} control plane failed to start: {msg}"),
    }
}
