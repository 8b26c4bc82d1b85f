//! Reporters consume grading events; the engine never prints (like nextest's reporter fan-out).
pub mod collect;
pub mod event;
pub mod json;
pub mod junit;
pub mod set;
pub mod terminal;
