#!/usr/bin/env bash
# Build (once) and cache kube-apiserver + kube-controller-manager from Debian's own
# `kubernetes` source package, for labctl's integration tests. Prints the cache directory.
#
#   bash scripts/kube-bin.sh            # build if needed, print the directory
#   LABCTL_KUBE_CACHE=/some/dir bash scripts/kube-bin.sh
#
# Where the source comes from: Debian bookworm (12) still carries the `kubernetes` *source*
# package (1.20.5+really1.20.2-1.1+deb12u1, upstream v1.20.2, binary kubernetes-client only),
# so `deb-src` lines for the suites already in /etc/apt/sources.list.d/debian.sources suffice.
# If a suite ever lacks it, set LABCTL_KUBE_SRC_SUITE=bullseye (1.20.5+really1.20.2-1) and the
# script adds that suite's deb-src too.
#
# Why the reflect2 swap: the vendored github.com/modern-go/reflect2 v1.0.1 is broken with
# Go >= 1.18 (it relies on runtime internals); built with Debian's Go 1.19 the API server dies
# with SIGSEGV the first time it decodes a custom resource. Debian's
# golang-github-modern-go-reflect2-dev (1.0.2) has the fix.
#
# Everything is idempotent: installed packages are not reinstalled, `apt-get update` runs only
# when something must be installed, and a complete cache is reused as is (about 5 minutes of
# build on 2 cores otherwise). The cache lives outside the work tree so it survives fresh clones.
set -euo pipefail

KUBE_VERSION="${LABCTL_KUBE_VERSION:-1.20.2}"
CACHE="${LABCTL_KUBE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/labctl/kube-${KUBE_VERSION}}"
BINS=(kube-apiserver kube-controller-manager)
RUNTIME_PKGS=(etcd-server)
BUILD_PKGS=(golang-go golang-github-modern-go-reflect2-dev rsync jq make dpkg-dev build-essential)
REFLECT2_SRC=/usr/share/gocode/src/github.com/modern-go/reflect2

say() { printf '[kube-bin] %s\n' "$*" >&2; }
die() { say "error: $*"; exit 1; }

SUDO=()
if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null || die "not root and no sudo: install ${RUNTIME_PKGS[*]} ${BUILD_PKGS[*]} yourself"
    SUDO=(sudo -n)
fi
export DEBIAN_FRONTEND=noninteractive

missing_pkgs() {
    local p
    for p in "$@"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q '^install ok installed$' || echo "$p"
    done
}

APT_UPDATED=0
apt_update_once() {
    if [ "$APT_UPDATED" -eq 0 ]; then
        say "apt-get update"
        "${SUDO[@]}" apt-get update -qq >/dev/null
        APT_UPDATED=1
    fi
}

ensure_pkgs() {
    local missing
    missing=$(missing_pkgs "$@" | tr '\n' ' ')
    [ -z "${missing// /}" ] && return 0
    apt_update_once
    say "apt-get install $missing"
    # shellcheck disable=SC2086
    "${SUDO[@]}" apt-get install -y -qq --no-install-recommends $missing >/dev/null
}

# deb-src entries mirroring the deb822 entries of debian.sources (same URIs, suites, keys).
ensure_deb_src() {
    local src=/etc/apt/sources.list.d/debian.sources dst=/etc/apt/sources.list.d/labctl-deb-src.sources
    local want
    if [ -f "$src" ]; then
        want=$(sed -e 's/^Types:.*/Types: deb-src/' "$src")
    else
        want=$'Types: deb-src\nURIs: http://deb.debian.org/debian\nSuites: bookworm bookworm-updates\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg'
    fi
    if [ -n "${LABCTL_KUBE_SRC_SUITE:-}" ]; then
        want+=$'\n\nTypes: deb-src\nURIs: http://deb.debian.org/debian\nSuites: '"$LABCTL_KUBE_SRC_SUITE"$'\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg'
    fi
    if [ ! -f "$dst" ] || [ "$(cat "$dst")" != "$want" ]; then
        say "adding deb-src entries ($dst)"
        printf '%s\n' "$want" | "${SUDO[@]}" tee "$dst" >/dev/null
        APT_UPDATED=0
    fi
}

has_kubernetes_source() {
    [ -n "$(apt-cache showsrc kubernetes 2>/dev/null)" ]
}

cache_complete() {
    local b
    for b in "${BINS[@]}"; do [ -x "$CACHE/$b" ] || return 1; done
    [ -f "$CACHE/VERSION" ]
}

report_cached() {
    command -v etcd >/dev/null || die "etcd not found after installing etcd-server"
    say "cached: $CACHE ($(cat "$CACHE/VERSION"))"
    echo "$CACHE"
    exit 0
}

if cache_complete; then
    ensure_pkgs "${RUNTIME_PKGS[@]}"
    report_cached
fi

# One build at a time per cache (parallel clones, CI and a developer on one machine).
mkdir -p "$(dirname "$CACHE")"
exec 9>"$CACHE.lock"
if ! flock -n 9; then
    say "another kube-bin.sh is building $CACHE; waiting for it"
    flock 9
fi
if cache_complete; then
    ensure_pkgs "${RUNTIME_PKGS[@]}"
    report_cached
fi

start=$(date +%s)
ensure_deb_src # before the package installs, so that a single `apt-get update` sees it
ensure_pkgs "${RUNTIME_PKGS[@]}" "${BUILD_PKGS[@]}"
command -v etcd >/dev/null || die "etcd not found after installing etcd-server"
if ! has_kubernetes_source; then
    APT_UPDATED=0
    apt_update_once
fi
has_kubernetes_source || die "no \`kubernetes\` source package in the apt sources (try LABCTL_KUBE_SRC_SUITE=bullseye)"
[ -d "$REFLECT2_SRC" ] || die "$REFLECT2_SRC missing (golang-github-modern-go-reflect2-dev)"

WORK=$(mktemp -d "$(dirname "$CACHE")/build.XXXXXX")
cleanup() { if [ "${LABCTL_KUBE_KEEP_SRC:-0}" != 1 ]; then rm -rf "$WORK"; else say "kept $WORK"; fi; }
trap cleanup EXIT

say "apt-get source kubernetes (into $WORK)"
(cd "$WORK" && apt-get source -qq kubernetes >/dev/null 2>"$WORK/apt-source.log") ||
    { cat "$WORK/apt-source.log" >&2; die "apt-get source kubernetes failed"; }
TREE=$(find "$WORK" -mindepth 1 -maxdepth 1 -type d -name 'kubernetes-*' | head -n1)
[ -n "$TREE" ] || die "no kubernetes-* directory after apt-get source"
DEB_VERSION=$(cd "$TREE" && dpkg-parsechangelog -S Version)
UPSTREAM=$(sed -n 's/^gitVersion=v\{0,1\}//p' "$TREE/.gitversion" 2>/dev/null || true)
case "$DEB_VERSION" in *really*) UPSTREAM=${DEB_VERSION#*really}; UPSTREAM=${UPSTREAM%%-*} ;; esac
UPSTREAM=${UPSTREAM:-${DEB_VERSION%%-*}}
say "source: kubernetes $DEB_VERSION (upstream v$UPSTREAM)"
if [ "$UPSTREAM" != "$KUBE_VERSION" ]; then
    say "note: expected v$KUBE_VERSION; caching under $CACHE anyway (set LABCTL_KUBE_VERSION=$UPSTREAM to match)"
fi

say "replacing vendored modern-go/reflect2 with Debian's 1.0.2"
rm -rf "$TREE/vendor/github.com/modern-go/reflect2"
mkdir -p "$TREE/vendor/github.com/modern-go/reflect2"
cp -L "$REFLECT2_SRC"/*.go "$REFLECT2_SRC"/*.s "$TREE/vendor/github.com/modern-go/reflect2/" 2>/dev/null ||
    cp -L "$REFLECT2_SRC"/*.go "$TREE/vendor/github.com/modern-go/reflect2/"
rm -f "$TREE"/vendor/github.com/modern-go/reflect2/*_test.go

mkdir -p "$TREE/.go/src/k8s.io"
ln -sfn "$TREE" "$TREE/.go/src/k8s.io/kubernetes"

say "building ${BINS[*]} (go $(go env GOVERSION), ~5 min on 2 cores; log: $WORK/build.log)"
build_ok=0
(
    cd "$TREE/.go/src/k8s.io/kubernetes"
    export GOPATH="$TREE/.go" GO111MODULE=off CGO_ENABLED=0 GOFLAGS= GOCACHE="$WORK/.gocache"
    export KUBE_GIT_VERSION="v$UPSTREAM" KUBE_GIT_TREE_STATE=clean
    make WHAT="cmd/kube-apiserver cmd/kube-controller-manager" >"$WORK/build.log" 2>&1
) &
pid=$!
while kill -0 "$pid" 2>/dev/null; do
    sleep 30
    kill -0 "$pid" 2>/dev/null && say "  ... building ($(($(date +%s) - start))s)"
done
wait "$pid" && build_ok=1
if [ "$build_ok" != 1 ]; then
    tail -n 40 "$WORK/build.log" >&2
    LABCTL_KUBE_KEEP_SRC=1
    die "build failed (tree kept at $WORK)"
fi

OUT="$TREE/_output/local/bin/linux/$(go env GOARCH)"
[ -d "$OUT" ] || OUT="$TREE/_output/bin"
staging="$CACHE.new.$$"
rm -rf "$staging"
mkdir -p "$staging"
for b in "${BINS[@]}"; do
    [ -x "$OUT/$b" ] || die "$b not built (looked in $OUT)"
    cp "$OUT/$b" "$staging/$b"
done
printf 'kubernetes %s (upstream v%s), built with %s, reflect2 from Debian %s\n' \
    "$DEB_VERSION" "$UPSTREAM" "$(go env GOVERSION)" \
    "$(dpkg-query -W -f='${Version}' golang-github-modern-go-reflect2-dev)" >"$staging/VERSION"
rm -rf "$CACHE"
mv "$staging" "$CACHE"
say "built in $(($(date +%s) - start))s: $CACHE"
echo "$CACHE"
