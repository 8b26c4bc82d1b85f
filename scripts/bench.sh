#!/usr/bin/env bash
# The benchmark (benches/README.md): bash scripts/bench.sh [extra arguments for the test binary]
#
# `labctl grade istio-aks` on the finished istio-aks state versus a generated bash script that
# does one `kubectl get` per check, against the same test control plane in the same run. Prints
# both wall times (median of LABCTL_BENCH_RUNS runs each, default 5), the ratio, and each one's
# API requests from the API server's audit log. Release build. Never fails on timing.
#
# Like scripts/test.sh it installs what is missing (Debian packages: kubectl's kubernetes-client,
# jq; `apt-get update` first) and builds or reuses the cached kube-apiserver (scripts/kube-bin.sh).
# The generated script is left at target/bench/grade-kubectl.sh (not committed).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
say() { printf '[bench] %s\n' "$*" >&2; }
# shellcheck source=scripts/setup.sh
source scripts/setup.sh

need kubectl kubernetes-client
# The baseline script tests each kubectl answer with jq, as hand-written grading scripts do.
need jq jq
kube_binaries

# --test-threads=1: nothing else of the test binary runs beside the benchmark.
cargo test --locked --release --test integration bench:: -- --ignored --nocapture --test-threads=1 "$@"
