#!/bin/sh
# SPDX-License-Identifier: MIT
# Installs the Debian packages ixvm needs to build, test and run.
# Idempotent and silent when everything is already present.
set -eu

PKGS="build-essential cmake pkg-config clang libclang-rt-14-dev nasm
libuv1-dev libcapstone-dev libsdl2-dev libcriterion-dev liblz4-dev
libcjson-dev libinih-dev libedit-dev zlib1g-dev libpng-dev
seabios gdb xorriso xvfb xdotool x11-apps libx11-dev
grub-pc-bin mtools memtest86+"

missing=""
for p in $PKGS; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed"; then
        missing="$missing $p"
    fi
done
[ -z "$missing" ] && exit 0

echo "install-deps: installing:$missing"
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1; then SUDO=sudo; else
        echo "install-deps: need root (or sudo) to install:$missing" >&2
        exit 1
    fi
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
# shellcheck disable=SC2086
$SUDO apt-get install -y -qq --no-install-recommends $missing >/dev/null
