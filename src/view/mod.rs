//! Cluster views: the objects a plan needs, fetched once and shared by every check.
pub mod connect;
pub mod kinds;
pub mod kubefiles;
pub mod live;
pub mod objects;
pub mod query;
pub mod snapshot;
pub mod transport;
pub mod watch;

/// The async runtime could not be started (no threads to be had, say).
#[derive(Debug, thiserror::Error)]
#[error("cannot start the async runtime: {0}")]
pub struct RuntimeError(std::io::Error);

/// The async runtime for talking to a cluster: two workers (requests wait, they do not compute).
pub fn runtime() -> Result<tokio::runtime::Runtime, RuntimeError> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(RuntimeError)
}
