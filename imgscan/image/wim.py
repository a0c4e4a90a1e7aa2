"""WIM files (install.wim, captured .wim, .esd, split .swm sets) through wimlib.

dissect.target has no WIM loader and dissect.archive reads XPRESS only, so
imgscan drives wimlib (Debian's wimtools), the reference implementation for
XPRESS, LZX, LZMS and solid resources. Only the files the artefact readers
read (the artefact kinds' paths, which the caller passes in) are extracted, by glob and case-insensitively, into a private
(0700) directory in the system temp, which the caller removes when the scan
ends; a 4 GB install.wim then costs what its hives and catalogs cost. wimlib
refuses names it cannot represent safely ('..', '/', reserved names) and
verifies every resource's SHA-1 while extracting; its warnings become
`errors` entries, its errors a one-line UnreadableImage.
"""

from __future__ import annotations

import os
import re
import subprocess
from dataclasses import dataclass
from pathlib import Path
from xml.etree.ElementTree import ParseError

from defusedxml import ElementTree
from defusedxml.common import DefusedXmlException

from imgscan.errors import UnreadableImage
from imgscan.external import ToolMissing, ToolTimedOut, run_tool
from imgscan.report.image import WimImageJson

TOOL = "wimlib-imagex"
TIMEOUT = 1800  # seconds; wimlib detects cycles itself, this only bounds a stuck process
IGNORED_WARNINGS = ("No matches for path pattern",)


@dataclass(frozen=True)
class WimImage:
    index: int
    name: str
    description: str
    edition: str
    version: str
    product: str

    def as_dict(self) -> WimImageJson:
        return {
            "index": self.index,
            "name": self.name,
            "description": self.description,
            "edition": self.edition,
            "version": self.version,
            "product": self.product,
        }


@dataclass(frozen=True)
class WimInfo:
    compression: str
    parts: int
    images: tuple[WimImage, ...]


def _run(args: list[str], path: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[bytes]:
    try:
        process = run_tool([TOOL, *args], TIMEOUT, env)
    except ToolMissing as exc:
        raise UnreadableImage(str(path), f"{TOOL} is not installed", "install Debian's wimtools (scripts/setup.sh)") from exc
    except ToolTimedOut as exc:
        raise UnreadableImage(str(path), f"wimlib did not finish within {TIMEOUT} s", "is the WIM damaged?") from exc
    if process.returncode != 0:
        raise UnreadableImage(str(path), f"wimlib: {_first_error(process.stderr)}", "is the WIM complete and undamaged?")
    return process


def _first_error(stderr: bytes) -> str:
    lines = [line.strip() for line in stderr.decode("utf-8", "replace").splitlines() if line.strip()]
    errors = [line.removeprefix("[ERROR]").strip() for line in lines if line.startswith("[ERROR]")]
    return (errors or lines or ["failed without a message"])[0]


def _warnings(stderr: bytes) -> list[str]:
    text = stderr.decode("utf-8", "replace")
    found = [w.strip() for w in re.findall(r"\[WARNING\]([^\[]*)", text)]
    return [" ".join(w.split()) for w in found if w and not w.startswith(IGNORED_WARNINGS)]


def read_info(path: Path) -> WimInfo:
    """Compression, part count and the images listed in the WIM's XML data."""
    text = _run(["info", str(path)], path).stdout.decode("utf-8", "replace")
    compression = _header_field(text, "Compression") or "unknown"
    parts = int((_header_field(text, "Part Number") or "1/1").split("/")[-1])
    xml = _run(["info", str(path), "--xml"], path).stdout
    try:
        root = ElementTree.fromstring(xml.decode("utf-16"))
    except (ParseError, DefusedXmlException, UnicodeDecodeError) as exc:
        raise UnreadableImage(str(path), f"WIM XML data is unreadable ({exc})") from exc
    images = tuple(_image(node) for node in root.findall("IMAGE"))
    return WimInfo(compression.lower(), parts, images)


def _header_field(text: str, name: str) -> str | None:
    match = re.search(rf"(?im)^\s*{re.escape(name)}\s*[:=]\s*(.+?)\s*$", text)
    return match.group(1) if match else None


def _image(node: object) -> WimImage:
    def text(tag: str) -> str:
        found = node.find(tag)  # type: ignore[attr-defined]
        return (found.text or "").strip() if found is not None else ""

    version = ".".join(
        p for p in (text("WINDOWS/VERSION/MAJOR"), text("WINDOWS/VERSION/MINOR"), text("WINDOWS/VERSION/BUILD")) if p
    )
    return WimImage(
        index=int(node.get("INDEX", "0")),  # type: ignore[attr-defined]
        name=text("NAME"),
        description=text("DESCRIPTION"),
        edition=text("WINDOWS/EDITIONID") or text("FLAGS"),
        version=version,
        product=text("WINDOWS/PRODUCTNAME") or text("DISPLAYNAME"),
    )


def choose(path: Path, info: WimInfo, index: int | None, name: str | None) -> WimImage:
    """The image to scan: by --index or --image-name, or the only one."""
    if index is not None:
        found = next((i for i in info.images if i.index == index), None)
        if found is None:
            raise UnreadableImage(str(path), f"no image with index {index}; {_listing(info)}")
        return found
    if name is not None:
        matches = [i for i in info.images if i.name.lower() == name.lower()]
        if len(matches) != 1:
            raise UnreadableImage(str(path), f"{len(matches)} images named {name!r}; {_listing(info)}")
        return matches[0]
    if len(info.images) == 1:
        return info.images[0]
    raise UnreadableImage(
        str(path), f"WIM holds {len(info.images)} images, choose one with --index N or --image-name NAME; {_listing(info)}"
    )


def _listing(info: WimInfo) -> str:
    def one(image: WimImage) -> str:
        extra = " ".join(p for p in (image.edition, image.version) if p)
        text = f"{image.index}: {image.name}" + (f" ({extra})" if extra else "")
        return text + (f" - {image.description}" if image.description else "")

    return "images: " + "; ".join(one(i) for i in info.images) if info.images else "the WIM lists no images"


def extract_wanted(path: Path, info: WimInfo, image: WimImage, destination: Path, wanted: tuple[str, ...]) -> list[str]:
    """Extract the files of `image` matching the `wanted` globs below `destination`; returns wimlib's warnings."""
    listfile = destination.parent / f"{destination.name}.wanted"
    listfile.write_text("\n".join(wanted) + "\n", encoding="utf-8")
    args = [
        "extract",
        str(path),
        str(image.index),
        f"@{listfile}",
        f"--dest-dir={destination}",
        "--preserve-dir-structure",
        "--nullglob",
        "--no-acls",
        "--no-attributes",
    ]
    if info.parts > 1:  # wimlib names the later parts of a split set <stem>2.swm, <stem>3.swm, ...
        args.append(f"--ref={path.parent / path.stem}*{path.suffix}")
    env = dict(os.environ, WIMLIB_IMAGEX_IGNORE_CASE="1")
    return _warnings(_run(args, path, env).stderr)
