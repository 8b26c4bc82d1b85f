//! `labctl class serve`: learners' labctl pushes each step's result here; the instructor sees
//! the class live on a dashboard. See [`app`] for the HTTP side, [`store`] for durability,
//! [`pull`] for the learners the server grades by pulling.
pub mod app;
pub mod auth;
pub mod board;
pub mod pull;
pub mod secret;
pub mod store;
pub mod tls;
