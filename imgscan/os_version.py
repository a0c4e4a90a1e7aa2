"""Which Windows the image holds, from SOFTWARE `Microsoft\\Windows NT\\CurrentVersion`.

Rules that apply to one release (Windows 7 SP1's SHA-2 and ESU prerequisites) ask this module, so
that every check reads the version the same way: `CurrentVersion` ("6.1" for Windows 7 and Server
2008 R2) and `CurrentBuildNumber` (7601 once Service Pack 1 is installed; Windows 10 also writes
`CurrentBuild`).
"""

from __future__ import annotations

from dataclasses import dataclass

from imgscan.hives import Hive
from imgscan.numerals import ascii_int, dotted_version

CURRENT_VERSION = r"Microsoft\Windows NT\CurrentVersion"


@dataclass(frozen=True)
class OsVersion:
    version: str | None  # CurrentVersion, e.g. "6.1"
    build: int | None  # CurrentBuildNumber, e.g. 7601
    product: str | None  # ProductName
    service_pack: str | None  # CSDVersion, e.g. "Service Pack 1"
    winre: str | None = None  # WinREVersion, e.g. "10.0.19041.3920": the recovery environment's build

    @property
    def is_windows7_sp1(self) -> bool:
        """Windows 7 SP1 or Windows Server 2008 R2 SP1 (both 6.1.7601)."""
        return self.version == "6.1" and self.build == 7601

    @property
    def services_through_cbs(self) -> bool:
        """Vista (6.0) and later: updates install through Component Based Servicing, whose COMPONENTS hive
        every such volume holds; XP and Server 2003 (5.x) have neither, so its absence there is no gap.
        Windows 10 and 11 still write CurrentVersion 6.3."""
        return dotted_version(self.version)[:1] >= (6,)

    @property
    def name(self) -> str | None:
        """What the report's host.os shows: product, service pack and build."""
        text = " ".join(p for p in (self.product, self.service_pack) if p)
        if self.build is not None:
            text = f"{text} (build {self.build})" if text else f"build {self.build}"
        return text or None


def read_os_version(software: Hive | None) -> OsVersion | None:
    if software is None:
        return None

    def text(name: str) -> str | None:
        value = software.value(CURRENT_VERSION, name)
        return value if isinstance(value, str) and value else None

    build = text("CurrentBuildNumber") or text("CurrentBuild")
    return OsVersion(
        version=text("CurrentVersion"),
        build=ascii_int(build),
        product=text("ProductName"),
        service_pack=text("CSDVersion"),
        winre=text("WinREVersion"),
    )
