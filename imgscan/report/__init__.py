"""The JSON report contract, declared once as types: what `--format json` writes and every view reads.

Fields are only ever added, never renamed or removed, and from the first release on a field is added as
`NotRequired`: `diff` refuses a saved report that lacks a required field (contract), so one saved by an
earlier release must still have them all. `docs/report.schema.json` is generated from
these types (`python -m imgscan.report`), and the tests validate real reports against it and fail when
the committed schema and the types differ. The schema is closed: every object lists its keys and admits
no others (`additionalProperties: false`), but for the inventory sections of plugins outside imgscan.
The parts live in their own modules: `image` (what was scanned), `evidence` (a finding's six kinds of
evidence), `inventory` (its sections), `listings` (`imgscan packages|catalogs|images -f json`) and `contract`
(whether a report read back has the shape these types declare). This package imports nothing else of imgscan,
so every layer may use its types.
"""

from __future__ import annotations

import sys
from typing import Any, Literal

from typing_extensions import NotRequired, TypedDict, is_typeddict

from imgscan.report import evidence, image, inventory, listings
from imgscan.report.contract import CLOSED, OPEN, mismatch
from imgscan.report.evidence import (
    AccountJson,
    BootFileEvidence,
    CatalogEvidence,
    Evidence,
    FileEvidence,
    LogLineEvidence,
    PartitionEvidence,
    RegistryValueEvidence,
    SignatureSummary,
    TrustOption,
)
from imgscan.report.image import (
    Collection,
    Host,
    ImageInfo,
    ParentImage,
    WimImageJson,
    WimJson,
)
from imgscan.report.inventory import (
    BootFileJson,
    CatalogJson,
    CatalogValidity,
    CheckRun,
    HiveJson,
    Inventory,
    LogFailure,
    LogsJson,
    PackageJson,
    PartitionJson,
    PeSignatureJson,
    PhaseName,
    ProfileNote,
    QfeRow,
    SecureBootJson,
    SetupStateJson,
    SignerJson,
    TargetDbJson,
    TimestampJson,
    TrustJson,
    UpdateServiceJson,
    WintrustJson,
    WmicQfe,
)
from imgscan.report.listings import (
    CatalogsListing,
    Listing,
    PackagesListing,
    SsuLevel,
    Unknown,
    WimListing,
)

__all__ = [
    "AccountJson",
    "BootFileEvidence",
    "BootFileJson",
    "CatalogEvidence",
    "CatalogJson",
    "CatalogValidity",
    "CatalogsListing",
    "CheckRun",
    "Collection",
    "DbxExport",
    "ErrorEntry",
    "Evidence",
    "FileEvidence",
    "Filtered",
    "FindingJson",
    "HiveJson",
    "Host",
    "ImageInfo",
    "Inventory",
    "Listing",
    "LogFailure",
    "LogLineEvidence",
    "LogLink",
    "LogsJson",
    "OPEN_TO_PLUGINS",
    "PLUGIN_SECTION",
    "PackageJson",
    "PackagesListing",
    "ParentImage",
    "PartitionEvidence",
    "PartitionJson",
    "PeSignatureJson",
    "PhaseName",
    "ProfileNote",
    "QfeRow",
    "RegistryValueEvidence",
    "Report",
    "SecureBootJson",
    "SetupStateJson",
    "SeverityName",
    "SignatureSummary",
    "SignerJson",
    "SsuLevel",
    "Suppressed",
    "TargetDbJson",
    "TargetFirmware",
    "TimestampJson",
    "TrustJson",
    "TrustOption",
    "Unknown",
    "UpdateServiceJson",
    "WimImageJson",
    "WimJson",
    "WimListing",
    "WintrustJson",
    "WmicQfe",
    "closed",
    "differs",
    "json_schema",
    "schema",
]

SeverityName = Literal["info", "low", "medium", "high", "critical"]


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
    starts_at: NotRequired[str]  # the moment it begins, when known to the second (ISO 8601, UTC, `Z`)
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
    # time policy's stamp that views read instead of comparing days; "failing" also on an undated one its check
    # knows holds already (a package whose catalog never validated empties wmic qfe from the first query)
    phase: NotRequired[PhaseName]


class ErrorEntry(TypedDict):
    path: str
    message: str


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
OPEN_TO_PLUGINS: tuple[type, ...] = (Inventory,)  # the objects that admit such sections beside their own fields


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
    for part in OPEN_TO_PLUGINS:
        generated["$defs"][part.__name__]["additionalProperties"] = PLUGIN_SECTION
    return generated


def differs(document: object) -> str | None:
    """Where a report read back (a saved `--format json`) first differs from `Report`, by the schema's rules,
    in one line; None when it has the report's shape (imgscan.report.contract)."""
    return mismatch(document, Report)


# Every type of the report is closed and strict to pydantic, which generates the schema from them and validates a
# saved report against them (contract), but for the objects open to plugins' sections.
for _module in (image, evidence, inventory, listings, sys.modules[__name__]):
    for _part in list(vars(_module).values()):
        if is_typeddict(_part) and _part.__module__ == _module.__name__:
            _part.__pydantic_config__ = OPEN if _part in OPEN_TO_PLUGINS else CLOSED
