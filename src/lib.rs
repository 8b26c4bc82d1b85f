//! labctl: a lab runner and automated grader for hands-on Kubernetes workshops.
//!
//! The crate is laid out as the pipeline it implements:
//! `spec` (parse + lint lab files) → `plan` (profile + variables) → `view` (cluster objects,
//! live or snapshot) → `eval` (pure check evaluation) → `report` (terminal, JUnit, JSON).
//! `grade` drives a run over live facts; `ci` replays a lab end to end; `learner` keeps a learner's
//! progress.

pub mod bundle;
pub mod ci;
pub mod class;
pub mod cli;
pub mod cmd;
pub mod error;
pub mod eval;
pub mod fsutil;
pub mod grade;
pub mod learner;
pub mod plan;
pub mod probe;
pub mod render;
pub mod report;
pub mod spec;
pub mod view;
