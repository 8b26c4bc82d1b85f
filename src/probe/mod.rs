//! Functional probes: real requests that prove what objects only claim (STRICT mTLS refuses
//! plaintext, the ingress serves the store, egress is locked), and distributions: N requests
//! whose answers are counted per version (a canary's split). The one part of labctl that
//! writes to a cluster — short-lived probe pods, always deleted — kept apart from `view`
//! (read-only) and `eval` (pure) so that is easy to audit.
pub mod curl;
pub mod distribution;
pub mod error;
pub mod exec;
pub mod http;
pub mod pod;
pub mod run;
