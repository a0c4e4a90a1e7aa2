"""One scan: open the image, gather artefacts, run every check, and assemble the report.

A check that raises is recorded in `errors` and the others still run; the
scan counts as "nothing could be checked" only when no check completed.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, cast

from imgscan import __version__
from imgscan.artefacts import Artefacts, gather, wanted_paths
from imgscan.artefacts.catalog_set import package_validity
from imgscan.check import Finding, InventoryItem, Severity, assign_identities
from imgscan.correlate import correlate, ordered, settle_gates, shown
from imgscan.gate import hidden_note, summary
from imgscan.ignore import IgnoreEntry
from imgscan.ignore import apply as apply_ignore
from imgscan.image import OpenedImage, Selection, open_image
from imgscan.interrupt import doing
from imgscan.loader import LoadedChecks
from imgscan.logs.collect import LogGroup
from imgscan.report import ErrorEntry, Filtered, ImageInfo, Inventory, Report, TargetFirmware
from imgscan.servicing import qfe_rows
from imgscan.servicing_levels import is_ssu
from imgscan.signing.firmware_db import UNKNOWN, FirmwareTarget
from imgscan.signing.verdict_cache import VerdictCache
from imgscan.undecodable import printable_report

if TYPE_CHECKING:
    from imgscan.signing.firmware_db import SignatureDatabase

log = logging.getLogger(__name__)


@dataclass
class ScanResult:
    report: Report
    findings: list[Finding]  # every finding, also those --severity leaves out of the report
    checks_completed: int

    def gate(self, fail_on: Severity) -> bool:
        """True when a cause reaches the `--fail-on` threshold with a finding no ignore entry accepts,
        whatever --severity shows."""
        return any(f.gating_severity is not None and f.gating_severity >= fail_on for f in self.findings)


@dataclass(frozen=True)
class Options:
    """How to scan and what to show, beyond the image and the date."""

    horizon_days: int = 365
    selection: Selection = field(default_factory=Selection)
    ignore: list[IgnoreEntry] = field(default_factory=list)
    ignore_source: str = ""
    severities: frozenset[Severity] | None = None  # None: show every severity (what is shown never changes the gate)
    today: date | None = None  # the day of the run (the CLI's one clock): when ignore entries expire
    jobs: int | None = 1  # processes that judge catalogs; None: every core when the image has many
    verdict_cache: VerdictCache | None = None  # a fleet's shared catalog verdicts
    target_firmware: FirmwareTarget = UNKNOWN  # the Secure Boot db of the hosts
    target_dbx: SignatureDatabase | None = None  # the hosts' Secure Boot dbx, exported from one of them


def scan(path: Path, as_of: date, checks: LoadedChecks, options: Options | None = None) -> ScanResult:
    """Open the image read-only and scan its Windows volume."""
    options = options or Options()
    with doing("scanning", subject=str(path)), open_image(path, options.selection, wanted_paths()) as opened:
        return scan_volume(opened, as_of, checks, options)


def scan_volume(opened: OpenedImage, as_of: date, checks: LoadedChecks, options: Options) -> ScanResult:
    """Gather the artefacts of an opened image, run every check and assemble the report (the unit
    tests call this with an in-memory volume)."""
    horizon_days = options.horizon_days
    art = gather(
        opened,
        as_of,
        horizon_days,
        jobs=options.jobs,
        verdict_cache=options.verdict_cache,
        target_firmware=options.target_firmware,
        target_dbx=options.target_dbx,
    )
    with doing("running the checks"):
        findings, inventory, errors, outcome = _run_checks(art, checks)
    findings = [timed for f in findings if (timed := _apply_timing(f, art)) is not None]
    assign_identities(findings)
    correlate(findings)
    report_inventory = _inventory(art, inventory, checks, outcome)
    warnings: list[str] = []
    if options.ignore:
        assert options.today is not None, "ignore entries expire against the day of the run"
        rule_ids = {rule.id for rule in checks.rules}
        warnings = apply_ignore(findings, options.ignore, options.ignore_source, options.today, rule_ids)
    settle_gates(findings)
    findings = ordered(findings)
    every = [f.to_dict() for f in findings]
    listed, filtered = every, None
    if options.severities is not None:  # what is shown; the summary and the gate count every finding
        visible = {id(f) for f in shown(findings, options.severities)}
        listed = [d for f, d in zip(findings, every, strict=True) if id(f) in visible]
        hidden = _hidden([f for f in findings if id(f) not in visible])
        filtered = Filtered(severities=[s.json_name for s in sorted(options.severities, reverse=True)], hidden=hidden)
        if any(hidden.values()):
            warnings.append(f"--severity hid {hidden_note(hidden)}")
    report: Report = {
        "imgscan": __version__,
        "image": _image(opened),
        "as_of": as_of.isoformat(),
        "horizon_days": horizon_days,
        "target_firmware": _target_firmware(options),
        "host": art.host(),
        "summary": summary(every),
        "findings": listed,
        "inventory": report_inventory,
        "errors": cast(
            list[ErrorEntry],
            checks.errors
            + [{"path": opened.info.path, "message": warning} for warning in opened.warnings]
            + [{"path": u.path, "message": f"{u.role}: {u.problem}"} for u in art.unreadable]
            + art.errors
            + [problem for hive in art.hives for problem in hive.problems]
            + errors,
        ),
        "warnings": warnings,
    }
    if filtered is not None:
        report["filtered"] = filtered
    report = cast(Report, printable_report(report))  # names that are not valid Unicode (imgscan/undecodable.py)
    return ScanResult(report=report, findings=findings, checks_completed=sum(why is None for why in outcome.values()))


def _hidden(findings: list[Finding]) -> dict[str, int]:
    """The findings --severity left out, by their own severity, and those the ignore file accepted."""
    counts = {str(s): sum(f.effective_severity == s and not f.suppressed for f in findings) for s in reversed(Severity)}
    return counts | {"suppressed": sum(bool(f.suppressed) for f in findings)}


def _target_firmware(options: Options) -> TargetFirmware:
    dbx = options.target_dbx
    return {
        "db": options.target_firmware.generation,
        "dbx": None
        if dbx is None
        else {"path": dbx.path, "sha256": dbx.sha256, "hashes": len(dbx.hashes), "certificates": list(dbx.names)},
    }


def _apply_timing(finding: Finding, art: Artefacts) -> Finding | None:
    """A rule's timing policy, applied once for every check: the severity of a prediction follows the
    day it starts, and one that starts after the horizon is dropped."""
    timing = finding.rule.timing
    if timing is None or finding.starts is None:
        return finding
    if finding.starts > art.horizon_end:
        return None
    finding.severity = timing.now if finding.starts <= art.as_of else timing.soon
    return finding


def _run_checks(
    art: Artefacts, loaded: LoadedChecks
) -> tuple[list[Finding], dict[str, list[dict[str, object]]], list[dict[str, str]], dict[str, str | None]]:
    """Every check that has something to judge; returns findings, inventory sections, errors, and per
    check None when it completed or why it did not."""
    findings: list[Finding] = []
    inventory: dict[str, list[dict[str, object]]] = {}
    errors: list[dict[str, str]] = []
    outcome: dict[str, str | None] = {}
    for check in loaded.checks:
        absent = next((reason for kind in check.needs if (reason := art.absent(kind))), None)
        if absent or not check.applies(art):
            outcome[check.name] = absent or check.not_applicable
            continue
        try:
            for record in check.run(art):
                if isinstance(record, InventoryItem):
                    inventory.setdefault(record.section, []).append(record.item)
                else:
                    findings.append(record)
        except Exception as exc:  # a crashing check must not lose the other findings
            log.debug("check %s crashed", check.name, exc_info=True)
            errors.append({"path": f"check:{check.name}", "message": f"check crashed: {type(exc).__name__}: {exc}"})
            outcome[check.name] = f"crashed: {type(exc).__name__}"
            continue
        outcome[check.name] = None
    return findings, inventory, errors, outcome


def _log_group(group: LogGroup) -> dict[str, object]:
    return {
        "family": group.family,
        "subject": group.subject,
        "hresult": group.hresult,
        "count": group.count,
        "failed": group.failed,
        "first": group.first.isoformat() if group.first else None,
        "last": group.last.isoformat() if group.last else None,
        "sources": sorted(group.sources),
        "samples": group.samples,
    }


def _image(opened: OpenedImage) -> ImageInfo:
    info = opened.info
    image: ImageInfo = {"path": info.path, "sha256": info.sha256, "format": info.format}
    if opened.parents:
        image["parents"] = [{"path": p.path, "sha256": p.sha256, "format": p.format} for p in opened.parents]
    if "wim" in opened.details:
        image["wim"] = opened.details["wim"]
    return image


def _inventory(
    art: Artefacts, sections: dict[str, list[dict[str, object]]], loaded: LoadedChecks, outcome: dict[str, str | None]
) -> Inventory:
    hives: list[dict[str, object]] = []
    for role, hive in (("SOFTWARE", art.software), ("SYSTEM", art.system), ("COMPONENTS", art.components)):
        if hive:
            hives.append({"path": hive.path, "role": role, "dirty": hive.dirty})
    for user in art.user_hives:
        hives.append({"path": user.path, "role": "user", "dirty": user.dirty} | user.account.as_dict())
    inventory: Inventory = {
        "hives": hives,
        "profiles_not_scanned": art.profile_notes,
        "qfe": qfe_rows(art.packages),
        "packages": [
            p.as_dict() | {"servicing_stack_update": is_ssu(p)} | package_validity(p, art.catalogs, art.as_of)
            for p in art.packages
        ],
        "catalogs": [
            r.as_dict() | {"status_as_of": r.verdict.status_on(art.as_of) if r.verdict else "unreadable"}
            for r in art.catalogs.records
        ],
        "trust": art.trust,
        "partitions": [p.as_dict() for p in art.boot.partitions],
        "boot_files": [f.as_dict() for f in art.boot.files],
        "secure_boot": art.boot.secure_boot.as_dict() | {"winre_version": art.boot.winre_version},
        "logs": {"read": art.logs.read, "failures": [_log_group(g) for g in art.logs.groups]},
        "checks": [
            {"check": c.name, "completed": outcome.get(c.name, "") is None}
            | ({"skipped": why} if (why := outcome.get(c.name)) and not why.startswith("crashed") else {})
            for c in loaded.checks
        ],
    }
    # the sections checks add (e.g. wintrust), after the fixed ones and in name order
    return cast(Inventory, {**inventory, **dict(sorted(sections.items()))})
