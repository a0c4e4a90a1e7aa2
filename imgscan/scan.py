"""One scan: open the image, read the kinds the checks need, judge them under one scan context, and
assemble the report.

Reading and judging are apart: `read` loads from the image the kinds the selected checks need (the slow
part, hashing and catalog verdicts included), `judge` runs the checks on a read under one `ScanContext`
(as-of day, horizon, the hosts' firmware) and stamps each finding once with the time policy. One read
serves several contexts (hosts, as-of days) without reading the image again; `scan_volume` is read +
judge. A check that raises is recorded in `errors` and the others still run; the
scan counts as "nothing could be checked" only when no check completed.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, cast

from imgscan import __version__
from imgscan.artefacts import Artefacts, LoadSettings, host
from imgscan.artefacts.lacking import COLLECTIONS, EVERY_WINDOWS_HAS
from imgscan.check import Check, CheckContext, Finding, InventoryItem, Rule, Severity, assign_identities
from imgscan.check_reuse import CheckReuse, Outcome, Recorder
from imgscan.collector import young_collections_only
from imgscan.context import ScanContext
from imgscan.correlate import correlate, note_unjudged_causes, ordered, settle_gates, shown
from imgscan.gate import crash_error, hidden_note, summary
from imgscan.ignore import IgnoreEntry
from imgscan.ignore import apply as apply_ignore
from imgscan.image import OpenedImage, Selection, open_image
from imgscan.interrupt import doing
from imgscan.loader import LoadedChecks
from imgscan.report import CheckRun, ErrorEntry, Filtered, ImageInfo, Inventory, Report, TargetFirmware
from imgscan.undecodable import printable_encoded

if TYPE_CHECKING:
    from datetime import date
    from typing import Any

    from imgscan.kinds import Kind

log = logging.getLogger(__name__)


@dataclass
class ScanResult:
    report: Report
    findings: list[Finding]  # every finding, also those --severity leaves out of the report
    checks_completed: int
    report_json: str | None = None  # the report's compact JSON, keys sorted, when judging encoded it anyway

    def gate(self, fail_on: Severity) -> bool:
        """True when a cause reaches the `--fail-on` threshold with a finding no ignore entry accepts,
        whatever --severity shows."""
        return any(f.gating_severity is not None and f.gating_severity >= fail_on for f in self.findings)


@dataclass(frozen=True)
class Options:
    """How to read and what to show, beyond the image and the scan context."""

    selection: Selection = field(default_factory=Selection)
    ignore: list[IgnoreEntry] = field(default_factory=list)
    ignore_source: str = ""
    severities: frozenset[Severity] | None = None  # None: show every severity (what is shown never changes the gate)
    load: LoadSettings = field(default_factory=LoadSettings)  # worker processes, a fleet's verdict cache
    kinds: tuple[Kind[Any], ...] = ()  # kinds to read beyond the checks' (a listing's sections)


@dataclass(frozen=True)
class Loaded:
    """One image read: what `judge` needs, any number of times, without reading the image again."""

    opened: OpenedImage
    artefacts: Artefacts
    reuse: CheckReuse | None = field(default=None, repr=False)  # the checks' outcomes, for the next judgement


def scan(path: Path, context: ScanContext, checks: LoadedChecks, options: Options | None = None) -> ScanResult:
    """Open the image read-only and scan its Windows volume."""
    options = options or Options()
    with (
        young_collections_only(),
        doing("scanning", subject=str(path)),
        open_image(path, options.selection, checks.kinds.paths()) as opened,
    ):
        return scan_volume(opened, context, checks, options)


def scan_volume(opened: OpenedImage, context: ScanContext, checks: LoadedChecks, options: Options) -> ScanResult:
    """Read an opened image and judge it under one context (the unit tests call this with an in-memory volume)."""
    return judge(read(opened, checks, options.load, options.kinds), checks, context, options)


def read(
    opened: OpenedImage,
    checks: LoadedChecks,
    settings: LoadSettings | None = None,
    kinds: Iterable[Kind[Any]] = (),
    *,
    judged_often: bool = False,
) -> Loaded:
    """The kinds the checks need (with those they require, and `kinds` beyond them: a listing's sections),
    read from the image now and once; a kind no selected check needs is not read. A triage collection's
    report says whether it is partial, which the kinds every Windows has tell (`_image`): they are read too.
    `judged_often`: the read will be judged under many contexts (a fleet's hosts), so each check's outcome is
    kept for the judgements whose context agrees (imgscan.check_reuse); a single scan keeps none."""
    art = Artefacts(opened, checks.kinds, settings)
    partial = EVERY_WINDOWS_HAS if art.container in COLLECTIONS else ()
    art.load([*checks.reads(), *kinds, *partial])
    return Loaded(opened, art, CheckReuse() if judged_often else None)


def judge(loaded: Loaded, checks: LoadedChecks, context: ScanContext, options: Options | None = None) -> ScanResult:
    """Run the checks on one read under `context`, stamp the findings with the time policy, link, accept
    (ignore file) and order them, and assemble the report; the read is not changed. Judge while the image
    is open: the read's kinds may still hold handles into it."""
    options = options or Options()
    opened, art = loaded.opened, loaded.artefacts
    with doing("running the checks"):
        findings, inventory, errors, outcome = _run_checks(art, context, checks, loaded.reuse)
    stamped = [(f, _stamp(f, context)) for f in findings]
    findings = [f for _, f in stamped if f is not None]
    if context.host.deployed:
        _before_deployment(findings, context.host.deployed)
    warnings = _beyond_horizon([f for f, kept in stamped if kept is None], context)
    assign_identities(findings)
    correlate(findings)
    note_unjudged_causes(findings, _unjudged(checks, outcome, findings))
    report_inventory = _inventory(art, context, inventory, checks, outcome)
    if options.ignore:
        assert context.today is not None, "ignore entries expire against the day of the run"
        rule_ids = {rule.id for rule in checks.rules}
        warnings += apply_ignore(findings, options.ignore, options.ignore_source, context.today, rule_ids)
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
        "image": _image(opened, art),
        "as_of": context.as_of.isoformat(),
        "horizon_days": context.horizon_days,
        "target_firmware": _target_firmware(context),
        "host": host(art),
        "summary": summary(every),
        "findings": listed,
        "inventory": report_inventory,
        "errors": cast(
            list[ErrorEntry],
            checks.errors
            + [{"path": opened.info.path, "message": warning} for warning in opened.warnings]
            + art.errors()
            + errors,
        ),
        "warnings": warnings,
    }
    if filtered is not None:
        report["filtered"] = filtered
    printable, text = printable_encoded(report)  # names that are not valid Unicode (imgscan/undecodable.py)
    completed = sum(why is None for why in outcome.values())
    return ScanResult(report=cast(Report, printable), findings=findings, checks_completed=completed, report_json=text)


def _unjudged(checks: LoadedChecks, outcome: dict[str, str | None], findings: list[Finding]) -> dict[Rule, str]:
    """The rules that predict failures but could not judge this read, with why: their check did not run (not one
    that found nothing to judge), or it judged without a file that could not be read (`Finding.rests_on`)."""
    unjudged = {
        rule: why
        for check in checks.checks
        if (why := outcome.get(check.name)) and why != check.not_applicable
        for rule in check.rules
        if rule.predicts
    }
    owner = {rule.id: check for check in checks.checks for rule in check.rules}
    for finding in findings:
        if finding.rests_on and (check := owner.get(finding.rule.id)) is not None:
            why = f"judged without {', '.join(finding.rests_on)}, which could not be read"
            unjudged.update((rule, why) for rule in check.rules if rule.predicts and rule not in unjudged)
    return unjudged


def _beyond_horizon(dropped: list[Finding], context: ScanContext) -> list[str]:
    """A warning when failures the image holds start after --horizon: not findings (the policy drops them), but
    a clean verdict must not hide that the first one is a known day away (a reference image captured months
    before its catalogs expire)."""
    days = sorted((f.starts, f.rule.id) for f in dropped if f.starts is not None)
    if not days:
        return []
    first = days[0][0]
    rules = sorted({rule for day, rule in days if day == first})
    return [
        f"{len(days)} failure(s) start after the {context.horizon_days}-day horizon, the first on {first} "
        f"({', '.join(rules)}): --horizon {(first - context.as_of).days} reports it"
    ]


def _hidden(findings: list[Finding]) -> dict[str, int]:
    """The findings --severity left out, by their own severity, and those the ignore file accepted."""
    counts = {str(s): sum(f.effective_severity == s and not f.suppressed for f in findings) for s in reversed(Severity)}
    return counts | {"suppressed": sum(bool(f.suppressed) for f in findings)}


def _target_firmware(context: ScanContext) -> TargetFirmware:
    dbx = context.dbx
    return {
        "db": context.firmware.generation,
        "dbx": None
        if dbx is None
        else {"path": dbx.path, "sha256": dbx.sha256, "hashes": len(dbx.hashes), "certificates": list(dbx.names)},
    }


def _stamp(finding: Finding, context: ScanContext) -> Finding | None:
    """The time policy, applied once to every finding: a dated one gets its phase, and a rule with a
    `Timing` sets its severity by that phase (None: a finding that starts after the horizon, dropped)."""
    if finding.starts is None:
        return finding
    finding.phase = context.phase(finding.starts)
    timing = finding.rule.timing
    if timing is None:
        return finding
    severity = timing.severity(finding.phase)
    if severity is None:
        return None
    finding.severity = severity
    return finding


def _before_deployment(findings: list[Finding], deployed: date) -> None:
    """A fleet host deployed from the image on `deployed` did not live what the image's logs show before that
    day: the machine the image was captured from did (imgscan.hosts). Such a log finding stays, since it
    confirms a prediction, but at info and saying so; one the log shows on or after that day (the image is the
    host's own capture) or at no time keeps its severity."""
    day = deployed.isoformat()
    for finding in findings:
        if finding.rule.observes_logs and finding.observed and finding.observed[:10] < day:
            finding.severity = Severity.INFO
            finding.message += (
                f" This host was deployed on {day}: the log shows the machine the image was captured from, not this host."
            )


def _run_checks(
    art: Artefacts, scan: ScanContext, loaded: LoadedChecks, reuse: CheckReuse | None
) -> tuple[list[Finding], dict[str, list[dict[str, object]]], list[dict[str, str]], dict[str, str | None]]:
    """Every check that has something to judge; returns findings, inventory sections, errors, and per
    check None when it completed or why it did not. With `reuse`, a check whose facts of the context agree
    with an earlier judgement of the read is not run again (imgscan.check_reuse)."""
    findings: list[Finding] = []
    inventory: dict[str, list[dict[str, object]]] = {}
    errors: list[dict[str, str]] = []
    outcome: dict[str, str | None] = {}
    for check in loaded.checks:
        done = reuse.find(check, scan) if reuse else None
        if done is None:
            done = _run_check(check, art, scan, recorded=reuse is not None)
            if reuse:
                reuse.keep(check, done)
            records = done.records
        else:
            records = done.handed_out()
        for record in records:
            if isinstance(record, InventoryItem):
                inventory.setdefault(record.section, []).append(record.item)
            else:
                findings.append(record)
        if done.error:
            errors.append(done.error)
        outcome[check.name] = done.why
    return findings, inventory, errors, outcome


def _run_check(check: Check, art: Artefacts, scan: ScanContext, *, recorded: bool) -> Outcome:
    """Run one check; `recorded`: under a recorder of what it reads of the scan context, for reuse (a single
    scan's checks read the context directly: nothing will compare their facts)."""
    recorder = Recorder(scan) if recorded else None
    context = CheckContext(art, cast(ScanContext, recorder) if recorder else scan, check.reads())
    facts = recorder.facts if recorder else {}
    absent = check.absent(context)
    if absent or not check.applies(context):
        return Outcome(facts, why=absent or check.not_applicable)
    done = Outcome(facts)
    try:
        for record in check.run(context):
            done.records.append(record)
    except Exception as exc:  # a crashing check must not lose the other findings
        log.debug("check %s crashed", check.name, exc_info=True)
        done.why = f"crashed: {type(exc).__name__}"
        done.error = crash_error(check.name, f"{type(exc).__name__}: {exc}")
    return done


def _image(opened: OpenedImage, art: Artefacts) -> ImageInfo:
    info = opened.info
    image: ImageInfo = {"path": info.path, "sha256": info.sha256, "format": info.format}
    if opened.parents:
        image["parents"] = [{"path": p.path, "sha256": p.sha256, "format": p.format} for p in opened.parents]
    if "wim" in opened.details:
        image["wim"] = opened.details["wim"]
    if "loader" in opened.details:
        image["loader"] = opened.details["loader"]
    if art.container in COLLECTIONS:  # what a responder must collect again for the checks it lacked
        lacks = art.collection_lacks()
        image["collection"] = {"partial": bool(lacks), "lacking": lacks}
    return image


def _inventory(
    art: Artefacts,
    scan: ScanContext,
    sections: dict[str, list[dict[str, object]]],
    loaded: LoadedChecks,
    outcome: dict[str, str | None],
) -> Inventory:
    """The loaded kinds' sections, then what each check did, then the sections checks add (e.g. wintrust),
    in name order."""
    checks = [_check_run(c.name, outcome) for c in loaded.checks]
    kinds = art.inventory(CheckContext(art, scan, art.loaded))  # stamped under the scan context
    # each kind and check serialises its own sections (typed in imgscan.report; tests/unit validates them)
    return cast(Inventory, {**kinds, "checks": checks, **dict(sorted(sections.items()))})


def _check_run(name: str, outcome: dict[str, str | None]) -> CheckRun:
    """What one check did: completed, or why it was skipped (a crash is an `errors` entry instead)."""
    run: CheckRun = {"check": name, "completed": outcome.get(name, "") is None}
    why = outcome.get(name)
    if why and not why.startswith("crashed"):
        run["skipped"] = why
    return run
