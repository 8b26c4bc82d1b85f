#!/usr/bin/env bash
# The class-report benchmark (benches/README.md): bash scripts/bench-class.sh [test binary args]
#
# `labctl class report` on 200 learners (namespaces on one test control plane) versus the same
# with per-namespace LISTs and versus `labctl grade` once per learner; and on 10,000 snapshot
# learners sharing 7 snapshot files, every export written (`bash scripts/bench-class.sh --skip
# 200_learners` runs only that one; LABCTL_BENCH_BEFORE=/path/to/labctl also runs another
# build on the same roster). Prints wall times, peak RSS and ratios. Release build. Never fails
# on timing.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
say() { printf '[bench-class] %s\n' "$*" >&2; }
# shellcheck source=scripts/setup.sh
source scripts/setup.sh
kube_binaries

# --test-threads=1: nothing else of the test binary runs beside the benchmark.
cargo test --locked --release --test integration bench_class -- --ignored --nocapture --test-threads=1 "$@"
