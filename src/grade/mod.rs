//! Grading: evaluate a plan's checks over gathered facts and emit events to reporters; the live
//! session that gathers them from a cluster.
pub mod commands;
pub mod run;
pub mod session;
pub mod wait;
