"""The JSON report contract, declared once as types: what `--format json` writes and every view reads.

Fields are only ever added, never renamed or removed. `docs/report.schema.json` is generated from
these types (`python -m imgscan.report`), and the tests validate real reports against it and fail when
the committed schema and the types differ. Open-ended parts (a finding's evidence, the inventory
sections that checks add) are objects whose known keys are listed and whose other keys are allowed.
"""

from __future__ import annotations

import json
import sys
from typing import Any, Literal

from typing_extensions import NotRequired, TypedDict

SeverityName = Literal["info", "low", "medium", "high", "critical"]
PhaseName = Literal["failing", "soon", "later", "never"]


class ParentImage(TypedDict):
    path: str
    sha256: str
    format: str


class Collection(TypedDict):
    """A triage collection: partial when it holds none of the files of a kind every Windows has."""

    partial: bool
    lacking: list[str]  # those kinds' declared paths it holds nothing of (Windows\servicing\Packages\*.cat, ...)


class WimImageJson(TypedDict):
    """One image of a WIM, as wimlib describes it."""

    index: int
    name: str
    description: str
    edition: str
    version: str
    product: str


class WimJson(WimImageJson):
    """The WIM image scanned."""

    compression: str
    parts: int  # files of a split WIM


class WimListing(TypedDict):
    """`imgscan images -f json`: the images of a WIM file."""

    path: str
    compression: str
    parts: int
    images: list[WimImageJson]


class ImageInfo(TypedDict):
    """The input: its path as given, its content hash (a tree digest for directories) and container."""

    path: str
    sha256: str
    format: str
    parents: NotRequired[list[ParentImage]]  # the files a differencing VHD/VHDX read
    wim: NotRequired[WimJson]  # the WIM image scanned
    loader: NotRequired[str]  # the dissect.target loader that read a VM export or collection (ova, acquire, kape, ...)
    collection: NotRequired[Collection]  # a tar, zip or KAPE collection: what it lacks


class Host(TypedDict):
    name: str | None  # ComputerName of the current control set
    os: str | None
    utc_offset_minutes: int | None  # local = UTC + offset, from TimeZoneInformation; None when unknown


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
    status: NotRequired[str]
    status_as_of: NotRequired[str]
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


class LogLink(TypedDict):
    """A log line (or event record) of an observation that shows a prediction happened."""

    rule: str
    path: str
    line: NotRequired[int]
    record: NotRequired[int]


class Suppressed(TypedDict):
    """The ignore-file entry that accepted a finding."""

    reason: str
    expires: str | None  # YYYY-MM-DD
    source: str  # the ignore file
    entry: int  # its number in the file


class FindingJson(TypedDict):
    rule: str
    severity: SeverityName
    title: str
    message: str
    starts: str | None  # first day a predicted failure holds (YYYY-MM-DD, UTC)
    hresult: str | None
    evidence: list[Evidence]
    remediation: str
    references: list[str]
    confirmed_by: NotRequired[list[LogLink]]  # log lines that show a prediction happened
    explained_by: NotRequired[list[str]]  # predictions that explain an observed failure
    suppressed: NotRequired[Suppressed]  # the ignore-file entry that accepted it
    observed: NotRequired[str]  # when a log first shows the failure (ISO 8601)
    hits: NotRequired[str]  # when the failure happens, in words, for a finding that is not dated
    # identity: rule, subject and, for some rules, the HRESULT, lower-case with `\` paths (check.identity);
    # the same in every run and container format; diff, SARIF fingerprints, the fleet and the ignore file use it
    id: NotRequired[str]
    caused_by: NotRequired[str]  # a consequence: the `id` of its root cause, through which it gates
    explains: NotRequired[list[str]]  # a root cause: the `id`s of its consequences
    # a root cause or a finding on its own: the severity it counts at for the summary and --fail-on (the worst
    # of its group that no ignore entry accepts; null when the ignore file accepts them all)
    gating_severity: NotRequired[SeverityName | None]
    # a dated finding: where `starts` falls for the scan (failing at --as-of, soon: within --horizon, later), the
    # time policy's stamp that views read instead of comparing days
    phase: NotRequired[PhaseName]


class ErrorEntry(TypedDict):
    path: str
    message: str


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


class PackageJson(TypedDict):
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
    catalog_status_as_of: str | None  # its catalog's state on the as-of day, the word every view shows
    catalog_status: str | None
    catalog_valid_until: str | None
    catalog_fails_from: str | None  # a day, "never valid" or None
    catalog_phase: PhaseName


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


class TrustJson(TypedDict):
    """The trust store catalogs are judged against."""

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


class SsuLevel(TypedDict):
    """The newest servicing stack update installed, with its release day when imgscan's data knows it."""

    kb: str
    released: str | None


class Listing(TypedDict):
    """What every listing (`imgscan packages`, `imgscan catalogs`) starts with: the report's own header."""

    imgscan: str
    image: ImageInfo
    as_of: str
    host: Host


class PackagesListing(Listing):
    """`imgscan packages -f json`: what wmic qfe lists on the as-of day, then every package."""

    qfe: list[QfeRow]
    packages: list[PackageJson]
    wmic_qfe: WmicQfe
    qfe_empty_from: str | None
    ssu_level: SsuLevel | None


class CatalogsListing(Listing):
    """`imgscan catalogs -f json`: every catalog."""

    catalogs: list[CatalogJson]


class DbxExport(TypedDict):
    path: str
    sha256: str  # of the export file
    hashes: int  # SHA-256 image hash entries
    certificates: list[str]  # subject names of its certificate entries


class TargetFirmware(TypedDict):
    """What the scan was told of the hosts' firmware: the findings of the Secure Boot rules depend on it."""

    # --target-firmware: 2011-only, 2023 or unknown; from an exported db, also no-windows-ca (neither Windows CA)
    db: str
    dbx: DbxExport | None  # --target-dbx


class Filtered(TypedDict):
    """What --severity left out of `findings` (whole causes); `summary` and the exit code still count them."""

    severities: list[SeverityName]  # the severities shown
    hidden: dict[str, int]  # findings left out, per own severity (not suppressed), and `suppressed`


class Report(TypedDict):
    imgscan: str  # version
    image: ImageInfo
    as_of: str
    horizon_days: int
    target_firmware: TargetFirmware
    host: Host
    summary: dict[str, int]  # causes per gating severity (a consequence is not counted again), and `suppressed` findings
    findings: list[FindingJson]
    inventory: Inventory
    errors: list[ErrorEntry]
    warnings: list[str]
    filtered: NotRequired[Filtered]  # only with --severity
    undecodable: NotRequired[dict[str, str]]  # escaped text -> base64 of its bytes, for names not valid Unicode


# The one part of the report that is open: the inventory sections of plugins outside imgscan (their own kinds and
# checks), whose shape imgscan cannot know. Every other object declares its properties and admits no others.
PLUGIN_SECTION = {"description": "a section of a plugin outside imgscan, in the shape that plugin gives it"}


def json_schema(contract: Any, title: str) -> dict[str, Any]:
    """The JSON Schema of a report contract (pydantic generates it; needed only to regenerate a file)."""
    from pydantic import TypeAdapter

    generated: dict[str, Any] = TypeAdapter(contract).json_schema()
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", "title": title} | generated


def closed(node: object) -> None:
    """Make every object of a schema that declares its properties admit no others (`additionalProperties:
    false`), so a field added to the report without its type fails the tests."""
    if isinstance(node, dict):
        if node.get("type") == "object" and "properties" in node:
            node.setdefault("additionalProperties", False)
        for value in node.values():
            closed(value)
    elif isinstance(node, list):
        for value in node:
            closed(value)


def schema() -> dict[str, Any]:
    """The JSON Schema of `Report`: closed, but for the inventory sections of plugins outside imgscan."""
    generated = json_schema(Report, "imgscan report")
    closed(generated)
    generated["$defs"]["Inventory"]["additionalProperties"] = PLUGIN_SECTION
    return generated


if __name__ == "__main__":
    sys.stdout.write(json.dumps(schema(), indent=2, sort_keys=True) + "\n")
