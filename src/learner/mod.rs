//! Learner mode: where a learner stands in a lab, kept in a state file per lab and context
//! (`state`), and the results sent to a live class server (`push`).
pub mod push;
pub mod state;
