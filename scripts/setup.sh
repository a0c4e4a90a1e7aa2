#!/usr/bin/env bash
# Install imgscan and everything it needs, from Debian's and PyPI's registries.
#
#   bash scripts/setup.sh          imgscan itself (pip install .)
#   bash scripts/setup.sh --test   plus the tools the tests and the sample-image
#                                  builder use, and imgscan in editable mode
#
# Debian packages are installed only when missing, so a second run is quick.
set -euo pipefail
cd "$(dirname "$0")/.."

# Python packages come from pyproject.toml; WIM files are read with wimlib's wimlib-imagex.
runtime_apt=(wimtools)
# Sample images: mkntfs (ntfs-3g), wimlib's NTFS apply (wimtools), sfdisk (fdisk),
# qemu-img (qemu-utils), ewfacquire (ewf-tools), gcab (CAB writer). Independent readers that check
# what the builders write: reglookup, hivexsh/hivexget (libhivex-bin), osslsigncode;
# mingw-w64-common holds the winerror.h that imgscan explain is checked against;
# chromium renders the HTML report headless.
test_apt=(ntfs-3g fdisk qemu-utils ewf-tools gcab reglookup libhivex-bin osslsigncode mingw-w64-common chromium)

mode=${1:-}
packages=("${runtime_apt[@]}")
[ "$mode" = "--test" ] && packages+=("${test_apt[@]}")

missing=()
for pkg in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if [ ${#missing[@]} -gt 0 ]; then
    sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

if [ "$mode" = "--test" ]; then
    python3 -m pip install -q --disable-pip-version-check --root-user-action=ignore -e ".[test]"
else
    python3 -m pip install -q --disable-pip-version-check --root-user-action=ignore .
fi
