//! The `distribution` check kind: N requests, counted per version against weights (a canary's
//! traffic split). Its YAML model and validated form, and its lint; its evaluation is
//! `eval::distribution` (evaluation comes after `labfile` in the dependency order).
pub mod lint;
pub mod model;
