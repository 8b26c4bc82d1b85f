//! The one integration-test binary (like ripgrep's): every module below runs against real
//! processes — the `labctl` binary and, where a cluster is needed, a real kube-apiserver + etcd.

mod architecture;
mod bench;
mod bench_class;
mod bench_rtt;
mod browser;
mod bundled;
mod ci;
mod class_push;
mod class_report;
mod class_security;
mod class_server;
mod cli;
mod connection;
mod discovery;
mod fixture_states;
mod fixture_tests;
mod grade_live;
mod grade_offline;
mod harness;
mod harness_tests;
mod hostile;
mod install;
mod learner_cluster;
mod learner_flow;
mod learner_safety;
mod learner_state;
mod native_sidecars;
mod probes;
mod requires;
mod standalone;
mod tools;
mod upgrade_lab;
mod validate;
mod view_tests;
mod workflows;
