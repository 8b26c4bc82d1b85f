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
say() { printf '[test] %s\n' "$*" >&2; }
# shellcheck source=scripts/setup.sh
source scripts/setup.sh

# kubectl: the machines have 1.32 at /usr/bin/kubectl; elsewhere Debian's kubernetes-client will do.
need kubectl kubernetes-client
# xmllint validates JUnit output against the XSD in tests/junit/.
need xmllint libxml2-utils
# jq and yq (Debian's, the jq wrapper for YAML): the installer stand-ins in tests/ci-sim build what
# they install from the lab's IstioOperator files and flags.
need jq jq
need yq yq
# actionlint checks the workflows (and, through shellcheck, their run: scripts).
need shellcheck shellcheck
actionlint_tool
# Headless Chromium renders the class report's HTML (tests/integration/class_report.rs).
need chromium chromium
# WebDriver for Chromium: the class server's live dashboard (tests/integration/class_server.rs).
need chromedriver chromium-driver
kube_binaries

cargo test --locked --all-targets --no-fail-fast "$@"
