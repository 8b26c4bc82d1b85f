//! `labctl ci`: content CI that replays a lab end to end (see `run.rs`).
pub mod debug;
pub mod exec;
pub mod junit;
pub mod leftovers;
pub mod report;
pub mod run;
pub mod stand_ins;
pub mod terminal;

pub use stand_ins::substitute_stand_ins;
