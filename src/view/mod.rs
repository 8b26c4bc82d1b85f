//! Cluster views: the objects a plan needs, fetched once and shared by every check.
pub mod connect;
pub mod kinds;
pub mod kubefiles;
pub mod live;
pub mod objects;
pub mod query;
pub mod runtime;
pub mod snapshot;
pub mod transport;
pub mod watch;
