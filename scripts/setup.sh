# Shared by scripts/test.sh and scripts/bench.sh (sourced, not run): install the Debian tools a
# run needs when they are missing, and build or reuse the cached kube-apiserver.
#
#   need COMMAND PACKAGE   install PACKAGE when COMMAND is not on the PATH (apt-get update first)
#   kube_binaries          export LABCTL_KUBE_BIN (scripts/kube-bin.sh: ~5 min once per machine)

export DEBIAN_FRONTEND=noninteractive
SUDO=()
[ "$(id -u)" -eq 0 ] || SUDO=(sudo -n)

need() {
    command -v "$1" >/dev/null 2>&1 && return 0
    say "$1 missing: installing Debian's $2"
    "${SUDO[@]}" apt-get update -qq >/dev/null
    "${SUDO[@]}" apt-get install -y -qq --no-install-recommends "$2" >/dev/null
}

kube_binaries() {
    local start
    start=$(date +%s)
    LABCTL_KUBE_BIN="$(bash scripts/kube-bin.sh)"
    export LABCTL_KUBE_BIN
    say "control-plane binaries: $LABCTL_KUBE_BIN ($(($(date +%s) - start))s)"
}
