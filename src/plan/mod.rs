//! Plans: a lab resolved for one profile and one set of variables, ready to show, grade or run.
pub mod discover;
pub mod hint;
pub mod resolve;
pub mod shell;
pub mod substitute;
pub mod values;
