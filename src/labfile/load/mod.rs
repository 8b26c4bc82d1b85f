//! Loading a lab folder: parse `lab.yaml`, read each step's Markdown, resolve `use:` against the
//! check library, and lint everything. Every problem found is collected (not just the first),
//! each located at `file:line:col`; a `Lab` is returned only when there are none.

mod check;
mod find;
mod lab_file;
mod lint_markdown;
mod lint_variables;
mod requires;
mod step;
mod text;

pub use crate::labfile::yaml_error::yaml_error;
pub use find::{LAB_FILE, NamedError, find_labs, load, load_named, locate};
pub use text::parse_duration;
