//! A learner in a live class: the join link and what it saves (`join`), the TLS that trusts the
//! class server (`pin`), requests to it (`client`), what can go wrong (`error`), results waiting to be sent (`queue`), and a
//! step's result turned into a submission and delivered within a second (`send`).
pub mod client;
pub mod error;
pub mod join;
pub mod pin;
pub mod queue;
pub mod send;
