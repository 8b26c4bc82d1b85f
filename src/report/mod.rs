//! Reporters consume grading events; the engine never prints (like nextest's reporter fan-out).
pub mod event;
