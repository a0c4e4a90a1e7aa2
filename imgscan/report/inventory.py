"""The report's `inventory`: what the image holds, section by section, as the kinds and checks serialise it."""

from __future__ import annotations

from typing import Literal

from typing_extensions import NotRequired, TypedDict

from imgscan.report.evidence import AccountJson, LogLineEvidence, SignatureSummary

PhaseName = Literal["failing", "soon", "later", "never"]


class HiveJson(TypedDict):
    """A hive read: a machine hive by its role, a user hive (`role` user) with its account."""

    path: str
    role: str
    dirty: bool  # unapplied transaction logs
    kind: NotRequired[str]  # a user hive's account (AccountJson's fields)
    name: NotRequired[str]
    sid: NotRequired[str | None]
    listed_in_profile_list: NotRequired[bool]


class ProfileNote(TypedDict):
    """A ProfileList entry whose hive was not scanned, and why."""

    sid: str
    profile_path: str | None
    status: str


class QfeRow(TypedDict):
    """One row `wmic qfe` lists."""

    HotFixID: str | None
    Description: str | None
    InstalledOn: str | None  # M/D/YYYY, as wmic writes it
    InstalledBy: str | None


class CatalogValidity(TypedDict):
    """A package's catalog verdict, stamped for the scan context."""

    catalog_status_as_of: str | None  # its catalog's state on the as-of day, the word every view shows
    catalog_status: str | None
    catalog_valid_until: str | None
    catalog_fails_from: str | None  # a day, "never valid" or None
    catalog_phase: PhaseName


class PackageJson(CatalogValidity):
    """A CBS package with its catalog's verdict, stamped for the scan context."""

    identity: str
    identifier: str | None
    kb: str | None
    release_type: str | None
    state: str | None  # CurrentState as hex
    state_name: str | None
    installed_on: str | None
    installed_at: str | None
    install_user: str | None
    mum: str | None
    cat: str | None
    problem: str | None
    servicing_stack_update: bool


class SignerJson(TypedDict):
    """A certificate as the catalog inventory describes it."""

    common_name: str | None
    subject: str
    issuer: str
    serial: str  # hex
    thumbprint: str
    not_before: str | None
    not_after: str | None
    ekus: list[str]


class TimestampJson(TypedDict):
    kind: str  # none, authenticode, rfc3161
    time: NotRequired[str | None]
    tsa: NotRequired[str | None]
    tsa_has_timestamping_eku: NotRequired[bool]
    problem: NotRequired[str | None]


class CatalogJson(TypedDict):
    """A catalog with its signature and verdict; `status_as_of` its state on the as-of day."""

    path: str
    sha256: str
    problem: NotRequired[str]  # an unreadable catalog has only this besides path and sha256
    signed: NotRequired[bool]
    signer: NotRequired[SignerJson | None]
    digest_algorithm: NotRequired[str | None]
    signing_time: NotRequired[str | None]
    timestamp: NotRequired[TimestampJson]
    lifetime_signing_eku: NotRequired[bool]
    this_update: NotRequired[str | None]
    members: NotRequired[int]
    status: NotRequired[str]
    cause: NotRequired[str | None]
    valid_from: NotRequired[str | None]
    valid_until: NotRequired[str | None]
    reason: NotRequired[str | None]
    hresult: NotRequired[str | None]
    mitigation: NotRequired[str | None]
    root: NotRequired[str | None]
    signatures: NotRequired[list[SignatureSummary]]
    notes: NotRequired[list[str]]
    status_as_of: str


class TrustJson(TypedDict, total=False):
    """The trust store catalogs are judged against (empty when the image has no catalog to judge)."""

    image_roots: int
    bundled_roots: int
    eku_mitigation: str | None  # KB2749655 / KB2756872 when installed


class PartitionJson(TypedDict):
    number: int
    scheme: str  # gpt, mbr
    type: str
    role: str
    name: str | None
    offset: int
    size: int
    filesystem: str | None
    free_bytes: int | None
    problem: NotRequired[str]


class PeSignatureJson(TypedDict):
    """An embedded Authenticode signature of a boot file (only `problem` when it cannot be read)."""

    problem: NotRequired[str | None]
    signer: NotRequired[str | None]
    chain: NotRequired[list[str]]
    digest_algorithm: NotRequired[str | None]
    image_hash_matches: NotRequired[bool]
    signature_problem: NotRequired[str | None]
    timestamp: NotRequired[str]
    timestamp_time: NotRequired[str | None]
    status: NotRequired[str | None]


class BootFileJson(TypedDict):
    where: str
    path: str
    sha256: str
    problem: NotRequired[str]
    signatures: NotRequired[list[PeSignatureJson]]
    signed_under: list[str]


class SecureBootJson(TypedDict):
    key: str | None
    available_updates: int | None
    uefica2023_status: str | None
    windows_uefica2023_capable: int | None
    winre_version: str | None


class LogFailure(TypedDict):
    """One failure group of a log family."""

    family: str
    subject: str | None
    hresult: str | None
    count: int
    failed: bool
    first: str | None
    last: str | None
    sources: list[str]
    samples: list[LogLineEvidence]  # its first lines, as a finding's evidence gives them


class LogsJson(TypedDict):
    read: list[str]  # the logs read
    failures: list[LogFailure]


class CheckRun(TypedDict):
    check: str
    completed: bool
    skipped: NotRequired[str]  # why it had nothing to judge


class UpdateServiceJson(TypedDict):
    path: str
    service: str
    start: int | None


class WintrustJson(TypedDict):
    path: str
    account: AccountJson
    state: str | None
    effective: NotRequired[str]
    last_written: NotRequired[str | None]
    note: NotRequired[str]


# `from` is a Python keyword, hence this form: the day the list empties, when one of its packages fails
_WmicQfeBase = TypedDict("_WmicQfeBase", {"empty": bool, "from": str | None, "rows": list[QfeRow], "empty_from": str | None})


class WmicQfe(_WmicQfeBase, total=False):
    """What wmic qfe lists on the as-of day, as the check that predicts it states it (`imgscan packages`
    gives the list as the packages give it, without `as_of` and `predicted_by`, when that check did not run)."""

    as_of: str
    predicted_by: str


class SetupStateJson(TypedDict):
    path: str | None
    image_state: str | None


class TargetDbJson(TypedDict):
    path: str
    where: str
    db: str
    allowed_by: str | None


class Inventory(TypedDict):
    """What the image holds: each kind's sections (present when the kind was read), what each check did, and
    the sections checks add. A plugin outside imgscan may add sections of its own beside these."""

    hives: NotRequired[list[HiveJson]]
    profiles_not_scanned: NotRequired[list[ProfileNote]]
    qfe: NotRequired[list[QfeRow]]
    packages: NotRequired[list[PackageJson]]
    catalogs: NotRequired[list[CatalogJson]]
    trust: NotRequired[TrustJson]
    partitions: NotRequired[list[PartitionJson]]  # a disk image's partition table, with each partition's free space
    boot_files: NotRequired[list[BootFileJson]]  # UEFI boot managers with their signatures and signing CAs
    secure_boot: NotRequired[SecureBootJson]  # the image's Secure Boot servicing values and WinREVersion
    logs: NotRequired[LogsJson]
    checks: list[CheckRun]
    setup_state: NotRequired[list[SetupStateJson]]
    target_db: NotRequired[list[TargetDbJson]]
    update_services: NotRequired[list[UpdateServiceJson]]
    wintrust: NotRequired[list[WintrustJson]]
    wmic_qfe: NotRequired[list[WmicQfe]]
