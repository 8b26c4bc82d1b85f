//! Evaluation: pure functions from a planned check and cluster objects to a result value.
pub mod cel;
pub mod check;
pub mod command;
pub mod diagnose;
pub mod facts;
pub mod istio;
pub mod matcher;
pub mod probe;
pub mod resource;
pub mod result;
