//! Cluster views: the objects a plan needs, fetched once and shared by every check.
pub mod objects;
pub mod query;
