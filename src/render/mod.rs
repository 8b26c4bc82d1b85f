//! Turning plans and results into text for people: Markdown in the terminal.
pub mod table;
pub mod terminal;
