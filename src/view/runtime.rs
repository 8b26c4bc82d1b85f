//! The async runtime for talking to a cluster: two workers (requests wait, they do not compute).

/// The async runtime could not be started (no threads to be had, say).
#[derive(Debug, thiserror::Error)]
#[error("cannot start the async runtime: {0}")]
pub struct RuntimeError(std::io::Error);

/// A runtime with two workers and every driver (timers, I/O) enabled.
pub fn runtime() -> Result<tokio::runtime::Runtime, RuntimeError> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(RuntimeError)
}
