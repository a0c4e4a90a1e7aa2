"""The preflight report as SARIF 2.1.0: one rule per reason code, one result per update and reason.

A result is an error for an update that will not install, a warning for a reason that starts within the
horizon (the update installs today), and a note where the update does not apply or is already there. Its
location is the update file; its partial fingerprint is the update's package identity and the reason code
(with a number when one update gives the same code twice), the same in every run, so a dashboard keeps one
alert per update and reason and sees it go when the image is fixed. The envelope is the scan's
(`imgscan.views.sarif.sarif_log`).
"""

from __future__ import annotations

from collections import Counter
from pathlib import PurePath, PurePosixPath, PureWindowsPath
from typing import Any

from imgscan.check import Rule, Severity
from imgscan.preflight.report import PreflightReport, ReasonJson, UpdateJson
from imgscan.views.sarif import Invocation, rule_entry, sarif_log

RULE_PREFIX = "preflight/"  # SARIF's hierarchical ids: apart from the scan's rules, grouped together


def _level(update: UpdateJson, later: bool) -> str:
    if later:
        return "warning"
    return "error" if update["status"] == "will-not-install" else "note"


def _uri(path: str) -> str:
    """The update file as a URI reference: file:// for an absolute path, a relative reference otherwise."""
    given = PureWindowsPath(path) if "\\" in path else PurePosixPath(path)
    return given.as_uri() if given.is_absolute() else given.as_posix()


def _rule(code: str, reasons: list[ReasonJson], blocks: bool) -> Rule:
    first = reasons[0]
    references = tuple(dict.fromkeys(ref for r in reasons for ref in r["references"]))
    hresults = tuple(sorted({r["hresult"] for r in reasons if r["hresult"]}))
    severity = Severity.HIGH if blocks else Severity.LOW
    return Rule(RULE_PREFIX + code, severity, first["title"], first["title"] + ".", references, hresults)


def to_preflight_sarif(report: PreflightReport) -> str:
    results: list[dict[str, object]] = []
    by_code: dict[str, list[ReasonJson]] = {}
    blocking: set[str] = set()
    for update in report["updates"]:
        subject = (update["identity"] or PurePath(update["file"]).name).lower()
        seen: Counter[str] = Counter()
        for later, reason in [(False, r) for r in update["reasons"]] + [(True, r) for r in update["later"]]:
            code = reason["code"]
            by_code.setdefault(code, []).append(reason)
            if update["status"] == "will-not-install" and not later:
                blocking.add(code)
            seen[code] += 1
            results.append(_result(update, reason, later, f"{subject}|{code}" + (f"#{seen[code]}" if seen[code] > 1 else "")))
    codes = sorted(by_code)
    index = {RULE_PREFIX + code: n for n, code in enumerate(codes)}
    for result in results:
        result["ruleIndex"] = index[str(result["ruleId"])]
    rules = [rule_entry(_rule(code, by_code[code], code in blocking)) for code in codes]
    return sarif_log(report, rules, results, None, _unread(report))


def _unread(report: PreflightReport) -> Invocation:
    """Update files that could not be read: the results judge the others only, so the run did not succeed (it
    exits 2) and each is an error notification, not the warning a dashboard of errors would pass over."""
    unread = report["errors"][: report["unreadable_updates"]]
    return Invocation(
        successful=not unread,
        notifications=[{"level": "error", "message": {"text": f"{e['path']}: {e['message']}"}} for e in unread],
        told={e["path"] for e in unread},
    )


def _result(update: UpdateJson, reason: ReasonJson, later: bool, fingerprint: str) -> dict[str, object]:
    name = PurePath(update["file"]).name
    properties: dict[str, Any] = {
        "status": update["status"],
        "kb": update["kb"],
        "identity": update["identity"],
        "hresult": reason["hresult"],
        "starts": reason["starts"],
        "fix": reason["fix"],
        "evidence": reason["evidence"],
    }
    return {
        "ruleId": RULE_PREFIX + reason["code"],
        "level": _level(update, later),
        "message": {"text": f"{name} {update['kb'] or ''}: {reason['message']}".replace("  ", " ")},
        "locations": [{"physicalLocation": {"artifactLocation": {"uri": _uri(update["file"])}}}],
        "partialFingerprints": {"imgscan-preflight/v1": fingerprint},
        "properties": properties,
    }
