//! One module per subcommand; each returns the exit code or an `Error`.
pub mod check;
pub mod ci;
pub mod class;
pub mod class_serve;
pub mod grade;
pub mod join;
pub mod learn;
pub mod list;
pub mod prerequisite;
pub mod show;
pub mod validate;

impl From<&crate::cli::LearnerArgs> for crate::learner::state::Which {
    fn from(args: &crate::cli::LearnerArgs) -> Self {
        crate::learner::state::Which {
            lab: args.lab.clone(),
            context: args.context.clone(),
        }
    }
}
