"""The preflight report contract, declared once as types: what `imgscan preflight -f json` writes and what
its views (table, SARIF, JUnit, HTML) read.

Like the scan's report (imgscan/report.py, whose image, host and error entries it shares), fields are only
ever added, never renamed or removed. `docs/preflight.schema.json` is generated from these types
(`python -m imgscan.preflight.report`); the tests validate real reports against it, and each object
refuses keys it does not declare, so a field added to the report without its type fails them.
Evidence stays open: its keys depend on the reason.
"""

from __future__ import annotations

import json
import sys
from typing import Any, Literal

from typing_extensions import NotRequired, TypedDict

from imgscan.report import ErrorEntry, Host, WimJson, closed, json_schema

Status = Literal["installs", "will-not-install", "not-applicable", "installed", "superseded", "unknown"]


class PreflightImage(TypedDict):
    path: str
    sha256: str
    format: str
    wim: NotRequired[WimJson]  # the image of a WIM judged (--index / --image-name)


class ServiceJson(TypedDict):
    name: str  # wuauserv, TrustedInstaller
    start_type: str  # boot, system, automatic, manual, disabled, not configured
    path: str  # its SYSTEM key


class PreflightFacts(TypedDict):
    """The image's facts every verdict rests on; null where the image cannot say (never a guess)."""

    windows_version: str | None
    build: int | None
    architecture: str | None
    architecture_source: str
    installed_packages: int
    sha2_support: str | None  # the installed KB4474419, or null
    servicing_stack_updates: list[str]  # installed servicing stack updates of March 2019 or later
    servicing_stack: str | None  # the servicing stack version the image runs, or null when nothing says
    servicing_stack_source: str  # where it was read (registry value, .mum) and how
    esu_licensing: str | None
    pending: list[str]
    free_bytes: int | None
    free_bytes_source: str
    services: list[ServiceJson]
    eku_mitigation: str | None


class ReasonJson(TypedDict):
    code: str  # the rule id: imgscan.preflight.rules.TITLES
    title: str
    message: str
    hresult: str | None  # the code Windows gives
    starts: str | None  # the first day it holds (YYYY-MM-DD); null: whatever the day
    fix: str
    evidence: list[dict[str, Any]]  # each with a `path`
    references: list[str]


class UpdateJson(TypedDict):
    file: str  # as given
    sha256: str
    kb: str | None
    identity: str | None  # the top package's CBS identity
    status: Status
    summary: str
    hresult: str | None
    fails_from: str | None  # an update that installs at --as-of: the first day it no longer does
    release_type: str | None
    restart: str | None
    servicing_stack_update: bool
    payload_bytes: int
    registers: list[str]
    reasons: list[ReasonJson]  # every reason it fails at --as-of
    later: list[ReasonJson]  # reasons that start within --horizon
    notes: list[str]  # what the verdict could not take into account


class InstallStep(TypedDict):
    file: str
    kb: str | None
    after: list[str]  # the files before it that it needs


class BlockedUpdate(TypedDict):
    file: str
    kb: str | None
    status: Status
    hresult: str | None
    reasons: list[str]  # reason codes


class PreflightOrder(TypedDict):
    install: list[InstallStep]
    cannot_install: list[BlockedUpdate]


class PreflightReport(TypedDict):
    imgscan: str
    image: PreflightImage
    as_of: str
    horizon_days: int
    host: Host
    facts: PreflightFacts
    summary: dict[str, int]  # updates per status
    updates: list[UpdateJson]
    order: PreflightOrder
    errors: list[ErrorEntry]  # inputs that could not be read, one line each
    unreadable_updates: int  # how many of `errors`, the first ones, are update files that could not be read
    undecodable: NotRequired[dict[str, str]]  # escaped text -> base64 of its bytes, for names not valid Unicode


def schema() -> dict[str, Any]:
    """The JSON Schema of `PreflightReport`: every object that declares its fields admits no others (pydantic
    is needed only here, to regenerate the file: the types themselves import nothing of it)."""
    generated = json_schema(PreflightReport, "imgscan preflight report")
    closed(generated)
    return generated


if __name__ == "__main__":
    sys.stdout.write(json.dumps(schema(), indent=2, sort_keys=True) + "\n")
