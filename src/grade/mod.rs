//! Grading: evaluate a plan's checks over gathered facts and emit events to reporters.
pub mod commands;
pub mod live;
pub mod run;
