"""A finding's evidence: one of six closed variants (a file, a registry value, a log line, a catalog, a
partition, a boot file), each with its `path` on the Windows volume (or the partition it names). A check's
evidence literal is checked against them by mypy, and tests/unit validates every finding against the schema.
"""

from __future__ import annotations

from typing_extensions import NotRequired, TypedDict


class AccountJson(TypedDict):
    """Whose user hive: the account a profile, the Default template or the system default belongs to."""

    kind: str  # system-default, default-template or profile
    name: str
    sid: str | None
    listed_in_profile_list: bool  # False: an NTUSER.DAT found on disk but absent from ProfileList


class TrustOption(TypedDict):
    """One documented bit of the WinTrust Software Publishing State value."""

    option: int
    name: str
    value: bool


class FileEvidence(TypedDict):
    """A file or folder of the Windows volume: a hive, a package's .mum/.cat, the servicing folder, pending.xml."""

    path: str
    sha256: NotRequired[str]
    problem: NotRequired[str | None]  # why it cannot be used
    role: NotRequired[str]  # a hive's role (SOFTWARE, SYSTEM, user, ...)
    dirty: NotRequired[bool]  # a hive with unapplied transaction logs
    package: NotRequired[str]  # the CBS package identity it belongs to
    kb: NotRequired[str | None]
    state: NotRequired[str | None]  # the package's state name
    fails_from: NotRequired[str]  # the day the package's catalog fails, or "already (never valid)"
    checksur: NotRequired[str]  # what CheckSUR would report of the package
    detail: NotRequired[str]
    marker: NotRequired[str]  # a pending-servicing marker
    os: NotRequired[str | None]
    missing: NotRequired[list[str]]  # updates a servicing level lacks
    installed_ssus: NotRequired[list[str]]
    sha2_support: NotRequired[str | None]
    esu_licensing: NotRequired[str | None]


class RegistryValueEvidence(TypedDict):
    """A registry key or value: `path` is the key under its hive (SYSTEM\\...), or a user hive's file with the
    key in `key`."""

    path: str
    value: NotRequired[str]  # the value name
    data: NotRequired[int | str]  # the value's data
    service: NotRequired[str]
    image_state: NotRequired[str | None]
    entries: NotRequired[int]  # PendingFileRenameOperations entries
    marker: NotRequired[str]
    account: NotRequired[AccountJson]
    key: NotRequired[str | None]
    state: NotRequired[str | None]  # the value as hex
    options: NotRequired[list[TrustOption]]  # the documented bits, each set or not
    undefined_bits: NotRequired[str]
    last_written: NotRequired[str | None]  # the key's last-write time (ISO 8601)
    predicted_errors: NotRequired[list[str]]
    available_updates: NotRequired[int | None]  # the Secure Boot servicing values
    uefica2023_status: NotRequired[str | None]
    windows_uefica2023_capable: NotRequired[int | None]


class LogLineEvidence(TypedDict):
    """A log line (`line`) or event record (`record`), or a log family's counts per code."""

    path: str
    line: NotRequired[int]
    record: NotRequired[int]
    text: NotRequired[str]
    failing_file: NotRequired[str]  # setup logs: the files whose verification failed
    verification_error: NotRequired[str | None]
    final_result: NotRequired[str | None]
    entries_per_code: NotRequired[dict[str, int]]  # a family's overflow group: entries per HRESULT
    entries_under_further_codes: NotRequired[int]


class SignatureSummary(TypedDict):
    """One signature of a dual-signed catalog, with its own verdict."""

    signature: str  # primary, nested 1, ...
    signer: str | None
    signer_not_after: str | None
    digest_algorithm: str | None
    timestamp: str
    timestamp_time: str | None
    status: str
    valid_until: str | None
    reason: str | None


class CatalogEvidence(TypedDict):
    """A catalog file (.cat) with its signature's verdict; `status_as_of` is its state on the as-of day."""

    path: str
    sha256: NotRequired[str]
    problem: NotRequired[str | None]
    signer: NotRequired[str | None]
    signer_not_after: NotRequired[str | None]
    timestamp: NotRequired[str]
    timestamp_time: NotRequired[str | None]
    tsa_has_timestamping_eku: NotRequired[bool]
    status: NotRequired[str]  # the verdict whatever the day: `expires` is a signature with an end (`valid_until`)
    status_as_of: NotRequired[str]  # what that verdict is on the as-of day: `expires` before the end, `expired` after
    cause: NotRequired[str | None]
    valid_until: NotRequired[str | None]
    reason: NotRequired[str | None]
    signatures: NotRequired[list[SignatureSummary]]  # a dual-signed catalog's every signature
    notes: NotRequired[list[str]]  # parts that could not be read


class PartitionEvidence(TypedDict):
    """A partition of a disk image (`path` names it, e.g. `partition 4 (recovery)`)."""

    path: str
    role: str
    type: str
    size: int
    free_bytes: int | None
    winre_version: NotRequired[str | None]
    reagent_offset: NotRequired[int | None]


class BootFileEvidence(TypedDict):
    """A UEFI boot file (PE), `where` saying which copy (the EFI system partition, Windows\\Boot\\EFI)."""

    path: str
    where: str
    sha256: str
    image_hash: NotRequired[str | None]  # its Authenticode SHA-256 image hash
    signed_image_hash: NotRequired[str | None]  # the hash its signature holds
    signer: NotRequired[str | None]
    issuer: NotRequired[str | None]
    signer_thumbprint: NotRequired[str | None]
    chain: NotRequired[list[str]]
    signed_under: NotRequired[list[str]]  # the Microsoft UEFI CAs it is signed under
    db: NotRequired[str]  # the --target-firmware db export judged against
    db_sha256: NotRequired[str]
    revoked_by: NotRequired[list[str]]
    dbx: NotRequired[str]
    dbx_sha256: NotRequired[str]


# One piece of evidence: `path` is always there (the file, key, log or partition it comes from)
Evidence = FileEvidence | RegistryValueEvidence | LogLineEvidence | CatalogEvidence | PartitionEvidence | BootFileEvidence
