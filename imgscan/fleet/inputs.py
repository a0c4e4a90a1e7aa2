"""What a fleet judges: hosts, each built from one image, found in image files, directories, globs and host lists.

A host is a name, the image it was built from (a path, and for a multi-image WIM its index or name) and
its own facts (imgscan.hosts, Secure Boot db and dbx, labels). A host list (manifest.py) names hosts; an
image given without one is one host, as the image's ComputerName (else its file name) says.

A directory that is itself an extracted Windows volume is one image; any other directory is searched
(recursively) for image files, recognised by their magic bytes, and for extracted Windows volumes among
its folders; a file there whose name says it is an image but whose header is not one is kept too, so that
it becomes an error row instead of vanishing.

An image is identified by its resolved path (symbolic links followed, made absolute), so `a.vhdx`,
`./a.vhdx`, `/abs/a.vhdx` and a link to it are one image: one host, one row, never rescanned by `--resume`.
"""

from __future__ import annotations

import glob
import os
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

from imgscan.errors import ImgscanError
from imgscan.fleet import manifest
from imgscan.fleet.host import FleetHost
from imgscan.image.sniff import read_header

SKIPPED = {"unknown"}
IMAGE_EXTENSIONS = {".vhd", ".vhdx", ".vmdk", ".e01", ".wim", ".esd", ".swm", ".img", ".raw"}


def _is_windows_tree(path: Path) -> bool:
    try:
        return any(p.name.lower() == "windows" and (p / "System32" / "config").is_dir() for p in path.iterdir() if p.is_dir())
    except OSError:
        return False


def _is_image(path: Path) -> bool:
    """A file to scan: one imgscan can open (of a split WIM set only part 1, by the header's part number
    at offset 40), or one named like an image whose header is not one, so that it becomes an error row."""
    try:
        header = read_header(path)
    except OSError:
        return path.suffix.lower() in IMAGE_EXTENSIONS
    if header.wim_part is not None:
        return header.wim_part <= 1
    return header.format not in SKIPPED or path.suffix.lower() in IMAGE_EXTENSIONS


def _search(directory: Path) -> Iterator[Path]:
    """The images below a directory, in name order: image files, and extracted Windows volumes (whose own
    files are not searched further)."""
    for path in sorted(directory.iterdir()):
        if path.is_dir() and not path.is_symlink():
            yield from ([path] if _is_windows_tree(path) else _search(path))
        elif path.is_file() and _is_image(path):
            yield path


def collect(inputs: list[str], index: int | None = None, image_name: str | None = None) -> list[FleetHost]:
    """Every host named by `inputs`, in a stable order, each once. `index`/`image_name` choose the image
    of each WIM given without a host list (a host list names its own)."""
    found: dict[str, FleetHost] = {}
    given_in: dict[str, str] = {}  # host -> the input that named it first
    for text in inputs:
        paths = [Path(p) for p in sorted(glob.glob(text))] if any(c in text for c in "*?[") else [Path(text)]
        if not paths:
            raise ImgscanError(text, "the pattern matches no file")
        for path in paths:
            if manifest.is_manifest(path):
                hosts = manifest.read(path)
            elif path.is_dir() and not _is_windows_tree(path):
                hosts = [FleetHost(os.path.realpath(p), index=index, image_name=image_name) for p in _search(path)]
                if not hosts:  # a gate pointed at the wrong folder must not pass on zero hosts
                    raise ImgscanError(
                        str(path),
                        "holds no disk image, WIM or extracted Windows volume",
                        "point at the folder of the images, or name the images or a host list",
                    )
            elif path.exists():
                hosts = [FleetHost(os.path.realpath(path), index=index, image_name=image_name)]
            else:
                raise ImgscanError(str(path), "no such file or directory")
            for host in hosts:
                first = found.setdefault(host.key, host)
                if first != host:  # one name, two hosts: keeping either would drop the other's verdict silently
                    raise ImgscanError(
                        str(path),
                        f"host {host.key} is also in {given_in[host.key]}, with another image or other facts",
                        "give each host one name across the host lists",
                    )
                given_in.setdefault(host.key, str(path))
    return list(found.values())


def every_image(hosts: list[FleetHost]) -> list[FleetHost]:
    """--all-images: each image of a WIM given without a host list is a golden image (a host) of its own."""
    from imgscan.image.wim import read_info

    out: list[FleetHost] = []
    for host in hosts:
        path = Path(host.path)
        if host.name or path.is_dir() or not _is_wim(path):
            out.append(host)
            continue
        try:
            images = read_info(path).images
        except ImgscanError:  # a damaged WIM: its scan says why, as an error row
            images = ()
        out += [replace(host, index=image.index, image_name=None) for image in images] or [host]
    return out


def _is_wim(path: Path) -> bool:
    try:
        return read_header(path).format == "wim"
    except OSError:
        return False
