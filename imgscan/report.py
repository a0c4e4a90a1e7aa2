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


class ImageInfo(TypedDict):
    """The input: its path as given, its content hash (a tree digest for directories) and container."""

    path: str
    sha256: str
    format: str
    parents: NotRequired[list[ParentImage]]  # the files a differencing VHD/VHDX read
    wim: NotRequired[dict[str, Any]]  # the WIM image scanned (index, name, edition, compression, parts)
    loader: NotRequired[str]  # the dissect.target loader that read a VM export or collection (ova, acquire, kape, ...)
    collection: NotRequired[Collection]  # a tar, zip or KAPE collection: what it lacks


class Host(TypedDict):
    name: str | None  # ComputerName of the current control set
    os: str | None
    utc_offset_minutes: int | None  # local = UTC + offset, from TimeZoneInformation; None when unknown


class Evidence(TypedDict, total=False):
    """One piece of evidence; `path` is always there (the file or hive it comes from), the other keys
    depend on the rule (value, state, line, record, signer, valid_until, ...)."""

    path: str


class LogLink(TypedDict, total=False):
    rule: str
    path: str
    line: int
    record: int


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
    suppressed: NotRequired[dict[str, Any]]  # the ignore-file entry that accepted it: reason, expires, source, entry
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


class Inventory(TypedDict, total=False):
    """What the image holds; checks may add sections of their own (e.g. `wintrust`)."""

    hives: list[dict[str, Any]]
    profiles_not_scanned: list[dict[str, Any]]
    qfe: list[dict[str, Any]]
    packages: list[dict[str, Any]]
    catalogs: list[dict[str, Any]]
    trust: dict[str, Any]
    partitions: list[dict[str, Any]]  # a disk image's partition table, with each partition's free space
    boot_files: list[dict[str, Any]]  # UEFI boot managers with their signatures and signing CAs
    secure_boot: dict[str, Any]  # the image's Secure Boot servicing values and WinREVersion
    logs: dict[str, Any]
    checks: list[dict[str, Any]]


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


def json_schema(contract: Any, title: str) -> dict[str, Any]:
    """The JSON Schema of a report contract (pydantic generates it; needed only to regenerate a file)."""
    from pydantic import TypeAdapter

    generated: dict[str, Any] = TypeAdapter(contract).json_schema()
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", "title": title} | generated


def schema() -> dict[str, Any]:
    """The JSON Schema of `Report`."""
    return json_schema(Report, "imgscan report")


if __name__ == "__main__":
    sys.stdout.write(json.dumps(schema(), indent=2, sort_keys=True) + "\n")
