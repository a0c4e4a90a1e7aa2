"""`imgscan diff OLD NEW`: what image n+1 changes compared with image n.

Either side is an image (scanned with the same options) or a report saved with
`--format json`. Findings are matched by identity (rule and subject, the JSON
`id`; computed the same way for a report saved before it had one), so a
rebuilt image with the same problem shows it as unchanged, not as new, and two
findings that differ only by subject stay two. New findings gate once per cause, and so
does a finding of both whose severity rose to --fail-on (an expiry that was "soon" in
the old report and is failing in the new one). A finding of both that starts earlier at
the same severity is worsened too, one with a lower severity or a later day improved, and
unchanged means the same severity and day.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TypedDict, cast

from imgscan.check import Rule, Severity, distinct, identity
from imgscan.errors import ImgscanError, NotAnImage
from imgscan.report import FindingJson, Report, differs


def is_saved_report(path: Path) -> bool:
    """Whether a side of a diff is a saved report (read as it is) rather than an image (scanned now)."""
    return path.is_file() and path.suffix.lower() == ".json"


def load_side(path: Path, scan: Callable[[Path], Report]) -> Report:
    if is_saved_report(path):
        try:
            report = json.loads(path.read_text(encoding="utf-8"))
        except OSError as exc:
            raise ImgscanError(str(path), f"cannot be read: {exc.strerror or exc}") from exc
        except UnicodeDecodeError as exc:  # a binary file, or a report re-saved in another encoding
            raise ImgscanError(str(path), "not an imgscan JSON report: not UTF-8 text", "save one with --format json") from exc
        except json.JSONDecodeError as exc:  # cut short (a copy that stopped) or edited by hand
            said = exc.msg[0].lower() + exc.msg[1:]  # "Expecting value", "Unterminated string starting at"
            where = f"{said}{'' if said.endswith(' at') else ' at'} line {exc.lineno}, column {exc.colno}"
            raise ImgscanError(str(path), f"not an imgscan JSON report: not valid JSON ({where})") from exc
        if isinstance(report, dict) and "updates" in report and "findings" not in report:
            raise ImgscanError(str(path), "is a preflight report, not a scan's", "save the image's scan with --format json")
        if not isinstance(report, dict) or "findings" not in report or "inventory" not in report:
            raise ImgscanError(str(path), "not an imgscan report (no findings/inventory)", "save one with --format json")
        # checked as the report's schema checks it: a field edited by hand (a severity imgscan has not, a finding
        # without its rule) would otherwise stop the comparison as an internal error, or pass unnoticed
        if problem := differs(report):
            raise ImgscanError(
                str(path), f"not a report as imgscan saves it: {problem}", "save the scan again with --format json"
            )
        hidden = sum(int(n) for n in ((report.get("filtered") or {}).get("hidden") or {}).values())
        if hidden:  # compared as they are, the findings it left out would show as resolved, or not as new
            raise ImgscanError(
                str(path), f"was saved with --severity, which left {hidden} finding(s) out of it", "save it without --severity"
            )
        # a `Report` by the check above; one an older version saved passes it when what was added since is `NotRequired`
        return cast(Report, report)
    try:
        return scan(path)
    except NotAnImage as exc:  # a report saved under another name, an HTML view...: say what diff takes
        advice = "diff compares images, or reports saved with --format json in files named .json"
        raise NotAnImage(exc.path, exc.problem, advice) from exc


class DiffSide(TypedDict):
    path: str
    sha256: str
    as_of: str


class MovedCatalog(TypedDict):
    path: str
    old_valid_until: str | None
    new_valid_until: str | None


class Worsened(TypedDict):
    """A finding of both sides that got worse (in `worsened`: a higher own severity, or the same one from an
    earlier day) or better (in `improved`): the new finding, and what it was."""

    finding: FindingJson
    old_severity: str
    old_phase: str | None
    old_starts: str | None


class DiffResult(TypedDict):
    """What `imgscan diff` reports (its JSON output, and what the table view shows)."""

    old: DiffSide
    new: DiffSide
    new_findings: list[FindingJson]
    resolved: list[FindingJson]
    unchanged: list[FindingJson]
    worsened: list[Worsened]
    improved: list[Worsened]
    packages_added: list[str]
    packages_removed: list[str]
    catalogs_moved: list[MovedCatalog]
    gating: int
    fail_on: str


def _identities(findings: Sequence[FindingJson], rules: dict[str, Rule]) -> dict[str, FindingJson]:
    """{identity: finding} as this version gives them, also for a report saved by an older one (without `id`,
    or with an identity since made stabler); the saved `id`s only when a rule is not loaded here."""
    if all("id" in f for f in findings) and not all(f["rule"] in rules for f in findings):
        return {f["id"]: f for f in findings}
    keys = distinct(identity(f, rules.get(f["rule"])) for f in findings)
    return dict(zip(keys, findings, strict=True))


def _side(report: Report) -> DiffSide:
    return {"path": report["image"]["path"], "sha256": report["image"]["sha256"], "as_of": report["as_of"]}


def diff_reports(old: Report, new: Report, fail_on: Severity, rules: Sequence[Rule] = ()) -> DiffResult:
    known = {rule.id: rule for rule in rules}
    before = _identities(old["findings"], known)
    after = _identities(new["findings"], known)
    added = [after[k] for k in after if k not in before]
    old_packages = {p["identity"] for p in old["inventory"].get("packages", [])}
    new_packages = {p["identity"] for p in new["inventory"].get("packages", [])}
    old_until = {c["path"].lower(): c for c in old["inventory"].get("catalogs", []) if "valid_until" in c}
    moved: list[MovedCatalog] = [
        {"path": c["path"], "old_valid_until": old_until[c["path"].lower()]["valid_until"], "new_valid_until": c["valid_until"]}
        for c in new["inventory"].get("catalogs", [])
        if c["path"].lower() in old_until
        and "valid_until" in c
        and old_until[c["path"].lower()]["valid_until"] != c["valid_until"]
    ]
    rose = [k for k in after if k in before and _worse(after[k], before[k])]
    fell = [k for k in after if k in before and _worse(before[k], after[k])]
    # a new finding gates once for its cause when its group reaches --fail-on (and no ignore entry accepts it),
    # and a finding of both sides when its own severity rose to --fail-on: the old report did not gate on it
    gating = {
        f.get("caused_by") or key
        for key, f in after.items()
        if not f.get("suppressed")
        and ((key not in before and _gates_at(f) >= fail_on) or (key in rose and _level(f) >= fail_on > _level(before[key])))
    }
    return {
        "old": _side(old),
        "new": _side(new),
        "new_findings": added,
        "resolved": [before[k] for k in before if k not in after],
        "unchanged": [after[k] for k in after if k in before and k not in rose and k not in fell],
        "worsened": [_was(after[k], before[k]) for k in rose],
        "improved": [_was(after[k], before[k]) for k in fell],
        "packages_added": sorted(new_packages - old_packages),
        "packages_removed": sorted(old_packages - new_packages),
        "catalogs_moved": moved,
        "gating": len(gating),
        "fail_on": str(fail_on),
    }


def _was(new: FindingJson, old: FindingJson) -> Worsened:
    return {"finding": new, "old_severity": str(_level(old)), "old_phase": old.get("phase"), "old_starts": old["starts"]}


def _worse(new: FindingJson, old: FindingJson) -> bool:
    """Whether a finding of both sides got worse: a higher own severity, or at the same severity a failure that
    starts earlier (wmic qfe empty from June instead of October). Own severity, not what its group gates at: a
    consequence that moves from one cause to another between two builds (the package that empties wmic qfe
    first, once the earlier one is fixed) would make its new cause look worse while nothing about it changed;
    the consequence is a finding of both sides itself, compared on its own."""
    if _level(new) != _level(old):
        return _level(new) > _level(old)
    return bool(new["starts"] and old["starts"] and new["starts"] < old["starts"])


def _level(finding: FindingJson) -> Severity:
    """A finding's own severity."""
    return Severity.parse(finding["severity"])


def _gates_at(finding: FindingJson) -> Severity:
    """What a new finding gates at: a cause at the worst of its group (the table's severity column)."""
    return Severity.parse(finding.get("gating_severity") or finding["severity"])
