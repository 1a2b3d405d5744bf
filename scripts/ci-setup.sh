#!/usr/bin/env bash
# Installs the Debian packages the full test run needs (kernel source and build tools, QEMU,
# busybox for the guest), then runs the command given as arguments.
set -euo pipefail
pkgs=(linux-source-6.12 build-essential flex bison bc libelf-dev libssl-dev cpio
      qemu-system-x86 busybox-static python3 rsync)
missing=()
for p in "${pkgs[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' || missing+=("$p")
done
if ((${#missing[@]})); then
    sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    $sudo apt-get update
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y "${missing[@]}"
fi
exec "$@"
