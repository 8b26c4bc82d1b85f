//! One module per subcommand; each returns the exit code or an `Error`.
pub mod grade;
pub mod list;
pub mod show;
pub mod validate;
