"""What an archive must be before imgscan reads a collection or a VM from it: complete, unencrypted, and
with every member named inside it.

dissect's tar and zip loaders read members in place and never extract, so a member named
`../../etc/cron.d/x` (a "zip slip" name) cannot write anywhere; but an archive made that way was not
made by a collection tool, and a user must hear about it rather than get a scan of whatever it maps.
An encrypted zip member would read as garbage, a truncated tar would lose its last files silently, and a
truncated Proxmox backup (.vma) its last blocks: dissect's reader stops at the last whole extent header.
"""

from __future__ import annotations

import bz2
import gzip
import lzma
import re
import tarfile
import zipfile
import zlib
from pathlib import Path

from imgscan.errors import UnreadableImage

_DRIVE = re.compile(r"^[A-Za-z]:")


def check_archive(path: Path, fmt: str) -> None:
    """Raise UnreadableImage when the tar (or OVA) or zip at `path` is damaged, encrypted or names a
    member outside itself; other formats pass."""
    if fmt in ("tar", "ova", "xva"):
        _check_names(path, _tar_names(path))
    elif fmt == "zip":
        _check_names(path, _zip_names(path))
    elif fmt == "vma":
        _check_vma(path)


def _tar_names(path: Path) -> list[str]:
    try:
        with tarfile.open(path, "r:*") as tar:  # a collection may be gzip-compressed (.tar.gz, .tgz)
            names = tar.getnames()
            if isinstance(tar.fileobj, (gzip.GzipFile, bz2.BZ2File, lzma.LZMAFile)):
                # to the end of the stream: one cut in its trailer still lists every member, and only the
                # trailer's checksum says the stream is whole
                while tar.fileobj.read(1 << 20):
                    pass
            return names
    except (tarfile.ReadError, EOFError, OSError, zlib.error, lzma.LZMAError) as exc:
        raise UnreadableImage(str(path), f"truncated or damaged tar archive ({exc})", "re-copy the archive") from exc


def _zip_names(path: Path) -> list[str]:
    try:
        with zipfile.ZipFile(path) as archive:
            members = archive.infolist()
    except (zipfile.BadZipFile, EOFError, OSError) as exc:
        raise UnreadableImage(str(path), f"truncated or damaged zip archive ({exc})", "re-copy the archive") from exc
    encrypted = [m.filename for m in members if m.flag_bits & 0x1]
    if encrypted:
        raise UnreadableImage(
            str(path),
            f"password-protected zip ({len(encrypted)} encrypted member(s), e.g. {encrypted[0]!r})",
            "extract it with its password and scan the extracted folder",
        )
    return [m.filename for m in members]


def _check_names(path: Path, names: list[str]) -> None:
    for name in names:
        parts = name.replace("\\", "/").split("/")
        if name.startswith(("/", "\\")) or _DRIVE.match(name) or ".." in parts:
            raise UnreadableImage(
                str(path),
                f"member {name!r} is named outside the archive (a path traversal name no collection tool writes)",
                "do not trust this archive; collect the files again",
            )


def _check_vma(path: Path) -> None:
    """A VMA is its header then extents, each a header and its blocks, to the end of the file (vzdump
    writes no trailer: https://pve.proxmox.com/wiki/VMA); the last extent must end where the file does."""
    from dissect.archive.vma import VMA

    size = path.stat().st_size
    with path.open("rb") as fh:
        try:
            vma = VMA(fh)
            end = vma.header.header_size
            for extent in vma.extents():
                end = extent.data_offset + extent.size
        except Exception as exc:  # dissect.archive raises its own and struct errors on damaged headers
            raise UnreadableImage(str(path), f"damaged Proxmox backup (VMA): {exc}", "re-copy the backup") from exc
    if end != size:
        raise UnreadableImage(
            str(path),
            f"truncated Proxmox backup (VMA): its extents end at byte {end}, the file at {size}",
            "re-copy the backup",
        )
