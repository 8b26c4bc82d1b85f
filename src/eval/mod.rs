//! Evaluation: pure functions from a planned check and cluster objects to a result value.
pub mod cel;
