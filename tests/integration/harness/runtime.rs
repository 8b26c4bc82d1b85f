//! The harness's own tokio runtime, and small waiting helpers.
//!
//! Every `#[tokio::test]` gets a runtime of its own that is dropped when the test ends, and with it
//! every task spawned on it — and every `kube::Client` created on it (its tower `Buffer` worker is a
//! task of that runtime). Whatever outlives one test (the shared control plane's start-up, the
//! sidecar-injector webhook server, pod-status drivers) therefore runs here, on a process-wide
//! runtime that is never dropped. Clients are cheap: make one per test with
//! `ControlPlane::client`, never share one across tests.

use std::future::Future;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// The process-wide runtime the harness's background work runs on.
pub fn harness_runtime() -> &'static tokio::runtime::Runtime {
    static RT: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RT.get_or_init(|| {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("labctl-harness")
            .enable_all()
            .build()
            .expect("build the harness tokio runtime")
    })
}

/// Runs `fut` on the harness runtime and waits for it from any runtime (or none); a panic inside
/// is resumed in the caller so the test fails with the original message.
pub async fn on_harness<F>(fut: F) -> F::Output
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    match harness_runtime().spawn(fut).await {
        Ok(out) => out,
        Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
        Err(e) => panic!("harness task cancelled: {e}"),
    }
}

/// Polls `check` (50 ms, backing off to 500 ms) until it returns `Ok`, or panics after `timeout`
/// naming `what` and the last `Err` it gave (so a timed-out test says what it saw).
pub async fn wait_until<T, F, Fut>(what: &str, timeout: Duration, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, String>>,
{
    let deadline = Instant::now() + timeout;
    let mut every = Duration::from_millis(50);
    loop {
        match check().await {
            Ok(v) => return v,
            Err(last) if Instant::now() >= deadline => {
                panic!("timed out after {timeout:?} waiting for {what}; last seen: {last}")
            }
            Err(_) => {
                tokio::time::sleep(every).await;
                every = (every * 2).min(Duration::from_millis(500));
            }
        }
    }
}

/// A name unique in this process and across concurrently running test processes, valid as a
/// namespace (DNS-1123 label, at most 63 chars): `<prefix>-<pid>-<n>`.
pub fn unique_name(prefix: &str) -> String {
    use std::sync::atomic::{AtomicU32, Ordering};
    static N: AtomicU32 = AtomicU32::new(0);
    let n = N.fetch_add(1, Ordering::Relaxed);
    let mut prefix: String = prefix
        .to_ascii_lowercase()
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect();
    prefix.truncate(40);
    format!("{}-{}-{n}", prefix.trim_matches('-'), std::process::id())
}
