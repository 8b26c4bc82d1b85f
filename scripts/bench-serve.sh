#!/usr/bin/env bash
# The class-server benchmark (benches/README.md): bash scripts/bench-serve.sh [LEARNERS] [SECONDS]
#
# Loopback, bounded: `labctl class serve` (release build, TLS with its self-signed certificate)
# takes LEARNERS (500) learners each submitting a result every 2 s for SECONDS (60), each on its
# own keep-alive connection, with one dashboard client on /events (examples/serve_load.rs).
# Prints throughput, p50/p99 latency and the server's peak RSS (VmHWM), then, beside it,
# `labctl class report` pulling a class of the same size (snapshot learners: no cluster needed)
# with its wall time and peak RSS. Never fails on timing.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
say() { printf '[bench-serve] %s\n' "$*" >&2; }
learners=${1:-500}
seconds=${2:-60}

# LABCTL_BENCH_PROFILE=debug measures the debug build instead (quicker to build, slower to run).
profile=${LABCTL_BENCH_PROFILE:-release}
if [ "$profile" = release ]; then
  cargo build --locked --release --bin labctl --example serve_load
  target=${CARGO_TARGET_DIR:-target}/release
else
  cargo build --locked --bin labctl --example serve_load
  target=${CARGO_TARGET_DIR:-target}/debug
fi
say "$profile build"
labctl=$target/labctl
work=$(mktemp -d)
trap 'kill "$server" 2>/dev/null || true; rm -rf "$work"' EXIT

{
  echo "lab: istio-aks"
  echo "profile: kind"
  echo "learners:"
  for i in $(seq 1 "$learners"); do echo "  - name: learner-$i"; done
} >"$work/class.yaml"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
"$labctl" class invite "$work/class.yaml" --server "https://127.0.0.1:$port" >"$work/join.txt"
"$labctl" class serve "$work/class.yaml" --listen "127.0.0.1:$port" >"$work/serve.out" 2>&1 &
server=$!
for _ in $(seq 1 100); do grep -q "invite learners" "$work/serve.out" 2>/dev/null && break; sleep 0.1; done
key=$(sed -n 's/.*login?key=\([0-9a-f]*\).*/\1/p' "$work/serve.out")
say "server pid $server on 127.0.0.1:$port, $learners learners, ${seconds}s"
"$target/examples/serve_load" "$port" "$work/join.txt" "$key" 2000 "$seconds"
rss=$(awk '/VmHWM/ {print $2, $3}' "/proc/$server/status")
stored=$(python3 -c "import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute('select count(*) from submissions').fetchone()[0])" "$work/class.yaml.db" 2>/dev/null || echo "?")
echo "server peak RSS (VmHWM) $rss · submissions in the database $stored"
kill "$server"

# Beside it: the pull side on a class of the same size (each learner a snapshot file).
{
  echo "lab: istio-aks"
  echo "profile: kind"
  echo "learners:"
  for i in $(seq 1 "$learners"); do
    echo "  - { name: learner-$i, snapshot: $PWD/labs/istio-aks/snapshots/finished-kind.json }"
  done
} >"$work/pull.yaml"
/usr/bin/time -f "class report (pull, $learners snapshot learners): wall %e s · peak RSS %M kB" \
  "$labctl" class report "$work/pull.yaml" --json "$work/pull.json" >/dev/null
