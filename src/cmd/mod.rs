//! One module per subcommand; each returns the exit code or an `Error`.
pub mod check;
pub mod ci;
pub mod class;
pub mod grade;
pub mod learn;
pub mod list;
pub mod show;
pub mod validate;
