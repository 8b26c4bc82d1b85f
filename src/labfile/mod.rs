//! Lab specifications: parsing and linting lab files into a validated [`lab::Lab`].
pub mod diag;
pub mod drift;
pub mod expand;
pub mod istio;
pub mod kinds;
pub mod lab;
pub mod load;
pub mod manifest;
pub mod markdown;
pub mod model;
pub mod pattern;
pub mod selector;
pub mod source;
pub mod step_file;
pub mod template;
pub mod yaml;
pub mod yaml_error;
