//! Evaluation: pure functions from a planned check and cluster objects to a result value.
pub mod check;
pub mod command;
pub mod diagnose;
pub mod discover;
pub mod distribution;
pub mod error;
pub mod facts;
pub mod matcher;
pub mod probe;
pub mod resource;
pub mod result;
