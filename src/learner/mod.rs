//! Learner mode: where a learner stands in a lab, kept in a state file per lab and context.
pub mod state;
