"""The partitions of a disk image, what each one is for, and the free space of the ones that matter
for updates: the EFI system partition (boot files) and the recovery partition (WinRE).

Roles come from the partition table: GPT type C12A7328-F81F-11D2-BA4B-00A0C93EC93B is the EFI system
partition, DE94BBA4-06D1-4D40-A16A-BFD50179D6AC a recovery partition, and MBR type 0x27 the recovery
partition of a BIOS disk (UEFI Specification 2.10 §5.3; Microsoft, "UEFI/GPT-based hard drive
partitions" and "BIOS/MBR-based hard drive partitions"). Free space is read from each file system's
own allocation data (the NTFS $Bitmap, the FAT), not by listing files, which would miss what Windows
keeps in metadata and in files the listing cannot see.
"""

from __future__ import annotations

import struct
import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from imgscan.image.volume import WindowsVolume

ESP = uuid.UUID("c12a7328-f81f-11d2-ba4b-00a0c93ec93b")
RECOVERY = uuid.UUID("de94bba4-06d1-4d40-a16a-bfd50179d6ac")
MSR = uuid.UUID("e3c9e316-0b5c-4db8-817d-f92df00215ae")
BASIC_DATA = uuid.UUID("ebd0a0a2-b9e5-4433-87c0-68b6b72699c7")
MBR_RECOVERY = 0x27
ROLES = {ESP: "efi-system", RECOVERY: "recovery", MSR: "microsoft-reserved", BASIC_DATA: "basic-data"}


@dataclass
class Partition:
    number: int
    scheme: str  # "gpt" or "mbr"
    type: str  # the GPT type GUID, or the MBR type as 0xNN
    role: str  # efi-system, recovery, microsoft-reserved, basic-data, windows, other
    name: str | None
    offset: int
    size: int
    filesystem: str | None = None  # "ntfs", "fat", or None when none was recognised
    free_bytes: int | None = None
    problem: str | None = None  # why its free space or files could not be read
    volume: WindowsVolume | None = None  # its files, for the EFI system partition

    def as_dict(self) -> dict[str, object]:
        return {
            "number": self.number,
            "scheme": self.scheme,
            "type": self.type,
            "role": self.role,
            "name": self.name,
            "offset": self.offset,
            "size": self.size,
            "filesystem": self.filesystem,
            "free_bytes": self.free_bytes,
        } | ({"problem": self.problem} if self.problem else {})


def disk_partitions(target: Any, windows: Any) -> list[Partition]:
    """Every partition of the target's disks; `windows` is the file system imgscan scans as C:."""
    from imgscan.image.volume import FilesystemVolume

    filesystems = {id(fs.volume): fs for fs in target.filesystems if getattr(fs, "volume", None) is not None}
    found = []
    for disk in target.disks:
        system = getattr(disk, "vs", None)
        for volume in getattr(system, "volumes", None) or []:
            kind = volume.type
            scheme = "gpt" if isinstance(kind, uuid.UUID) else "mbr"
            role = ROLES.get(kind, "other") if scheme == "gpt" else ("recovery" if kind == MBR_RECOVERY else "other")
            fs = filesystems.get(id(volume))
            if fs is not None and fs is windows:
                role = "windows"
            partition = Partition(
                number=volume.number,
                scheme=scheme,
                type=str(kind).upper() if scheme == "gpt" else f"0x{int(kind):02X}",
                role=role,
                name=str(volume.name) if volume.name and scheme == "gpt" else None,  # MBR has no names
                offset=volume.offset,
                size=volume.size,
            )
            if fs is not None:
                partition.filesystem = _kind(fs)
                partition.free_bytes, partition.problem = read_free(fs)
                if role == "efi-system":
                    partition.volume = FilesystemVolume(fs)
            elif role in ("efi-system", "recovery"):
                partition.problem = "no file system recognised in it (damaged or not formatted)"
            found.append(partition)
    return found


def _kind(fs: Any) -> str | None:
    if hasattr(fs, "ntfs"):
        return "ntfs"
    if hasattr(fs, "fatfs"):
        return "fat"
    return None


def read_free(fs: Any) -> tuple[int | None, str | None]:
    """(unallocated bytes, None), or (None, why they cannot be read) for a damaged allocation map."""
    try:
        return _free_bytes(fs), None
    except (OSError, ValueError, EOFError, struct.error) as exc:
        return None, f"free space cannot be read: {exc}"


def _free_bytes(fs: Any) -> int | None:
    """Unallocated bytes by the file system's own allocation map."""
    if hasattr(fs, "ntfs"):
        return _ntfs_free(fs.ntfs)
    if hasattr(fs, "fatfs"):
        return _fat_free(fs.fatfs)
    return None


def _ntfs_free(ntfs: Any) -> int:
    """Clear bits of $Bitmap among the volume's clusters (the bitmap is padded to whole bytes)."""
    clusters = (ntfs.boot_sector.NumberSectors * ntfs.sector_size) // ntfs.cluster_size
    bitmap = ntfs.mft.get("$Bitmap").open().read()
    if len(bitmap) * 8 < clusters:
        raise ValueError(f"$Bitmap covers {len(bitmap) * 8} clusters of {clusters}")
    used = int.from_bytes(bitmap[: clusters // 8], "little").bit_count()
    if clusters % 8:
        used += (bitmap[clusters // 8] & ((1 << (clusters % 8)) - 1)).bit_count()
    return int((clusters - used) * ntfs.cluster_size)


def _fat_free(fatfs: Any) -> int:
    """FAT entries that are 0 among the data clusters (2 .. clusters + 1)."""
    bpb = fatfs.bpb
    data_sectors = fatfs.total_sectors - fatfs.first_data_sector
    clusters = data_sectors // bpb.BPB_SecPerClus
    fatfs.fat.fh.seek(0)
    table = fatfs.fat.fh.read()
    bits = fatfs.fat.bits_per_entry
    free = 0
    for cluster in range(2, clusters + 2):
        if bits == 32:
            value = struct.unpack_from("<I", table, cluster * 4)[0] & 0x0FFFFFFF
        elif bits == 16:
            value = struct.unpack_from("<H", table, cluster * 2)[0]
        else:  # FAT12: 1.5 bytes per entry
            pair = struct.unpack_from("<H", table, cluster * 3 // 2)[0]
            value = pair >> 4 if cluster & 1 else pair & 0xFFF
        free += value == 0
    return int(free * fatfs.cluster_size)
