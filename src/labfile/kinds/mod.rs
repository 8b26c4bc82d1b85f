//! Check kinds: one folder per kind (its YAML model, its lint), registered once in [`body`].
pub mod body;
pub mod command;
pub mod distribution;
pub mod lint;
pub mod probe;
pub mod resource;
