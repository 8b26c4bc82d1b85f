#!/bin/sh
# Install labctl from a GitHub release: no root, into ~/.local/bin, checksum verified.
#
#   curl -fsSL https://github.com/<owner>/<repo>/releases/latest/download/install.sh | sh
#
# Works in Azure Cloud Shell, WSL, Linux (x86_64, aarch64: static musl binaries) and macOS
# (arm64, x86_64). Settings, all optional:
#   LABCTL_VERSION       a release tag such as v0.2.0      (default: the latest release)
#   LABCTL_INSTALL_DIR   where the binary goes             (default: ~/.local/bin)
#   LABCTL_DOWNLOAD_URL  folder holding the release files  (default: this release's download URL;
#                        any URL curl or wget can read, e.g. file:// for a mirror)
# The release workflow writes the repository into LABCTL_REPO below when it publishes the script.
set -eu

LABCTL_REPO="${LABCTL_REPO:-__LABCTL_REPO__}"

say() { printf 'labctl-install: %s\n' "$*" >&2; }
fail() { say "error: $*"; exit 1; }

target() {
    os=$(uname -s)
    arch=$(uname -m)
    case "$arch" in
        x86_64 | amd64) arch=x86_64 ;;
        aarch64 | arm64) arch=aarch64 ;;
        *) fail "no labctl build for the $arch processor; build from source: cargo install --locked --git https://github.com/$LABCTL_REPO" ;;
    esac
    case "$os" in
        Linux) echo "$arch-unknown-linux-musl" ;;
        Darwin) echo "$arch-apple-darwin" ;;
        MINGW* | MSYS* | CYGWIN*) fail "on Windows use the PowerShell installer (install.ps1), or install inside WSL" ;;
        *) fail "no labctl build for $os" ;;
    esac
}

fetch() { # URL FILE
    if command -v curl >/dev/null 2>&1; then
        curl --proto '=https,file' --tlsv1.2 -fsSL "$1" -o "$2"
    elif command -v wget >/dev/null 2>&1; then
        wget -q -O "$2" "$1"
    else
        fail "neither curl nor wget is installed"
    fi
}

sha256() { # FILE -> hex digest
    if command -v sha256sum >/dev/null 2>&1; then
        sha256sum "$1" | cut -d' ' -f1
    elif command -v shasum >/dev/null 2>&1; then
        shasum -a 256 "$1" | cut -d' ' -f1
    else
        fail "neither sha256sum nor shasum is installed: cannot verify the download"
    fi
}

main() {
    t=$(target)
    if [ -n "${LABCTL_DOWNLOAD_URL:-}" ]; then
        base=$LABCTL_DOWNLOAD_URL
    elif [ -n "${LABCTL_VERSION:-}" ]; then
        base="https://github.com/$LABCTL_REPO/releases/download/$LABCTL_VERSION"
    else
        base="https://github.com/$LABCTL_REPO/releases/latest/download"
    fi
    dir="${LABCTL_INSTALL_DIR:-$HOME/.local/bin}"
    archive="labctl-$t.tar.gz"
    tmp=$(mktemp -d)
    trap 'rm -rf "$tmp"' EXIT INT TERM

    say "downloading $base/$archive"
    fetch "$base/$archive" "$tmp/$archive" || fail "could not download $base/$archive"
    fetch "$base/$archive.sha256" "$tmp/$archive.sha256" || fail "could not download the checksum $base/$archive.sha256"
    want=$(cut -d' ' -f1 <"$tmp/$archive.sha256")
    got=$(sha256 "$tmp/$archive")
    if [ -z "$want" ] || [ "$want" != "$got" ]; then
        fail "checksum mismatch for $archive (expected $want, got $got): nothing was installed"
    fi

    tar -xzf "$tmp/$archive" -C "$tmp" || fail "could not unpack $archive"
    [ -f "$tmp/labctl" ] || fail "$archive holds no labctl binary"
    mkdir -p "$dir"
    # Copy then rename: a labctl that is running keeps its file, and nobody sees half a binary.
    cp "$tmp/labctl" "$dir/.labctl.new"
    chmod 755 "$dir/.labctl.new"
    mv -f "$dir/.labctl.new" "$dir/labctl"
    say "installed $("$dir/labctl" --version) into $dir"

    case ":$PATH:" in
        *":$dir:"*) ;;
        *)
            say "$dir is not on your PATH; add it, then open a new shell:"
            say "  echo 'export PATH=\"$dir:\$PATH\"' >> ~/.bashrc    # zsh (macOS): ~/.zshrc"
            ;;
    esac
}

main "$@"
