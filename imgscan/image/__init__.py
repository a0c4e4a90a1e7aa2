"""Open any supported input as a read-only Windows volume.

Backends, chosen by what the path is (never by its extension alone):
- a directory holding an extracted Windows volume;
- a disk image (VHD, VHDX, VMDK, QCOW2, VDI, E01, raw disk or bare NTFS volume) via dissect.target;
- a WIM (.wim, .esd, split .swm) via wimlib: its needed files in a private temp directory;
- a VM export (OVA, OVF, VMX) or a triage collection (tar, zip, KAPE VHDX) via dissect.target's own
  loaders (imgscan.image.loaded), read in place.

`open_image` is a context manager: whatever a backend needed (the WIM's temp
directory) is removed when the scan ends, also on errors and on Ctrl-C.
"""

from __future__ import annotations

import glob
import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from imgscan.errors import NotAnImage, UnreadableImage
from imgscan.hashing import PendingDigest, file_sha256, tree_sha256
from imgscan.image.partitions import Partition
from imgscan.image.sniff import HOST_LIST_SUFFIXES, LOADED, READABLE, compressed, other_disk, read_header, too_short
from imgscan.image.volume import (
    CONFIG_DIR,
    CONFIG_HIVES,
    FilesystemVolume,
    WindowsVolume,
    child_path,
    directory_volume,
    holds_windows,
)
from imgscan.image.wim import choose, extract_wanted, read_info
from imgscan.interrupt import deferred, doing


@dataclass(frozen=True)
class ImageIdentity:
    """What the report says about an input: its path as given, its content hash (a tree digest for a
    directory) and its container format. A disk file's hash may still be under way (`PendingDigest`)
    while the scan reads it; `sha256` waits for it."""

    path: str
    digest: str | PendingDigest
    format: str

    @property
    def sha256(self) -> str:
        return self.digest if isinstance(self.digest, str) else self.digest.result()

    def cancel(self) -> None:
        """Stop a hash still under way: the scan ended without needing it."""
        if isinstance(self.digest, PendingDigest):
            self.digest.cancel()


@dataclass
class OpenedImage:
    """An input opened for reading: its Windows volume with the disk's partitions, its identity, and the
    parent files it pulled in (a differencing disk's)."""

    volume: WindowsVolume
    info: ImageIdentity
    parents: list[ImageIdentity] = field(default_factory=list)
    partitions: list[Partition] = field(default_factory=list)  # a disk image's partitions (none for a WIM or tree)
    details: dict[str, Any] = field(default_factory=dict)  # backend facts for the report (WIM image, ...)
    warnings: list[str] = field(default_factory=list)  # things the backend skipped, for `errors`


@dataclass(frozen=True)
class Selection:
    """Which image of a multi-image container to open (WIM: --index / --image-name)."""

    index: int | None = None
    name: str | None = None


@contextmanager
def open_image(path: Path, selection: Selection | None = None, wanted: tuple[str, ...] = ()) -> Iterator[OpenedImage]:
    """Open `path` read-only; raise UnreadableImage with a one-line reason when that is impossible.
    `wanted`: the volume paths (globs) the caller will read, which a WIM extracts (nothing else).

    The one way in: the input is sniffed once (one read of its header) and hashed once, and everything the
    scan reads of it (volume, partitions, identity, parents) comes out on the one OpenedImage."""
    container = _identify(path)
    if container == "directory":
        yield _open_directory(path)
    elif container == "wim":
        with _open_wim(path, selection or Selection(), wanted) as opened:
            yield opened
    else:
        opened = _open_loaded(path, container) if container in LOADED else _open_disk(path, container)
        try:
            yield opened
        finally:
            for identity in (opened.info, *opened.parents):
                identity.cancel()


def _identify(path: Path) -> str:
    """The container `path` is ("directory", or a disk or WIM format from its header), or UnreadableImage."""
    if not path.exists():
        link = path.is_symlink()  # one that leads nowhere: its target is missing, or it links back to itself
        raise UnreadableImage(
            str(path), "a symbolic link to nothing (a missing target or a loop)" if link else "no such file or directory"
        )
    if path.is_dir():
        return "directory"
    if not path.is_file():
        raise UnreadableImage(str(path), "not a regular file or directory")
    try:
        header = read_header(path)
    except OSError as exc:
        raise UnreadableImage(str(path), f"cannot read ({exc.strerror or exc})") from exc
    if header.format == "unknown":
        if path.suffix.lower() in HOST_LIST_SUFFIXES:
            raise NotAnImage(str(path), "a host list, not a disk image", "imgscan fleet judges the hosts a list names")
        problem = (
            too_short(path)
            or compressed(path)
            or other_disk(path)
            or "not a disk image: no VHD/VHDX/VMDK/E01/WIM header, partition table or NTFS boot sector"
        )
        raise NotAnImage(str(path), problem, f"imgscan reads {READABLE}")
    # a fixed VHD is its raw disk plus the footer: without the footer, a copy cut short reads as a raw disk
    cut_vhd = header.format.startswith("raw-") and path.suffix.lower() == ".vhd"
    if cut_vhd or (header.format in ("vhd-dynamic", "vhd-differencing") and not header.vhd_footer_at_end):
        raise UnreadableImage(str(path), "truncated: the VHD footer at the end of the file is missing", "re-copy the image")
    return header.format


def _open_disk(path: Path, fmt: str) -> OpenedImage:
    from imgscan.image.disk import NoWindowsVolume, open_disk  # dissect.target: loaded only for disk images

    digest = PendingDigest(path)  # hashed while the scan reads (the report waits for it)
    with doing("reading the partitions"):
        try:
            volume, parents, partitions = open_disk(path, fmt)
        except NoWindowsVolume:
            if fmt not in ("vhdx", "vhd-fixed", "vhd-dynamic") or not _is_kape(path):
                digest.cancel()  # a damaged Windows disk is not called a KAPE collection lacking its hives
                raise
            # KAPE's container: a disk of collected files, no Windows volume; the same file, its hash goes on
            return _open_loaded(path, "kape", digest)
        except BaseException:
            digest.cancel()
            raise
    return OpenedImage(
        volume=volume,
        info=ImageIdentity(str(path), digest, fmt),
        parents=[ImageIdentity(str(p), PendingDigest(p), read_header(p).format) for p in parents],
        partitions=partitions,
    )


def _is_kape(path: Path) -> bool:
    """Whether dissect's KAPE loader recognises the disk's layout (a volume of collected drive folders)."""
    from dissect.target.loaders.kape import KapeLoader

    return bool(KapeLoader.detect(path))


def _open_loaded(path: Path, fmt: str, digest: PendingDigest | None = None) -> OpenedImage:
    """A VM export or a collection: identified by its own SHA-256, with the disks a descriptor names as
    its parents (an OVA holds its disks, so its own hash covers them)."""
    from imgscan.image.loaded import open_loaded  # dissect.target's loaders

    with doing(f"reading the {fmt.upper()} through dissect.target's loader"):
        try:
            loaded = open_loaded(path, fmt)
        except BaseException:
            if digest:
                digest.cancel()
            raise
    return OpenedImage(
        volume=loaded.volume,
        info=ImageIdentity(str(path), digest or PendingDigest(path), "kape-vhdx" if fmt == "kape" else fmt),
        parents=[ImageIdentity(str(p), PendingDigest(p), read_header(p).format) for p in loaded.disks],
        partitions=loaded.partitions,
        details={"loader": loaded.loader},
    )


def open_target(target: Any) -> OpenedImage:
    """A dissect `Target` someone else opened (`target-query`'s, for imgscan's dissect.target plugins): its
    Windows volume and partitions, identified by the path it was opened from (a file's SHA-256, a
    folder's tree digest) and the loader dissect chose. UnreadableImage when no filesystem holds Windows."""
    from imgscan.image.partitions import disk_partitions
    from imgscan.image.volume import windows_filesystem

    path = Path(str(target.path))
    windows, candidates = windows_filesystem(target)
    if windows is None:
        raise UnreadableImage(
            str(path), f"no Windows volume: none of the target's {candidates} filesystem(s) holds Windows\\System32\\config"
        )
    loader = type(getattr(target, "_loader", None)).__name__.removesuffix("Loader").lower()
    if path.is_file():
        header = read_header(path).format
        fmt, sha256 = (header if header != "unknown" else loader), file_sha256(path)
    else:
        fmt, sha256 = "directory", tree_sha256(path) if path.is_dir() else ""
    return OpenedImage(
        volume=windows,
        info=ImageIdentity(str(path), sha256, fmt),
        partitions=disk_partitions(target, windows._fs),
        details={"loader": loader},
    )


def _open_directory(path: Path) -> OpenedImage:
    """An extracted volume; a symbolic link given as the image (a CI artifact path) is followed to its folder,
    while links inside the tree stay what dissect makes of them."""
    root = Path(os.path.realpath(path))
    volume = directory_volume(root)
    if not holds_windows(volume):
        raise UnreadableImage(
            str(path),
            "directory holds no Windows volume (no Windows\\System32\\config below it)",
            "point at the root of the extracted volume, the folder that contains Windows",
        )
    _require_hives(path, volume)
    with doing("computing the SHA-256"):
        return OpenedImage(volume=volume, info=ImageIdentity(str(path), tree_sha256(root), "directory"))


def _require_hives(path: Path, volume: FilesystemVolume) -> None:
    """UnreadableImage when the folder's `Windows\\System32\\config` holds none of the hives the scan reads, or
    cannot be listed. A copy of a volume made while its Windows ran leaves the hives out (they are in use):
    judging what is left would report the copy, not the image, as three missing machine hives. One hive
    missing or damaged among the others is the image's own, and a finding."""
    if any(volume.exists(child_path(CONFIG_DIR, name)) for name in CONFIG_HIVES):
        return
    unlisted = [problem["message"] for problem in volume.problems if problem["path"] == CONFIG_DIR.lower()]
    if unlisted:
        raise UnreadableImage(str(path), f"{CONFIG_DIR}: {unlisted[0]}")
    raise UnreadableImage(
        str(path),
        f"{CONFIG_DIR} holds no registry hive: none of {', '.join(CONFIG_HIVES)}",
        "copy the volume again with its hives: a copy taken while Windows runs leaves them out, as they are "
        "in use; copy from a shadow copy or from the disk with Windows shut down",
    )


def _split_parts(path: Path, count: int) -> list[Path]:
    """The later parts of a split WIM, as wimlib finds them (`<stem>*.swm` beside the first: `--ref`), which the
    report lists with their SHA-256; a set with fewer files than its header counts is refused by name."""
    if count <= 1:
        return []
    found = sorted(p for p in path.parent.glob(f"{glob.escape(path.stem)}*{path.suffix}") if p != path and p.is_file())
    if len(found) + 1 < count:
        raise UnreadableImage(
            str(path),
            f"a split WIM of {count} parts, {len(found) + 1} of them beside it",
            f"copy every part of the set ({path.stem}2{path.suffix} ... {path.stem}{count}{path.suffix}) beside it",
        )
    return found


@contextmanager
def _open_wim(path: Path, selection: Selection, wanted: tuple[str, ...]) -> Iterator[OpenedImage]:
    with doing("listing the images"):
        info = read_info(path)
    image = choose(path, info, selection.index, selection.name)
    parts = _split_parts(path, info.parts)
    workdir: Path | None = None
    try:
        with deferred():  # a Ctrl-C waits until the directory is made and its removal armed
            workdir = Path(tempfile.mkdtemp(prefix="imgscan-wim-"))  # mode 0700, in the system temp
        root = workdir / "volume"
        root.mkdir(mode=0o700)
        with doing("extracting the files imgscan reads (wimlib)"):
            warnings = extract_wanted(path, info, image, root, wanted)
        volume = directory_volume(root)
        if not holds_windows(volume):
            raise UnreadableImage(
                str(path),
                f"image {image.index} ({image.name}) holds no Windows\\System32\\config",
                "choose the image that holds Windows with --index",
            )
        with doing("computing the SHA-256"):
            sha256 = file_sha256(path)
        yield OpenedImage(
            volume=volume,
            info=ImageIdentity(str(path), sha256, "wim"),
            parents=[ImageIdentity(str(p), PendingDigest(p), "wim") for p in parts],
            details={"wim": image.as_dict() | {"compression": info.compression, "parts": info.parts}},
            warnings=warnings,
        )
    finally:
        if workdir is not None:
            shutil.rmtree(workdir, ignore_errors=True)
