//! The instructor's class report: many learners graded at once, as one data value
//! ([`report::ClassReport`]), rendered by the reporters below.
pub mod csv;
pub mod facts;
pub mod fetch;
pub mod html;
pub mod json;
pub mod junit;
pub mod prepare;
pub mod progress;
pub mod report;
pub mod roster;
pub mod roster_file;
pub mod run;
pub mod serve;
pub mod shared;
pub mod summary;
pub mod terminal;
pub mod wire;
