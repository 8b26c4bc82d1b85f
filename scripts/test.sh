#!/usr/bin/env bash
# The test command (README, CI): bash scripts/test.sh [extra `cargo test` arguments]
#
# On a fresh machine it installs what the tests need (Debian packages, only when missing; it runs
# `apt-get update` first then), builds or reuses the cached kube-apiserver/kube-controller-manager
# (scripts/kube-bin.sh: ~5 min once per machine, then cached outside the work tree), and runs
# every test target against them. Non-interactive: works with CI=true and no stdin.
#
# Use `cargo test`, not nextest: all tests of the integration binary share one control plane per
# process (nextest would start one per test).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
export DEBIAN_FRONTEND=noninteractive

say() { printf '[test] %s\n' "$*" >&2; }

SUDO=()
[ "$(id -u)" -eq 0 ] || SUDO=(sudo -n)

# kubectl: the machines have 1.32 at /usr/bin/kubectl; elsewhere Debian's kubernetes-client will do.
if ! command -v kubectl >/dev/null 2>&1; then
    say "kubectl missing: installing Debian's kubernetes-client"
    "${SUDO[@]}" apt-get update -qq >/dev/null
    "${SUDO[@]}" apt-get install -y -qq --no-install-recommends kubernetes-client >/dev/null
fi

# xmllint validates JUnit output against the XSD in tests/junit/.
if ! command -v xmllint >/dev/null 2>&1; then
    say "xmllint missing: installing Debian's libxml2-utils"
    "${SUDO[@]}" apt-get update -qq >/dev/null
    "${SUDO[@]}" apt-get install -y -qq --no-install-recommends libxml2-utils >/dev/null
fi

start=$(date +%s)
LABCTL_KUBE_BIN="$(bash scripts/kube-bin.sh)"
export LABCTL_KUBE_BIN
say "control-plane binaries: $LABCTL_KUBE_BIN ($(($(date +%s) - start))s)"

cargo test --locked --all-targets --no-fail-fast "$@"
