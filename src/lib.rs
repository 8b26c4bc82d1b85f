//! labctl: a lab runner and automated grader for hands-on Kubernetes workshops.
//!
//! The crate is laid out as the pipeline it implements:
//! `labfile` (parse + lint lab files) → `plan` (profile + variables) → `view` (cluster objects,
//! live or snapshot) → `eval` (pure check evaluation) → `report` (terminal, JUnit, JSON).
//! `grade` drives a run over live facts; `ci` replays a lab end to end; `learner` keeps a learner's
//! progress. A module uses only the modules below it in the order of docs/architecture.md
//! (checked by tests/integration/architecture.rs).

// `print!`/`println!` (and `eprintln!`) in this crate never panic: these shadow the
// standard ones for every module below. Standard output goes through `output::Stdout` (a closed
// pipe ends quietly, a full disk is reported by `main`); standard error ignores failures.
macro_rules! print {
    ($($arg:tt)*) => { $crate::output::print(format_args!($($arg)*)) };
}
macro_rules! println {
    () => { $crate::output::print(format_args!("\n")) };
    ($($arg:tt)*) => { $crate::output::print(format_args!("{}\n", format_args!($($arg)*))) };
}
macro_rules! eprintln {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stderr(), $($arg)*);
    }};
}

pub mod bundle;
pub mod cel;
pub mod ci;
pub mod class;
pub mod cli;
pub mod cmd;
pub mod error;
pub mod eval;
pub mod fsutil;
pub mod grade;
pub mod labfile;
pub mod learner;
pub mod output;
pub mod plan;
pub mod probe;
pub mod process;
pub mod readfile;
pub mod render;
pub mod report;
pub mod signal;
pub mod view;
