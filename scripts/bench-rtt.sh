#!/usr/bin/env bash
# The delayed-link benchmark (benches/README.md): bash scripts/bench-rtt.sh [extra arguments]
#
# `labctl grade istio-aks` on the finished istio-aks state versus the bash script with one
# `kubectl get` per check, on loopback and through a proxy that delays every chunk by half the
# RTT each way (50 ms and 150 ms RTT; LABCTL_BENCH_RTTS=50,150 in milliseconds). Prints wall
# times (median of LABCTL_BENCH_RUNS runs, default 5), connections per run, requests, and the
# round trips each tool pays above loopback: (far - loopback) / RTT. LABCTL_BENCH_BEFORE=PATH
# adds another labctl build. Release build. Never fails on timing.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
say() { printf '[bench-rtt] %s\n' "$*" >&2; }
# shellcheck source=scripts/setup.sh
source scripts/setup.sh

need kubectl kubernetes-client
need jq jq
kube_binaries

# --test-threads=1: nothing else of the test binary runs beside the benchmark.
cargo test --locked --release --test integration bench_rtt -- --ignored --nocapture --test-threads=1 "$@"
