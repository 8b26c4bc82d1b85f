#!/usr/bin/env bash
# The hostile-input corpus, measured (docs/testing.md): bash scripts/bench-hostile.sh
#
# Runs the release labctl on every case of tests/hostile/ and on the special and huge files the
# test makes at run time (tests/integration/hostile.rs), and prints, per case, the exit code, the
# wall time and the peak RSS (GNU time). Never fails on timing: the test bounds the cases with a
# watchdog and an address-space cap; this script says how far below those bounds they stay.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
cargo build --locked --release --quiet
bin="${CARGO_TARGET_DIR:-target}/release/labctl"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
export NO_COLOR=1 LABCTL_STATE_DIR="$tmp/state"
printf '%-44s %-9s %4s %8s %9s\n' case command exit seconds "peak MiB"
timed() { # label command args...: one run under GNU time (its exit code, seconds, peak RSS)
  local name="$1" cmd="$2" rc secs kb
  shift 2
  /usr/bin/time -o "$tmp/time" -f '%x %e %M' "$bin" "$@" </dev/null >/dev/null 2>&1 || true
  read -r rc secs kb < <(tail -1 "$tmp/time") # after "Command exited with non-zero status"
  printf '%-44s %-9s %4s %8s %9.1f\n' "$name" "$cmd" "$rc" "$secs" "$(echo "$kb / 1024" | bc -l)"
}
measure() { timed "$@"; }
minimal() { # a copy of the minimal lab named $1 under $tmp
  rm -rf "${tmp:?}/$1"
  cp -r tests/labs-ok/minimal "$tmp/$1"
  sed -i "s/^name: minimal/name: $1/" "$tmp/$1/lab.yaml"
}
specials() { # make $1 one of: zero urandom fifo dir
  case "$2" in
    zero) ln -s /dev/zero "$1" ;;
    urandom) ln -s /dev/urandom "$1" ;;
    fifo) mkfifo "$1" ;;
    dir) mkdir "$1" ;;
  esac
}
for lab in tests/hostile/labs/*/; do
  lab="${lab%/}"
  measure "lab ${lab##*/}" validate validate "$lab"
  measure "lab ${lab##*/}" show show "$lab"
done
for target in steps/01-onboard.md lab.yaml; do
  for kind in zero urandom fifo dir; do
    minimal "s-$kind"
    rm "$tmp/s-$kind/$target"
    specials "$tmp/s-$kind/$target" "$kind"
    measure "$target as $kind" validate validate "$tmp/s-$kind"
  done
done
minimal huge
{ cat tests/labs-ok/minimal/lab.yaml; printf '# %*s\n' $((5 << 20)) x; } >"$tmp/huge/lab.yaml"
measure "lab.yaml of 5 MiB" validate validate "$tmp/huge"
edit() { # lab file, text to replace, replacement (Python expressions: too long for arguments)
  python3 -c 'import sys; p = sys.argv[1]; t = open(p).read(); open(p, "w").write(t.replace(eval(sys.argv[2]), eval(sys.argv[3]), 1))' "$@"
}
minimal long
edit "$tmp/long/lab.yaml" '"title: A minimal lab"' '"title: A minimal lab\nsummary: " + "y" * 200000 + " {{ nope }}"'
measure "a 200 KB line" validate validate "$tmp/long"
minimal nodes
edit "$tmp/nodes/lab.yaml" '"          match:\n"' '"          match:\n            many: [" + "1," * 300000 + "]\n"'
measure "300,000 YAML nodes" validate validate "$tmp/nodes"
minimal problems
python3 - "$tmp/problems/lab.yaml" <<'PY'
import sys
p = sys.argv[1]
t = open(p).read()
step = t[t.index("  - id: onboard"):t.index("  - id: cleanup")]
steps = "".join(step.replace("id: onboard", f"id: onboard-{i}") for i in range(4000))
open(p, "w").write(t.replace(step, steps.replace("title: Onboard the namespace", "title: Onboard {{ nope }}")))
PY
measure "4,000 steps with a mistake each" validate validate "$tmp/problems"
for roster in tests/hostile/rosters/*; do
  measure "roster ${roster##*/}" class --labs tests/labs-ok class report "$roster"
done
for kind in zero urandom fifo dir; do
  specials "$tmp/roster-$kind" "$kind"
  measure "roster as $kind" class --labs tests/labs-ok class report "$tmp/roster-$kind"
done
for snap in tests/hostile/snapshots/*; do
  measure "snapshot ${snap##*/}" grade --labs tests/labs-ok grade minimal --snapshot "$snap"
done
for kind in zero urandom fifo dir; do
  specials "$tmp/snap-$kind" "$kind"
  measure "snapshot as $kind" grade --labs tests/labs-ok grade minimal --snapshot "$tmp/snap-$kind"
done
truncate -s 65M "$tmp/huge.json"
measure "snapshot of 65 MiB" grade --labs tests/labs-ok grade minimal --snapshot "$tmp/huge.json"
for state in tests/hostile/state/* zero urandom fifo dir; do
  rm -rf "$LABCTL_STATE_DIR"
  mkdir -p "$LABCTL_STATE_DIR"
  if [ -f "$state" ]; then cp "$state" "$LABCTL_STATE_DIR/minimal@ctx.json"; else specials "$LABCTL_STATE_DIR/minimal@ctx.json" "$state"; fi
  # One run: it moves a corrupt file aside.
  timed "state ${state##*/}" status status
done
for kind in zero urandom fifo dir; do
  specials "$tmp/kc-$kind" "$kind"
  measure "kubeconfig as $kind" grade grade istio-aks --kubeconfig "$tmp/kc-$kind"
done
