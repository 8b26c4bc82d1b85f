//! The one integration-test binary (like ripgrep's): every module below runs against real
//! processes — the `labctl` binary and, where a cluster is needed, a real kube-apiserver + etcd.

mod fixture_tests;
mod harness;
mod harness_tests;
mod cli;
mod validate;
mod fixture_states;
mod grade_offline;
