"""WinRE partition too small: the January 2024 WinRE updates need 250 MB free where WinRE lives.

What it finds, on Windows 10 21H2/22H2 (builds 19044/19045), Windows 11 (22000 and later) and Windows
Server 2022 (20348) images: the partition that ReAgent.xml names for WinRE (else the recovery
partition: GPT type DE94BBA4-06D1-4D40-A16A-BFD50179D6AC or MBR type 0x27) has less than 250 MB
free by its file system's own allocation map. KB5034441 (Windows 10), KB5034440 (Windows 11) and
KB5034439 (Server 2022), released 2024-01-09, then fail with 0x80070643 and System event 4502
("Windows Recovery Environment servicing failed"). Not reported when WinREVersion (SOFTWARE
...\\Windows NT\\CurrentVersion) already carries the fixed build, 10.0.19041.3920 or later on
19041-based systems. Fix: KB5028997, resize the recovery partition.

A fleet host can say how much its recovery partition has free (the scan context's host facts,
imgscan.hosts): that partition is the host's, made when the image was deployed, so its free space
replaces that of the image's own recovery partition or, where the image has none (a WIM), stands in for
it. The partitions kind stays what was read from the image; the host's partition is applied here.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import date
from typing import TYPE_CHECKING

from imgscan.artefacts import BOOT, MACHINE_HIVES, PARTITIONS
from imgscan.check import Check, Finding, Rule, Severity, Timing

if TYPE_CHECKING:  # types only: listing the rules must not load the image stack
    from imgscan.check import CheckContext
    from imgscan.hosts import HostFacts
    from imgscan.image.partitions import Partition

NEEDED = 250 * 1024 * 1024
RELEASED = date(2024, 1, 9)
FIXED_19041 = (10, 0, 19041, 3920)

WINRE_PARTITION_TOO_SMALL = Rule(
    id="winre-partition-too-small",
    severity=Severity.HIGH,
    timing=Timing(now=Severity.HIGH, soon=Severity.MEDIUM),
    title="Less than 250 MB free where WinRE lives",
    summary=(
        "Windows 10 21H2/22H2, Windows 11 and Server 2022 images whose WinRE partition has less than 250 MB free "
        "fail the January 2024 WinRE update (KB5034441/KB5034440/KB5034439) with 0x80070643 and event 4502."
    ),
    references=(
        "https://support.microsoft.com/help/5034441",
        "https://support.microsoft.com/help/5028997",
    ),
    predicts=("0x80070643",),
    hits="when the WinRE update installs",
)


class WinrePartition(Check):
    rules = (WINRE_PARTITION_TOO_SMALL,)
    # partitions: a WIM or a directory has none, and the check is skipped saying so; ReAgent.xml's
    # WinRE location and WinREVersion are read with the boot kind whether or not it has boot files
    needs = (PARTITIONS, MACHINE_HIVES)
    uses = (BOOT,)

    def absent(self, artefacts: CheckContext) -> str | None:
        """A host whose recovery partition's free space is known has one, even built from a WIM."""
        if artefacts.scan.host.recovery_free_bytes is not None:
            return artefacts.absent(MACHINE_HIVES)
        return super().absent(artefacts)

    def applies(self, artefacts: CheckContext) -> bool:
        os = artefacts.get(MACHINE_HIVES).os_version
        build = os.build if os else None
        return build is not None and (build in (19044, 19045, 20348) or build >= 22000)

    def run(self, artefacts: CheckContext) -> Iterator[Finding]:
        boot = artefacts.get(BOOT)
        if _fixed(boot.winre_version):
            return
        partitions = _deployed(artefacts.get(PARTITIONS), artefacts.scan.host)
        partition = _winre_partition(partitions, boot.winre_offset)
        if partition is None or partition.free_bytes is None or partition.free_bytes >= NEEDED:
            return
        if partition.scheme == "host":  # the host's own, from the fleet manifest (imgscan.hosts)
            where = "recovery partition"
            place = "the host's recovery partition (its free space as the host list gives it)"
        else:
            where = f"partition {partition.number}"
            on_windows = partition.role == "windows"
            place = "the Windows partition (WinRE is not on a recovery partition)" if on_windows else "the recovery partition"
            place += f", {where}"
        yield Finding(
            rule=WINRE_PARTITION_TOO_SMALL,
            message=(
                f"WinRE lives on {place}, which has {partition.free_bytes // (1024 * 1024)} MB "
                f"free of the 250 MB the WinRE update needs: KB5034441/KB5034440/KB5034439 fail on every host built from "
                "this image with 0x80070643, and the System log shows event 4502."
            ),
            evidence=[
                {
                    "path": where,
                    "role": partition.role,
                    "type": partition.type,
                    "size": partition.size,
                    "free_bytes": partition.free_bytes,
                    "winre_version": boot.winre_version,
                    "reagent_offset": boot.winre_offset,
                }
            ],
            remediation=(
                "Resize the recovery partition of the reference image to leave at least 250 MB free (KB5028997: "
                "reagentc /disable, shrink C:, recreate the recovery partition, reagentc /enable), or install the "
                "WinRE update that needs no extra space, then capture the image again."
            ),
            starts=RELEASED,
            hresult="0x80070643",
        )


def _deployed(partitions: list[Partition], host: HostFacts) -> list[Partition]:
    """The partitions of the judged host: the image's, with the host's recovery partition when it is known."""
    from imgscan.image.partitions import Partition

    free = host.recovery_free_bytes
    if free is None:
        return partitions
    if any(p.role == "recovery" for p in partitions):
        return [replace(p, free_bytes=free) if p.role == "recovery" else p for p in partitions]
    return [*partitions, Partition(0, "host", "", "recovery", "the host's recovery partition", -1, 0, free_bytes=free)]


def _winre_partition(partitions: list[Partition], offset: int | None) -> Partition | None:
    """The partition ReAgent.xml names by its offset, else the recovery partition, else none."""
    named = next((p for p in partitions if offset is not None and p.offset == offset), None)
    return named or next((p for p in partitions if p.role == "recovery"), None)


def _fixed(version: str | None) -> bool:
    if not version:
        return False
    try:
        parts = tuple(int(p) for p in version.split("."))
    except ValueError:
        return False
    return parts[:3] == FIXED_19041[:3] and parts >= FIXED_19041
