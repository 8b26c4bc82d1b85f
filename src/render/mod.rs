//! Turning plans and results into text for people: Markdown in the terminal, tables, and text
//! from outside made safe to show ([`text::plain_text`]).
pub mod table;
pub mod terminal;
pub mod text;
