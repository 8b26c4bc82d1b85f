//! The `resource` check kind: its YAML model and validated form, and its lint. Its evaluation is
//! `eval::resource` (evaluation comes after `labfile` in the dependency order).
pub mod lint;
pub mod model;
