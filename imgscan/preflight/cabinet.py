"""Cabinet files (.cab, .msu) listed and expanded by cabextract (libmspack: MSZIP, LZX and Quantum).

imgscan never decompresses a cabinet itself: cabextract is the well-kept reader Debian ships (the
`cabextract` package, installed by scripts/setup.sh). It strips absolute paths and `..` from member
names, so nothing is written outside the folder it is given; the listing is read first so that a
cabinet whose members expand past `MAX_EXPANDED` bytes (a decompression bomb) is refused unexpanded.
"""

from __future__ import annotations

import re
import subprocess
from dataclasses import dataclass
from pathlib import Path

from imgscan.errors import ImgscanError
from imgscan.external import ToolMissing, ToolTimedOut, run_tool
from imgscan.signing.cab_signature import CabSignature, CabSignatureError, read_signature

TOOL = "cabextract"
TIMEOUT = 600  # seconds; libmspack stops on damaged data itself, this only bounds a stuck process
MAX_EXPANDED = 8 << 30  # bytes: far above any Windows update (the largest rollups expand to ~2 GiB)
ROW = re.compile(r"^\s*(\d+) \| [\d.]+ [\d:]+ \| (.+)$")


class UpdateUnreadable(ImgscanError):
    """An update package (or a cabinet inside it) that cannot be read at all."""


@dataclass(frozen=True)
class Member:
    name: str  # as stored, with backslashes turned into slashes
    size: int  # expanded bytes


def _run(args: list[str], path: Path, destination: Path | None = None) -> subprocess.CompletedProcess[bytes]:
    try:
        process = run_tool([TOOL, *args], TIMEOUT)
    except ToolMissing as exc:
        raise UpdateUnreadable(str(path), f"{TOOL} is not installed", "install Debian's cabextract (scripts/setup.sh)") from exc
    except ToolTimedOut as exc:
        raise UpdateUnreadable(str(path), f"cabextract did not finish within {TIMEOUT} s", "is the cabinet damaged?") from exc
    if process.returncode != 0:
        raise UpdateUnreadable(
            str(path), f"not a readable cabinet: {_first_error(process.stderr, path, destination)}", "is the file complete?"
        )
    return process


def _first_error(stderr: bytes, path: Path, destination: Path | None = None) -> str:
    """cabextract's own words without the file name it starts each line with ("no valid cabinets found"), and
    members named as stored, not by where they were being expanded (a temporary folder)."""
    text = stderr.decode("utf-8", "replace")
    if destination is not None:
        text = text.replace(f"{destination}/", "")
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    lines = [line.split(": ", 1)[1] if line.startswith(str(path)) and ": " in line else line for line in lines]
    problems = [line for line in lines if not line.startswith("WARNING; possible") and "extra bytes" not in line]
    return "; ".join(dict.fromkeys(problems)) or "cabextract failed without a message"


def file_signature(path: Path) -> CabSignature | None:
    """The cabinet's primary Authenticode signature held against the file, with the file's SHA-256 from the
    same read (imgscan.signing.cab_signature), or None when its header declares none. WUSA has WinVerifyTrust
    verify an .msu before it reads anything in it, and Windows Update a downloaded .cab, so a file cut short,
    stripped of its signature or changed after signing (a byte flipped in a download) is refused; cabextract
    expands many such files without a word. A signature that is not all there, or cannot be read at all,
    raises UpdateUnreadable."""
    try:
        return read_signature(path)
    except CabSignatureError as exc:
        raise UpdateUnreadable(str(path), str(exc), "download the update again") from exc


def list_members(path: Path) -> list[Member]:
    """The cabinet's members and their expanded sizes."""
    text = _run(["-l", str(path)], path).stdout.decode("utf-8", "replace")
    members = []
    for line in text.splitlines():
        row = ROW.match(line)
        if row:
            members.append(Member(row.group(2).replace("\\", "/"), int(row.group(1))))  # as stored: " " is a name
    if not members:
        raise UpdateUnreadable(str(path), "the cabinet holds no files")
    return members


def expand(path: Path, destination: Path, pattern: str | None = None) -> list[Member]:
    """Expand the cabinet (only the members matching the glob `pattern`, when given) into `destination`."""
    members = list_members(path)
    total = sum(m.size for m in members)
    if total > MAX_EXPANDED:
        raise UpdateUnreadable(str(path), f"its members would expand to {total} bytes", "is it really an update?")
    _run(["-q", "-d", str(destination), *(["-F", pattern] if pattern else []), str(path)], path, destination)
    return members
