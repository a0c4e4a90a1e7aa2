"""SARIF 2.1.0: one rule per imgscan rule, one result per finding, evidence paths as locations.

Locations are relative to the Windows volume of the scanned image, named by the
`IMAGEROOT` base id, so code-scanning dashboards show `Users/nfury/NTUSER.DAT`;
log evidence adds its line. Findings accepted in the ignore file carry a SARIF
suppression with the reason, as SARIF consumers expect, instead of vanishing.
Each result's partial fingerprint is the finding's identity, distinct within a
run and the same across runs, so code scanning neither merges nor renews alerts.

The invocation says what the results cannot: a crashed check makes it unsuccessful, with an error
notification naming the check (its findings are missing, and `imgscan scan` exits 3), and findings that
--severity left out are a notification and counts in its properties (they still count for --fail-on).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from imgscan.check import Rule, Severity
from imgscan.gate import CRASH_PATH, unaccepted
from imgscan.report import Evidence, FindingJson, Report
from imgscan.views.completeness import crash_sentence, crashes, hidden_gates, hidden_line
from imgscan.views.json_view import to_json

if TYPE_CHECKING:
    from imgscan.preflight.report import PreflightReport

LEVEL = {"critical": "error", "high": "error", "medium": "warning", "low": "note", "info": "note"}
SECURITY_SEVERITY = {"critical": "9.5", "high": "8.0", "medium": "5.5", "low": "3.0", "info": "0.0"}
SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"


def rule_entry(rule: Rule) -> dict[str, object]:
    """The SARIF reportingDescriptor of one rule."""
    urls = [r for r in rule.references if r.startswith("http")]
    help_text = rule.summary + ("\n\nReferences:\n" + "\n".join(f"- {r}" for r in rule.references) if rule.references else "")
    entry: dict[str, object] = {
        "id": rule.id,
        "name": "".join(part.capitalize() for part in rule.id.split("-")),
        "shortDescription": {"text": rule.title},
        "fullDescription": {"text": rule.summary},
        "help": {"text": help_text, "markdown": help_text},
        "defaultConfiguration": {"level": LEVEL[str(rule.severity)]},
        "properties": {
            "tags": ["windows-update", "golden-image"],
            "security-severity": SECURITY_SEVERITY[str(rule.severity)],
            "predicts": list(rule.predicts),
        },
    }
    if urls:
        entry["helpUri"] = urls[0]
    return entry


def _location(evidence: Evidence) -> dict[str, object]:
    path = str(evidence.get("path", "")).split("|")[0].replace("\\", "/")
    physical: dict[str, object] = {"artifactLocation": {"uri": path, "uriBaseId": "IMAGEROOT"}}
    line = evidence.get("line")
    if isinstance(line, int):
        physical["region"] = {"startLine": line}
    return {"physicalLocation": physical}


def _cause(finding: FindingJson) -> dict[str, object]:
    """One result per finding; a consequence names its root cause (through which it gates), a root the
    severity it gates at and what it explains, so a dashboard can count causes as --fail-on does."""
    if finding.get("caused_by"):
        return {"causedBy": finding["caused_by"]}
    linked: dict[str, object] = {"gatingSeverity": finding.get("gating_severity")}
    if finding.get("explains"):
        linked["explains"] = finding["explains"]
    return linked


def to_sarif(report: Report, rules: list[Rule], fail_on: Severity | None = None) -> str:
    """The SARIF log of a scan. `fail_on` tells whether findings --severity hid fail the gate (a warning) or
    not (a note); without it, any hidden finding the ignore file does not accept might, so it is a warning."""
    used = sorted({f["rule"] for f in report["findings"]})
    known = {r.id: r for r in rules}
    listed = [known[r] for r in used if r in known] + [r for r in rules if r.id not in used]
    index = {r.id: n for n, r in enumerate(listed)}
    results = []
    for finding in report["findings"]:
        result: dict[str, object] = {
            "ruleId": finding["rule"],
            "level": LEVEL[finding["severity"]],
            "message": {"text": finding["message"]},
            "locations": [_location(e) for e in finding["evidence"] if e.get("path")][:10],
            # the finding's identity (rule and subject), the same in every run and container format; v1 was the
            # rule and first evidence path, which merged findings that differ only by subject
            "partialFingerprints": {"imgscan/v2": finding["id"]},
            "properties": {
                "severity": finding["severity"],
                "starts": finding["starts"],
                "observed": finding.get("observed"),
                "hresult": finding["hresult"],
                "remediation": finding["remediation"],
            }
            | _cause(finding),
        }
        if finding["rule"] in index:
            result["ruleIndex"] = index[finding["rule"]]
        if finding.get("suppressed"):
            result["suppressions"] = [{"kind": "external", "justification": finding["suppressed"]["reason"]}]
        results.append(result)
    image = report["image"]
    base: dict[str, object] = {"IMAGEROOT": {"description": {"text": f"the Windows volume of {image['path']}"}}}
    invocation = Invocation()
    _crashes(report, invocation)
    _hidden(report, fail_on, invocation)
    return sarif_log(report, [rule_entry(r) for r in listed], results, base, invocation)


@dataclass
class Invocation:
    """What a run's results cannot show, for its SARIF invocation: a dashboard reads the results alone."""

    successful: bool = True  # False when the results are not all the run would have found
    notifications: list[dict[str, object]] = field(default_factory=list)  # before the report's errors
    properties: dict[str, object] = field(default_factory=dict)
    told: set[str] = field(default_factory=set)  # paths of `errors` entries the notifications already tell


def _crashes(report: Report, invocation: Invocation) -> None:
    """The crashed checks: the run was not successful, and each is an error notification in place of the
    warning its `errors` entry would be (a warning read as a pass on dashboards that show only errors)."""
    for name, reason in crashes(report).items():
        invocation.successful = False
        text = crash_sentence(name, reason)
        invocation.notifications.append({"level": "error", "message": {"text": text}, "properties": {"check": name}})
        invocation.told.add(CRASH_PATH + name)


def _hidden(report: Report, fail_on: Severity | None, invocation: Invocation) -> None:
    """What --severity left out of the results: a notification (a warning when it still fails the gate, else a
    note) and its counts in the invocation's properties, so a dashboard of 3 results does not pass for a run of 8."""
    filtered, line = report.get("filtered"), hidden_line(report)
    if not filtered or not line:
        return
    invocation.properties |= {"severitiesShown": filtered["severities"], "hidden": filtered["hidden"]}
    if fail_on is None:
        gates = unaccepted(filtered["hidden"]) > 0
    else:
        invocation.properties["hiddenGating"] = count = hidden_gates(report, fail_on)
        gates = count > 0
        line += f"; {count} cause(s) among them at or above --fail-on {fail_on}" if gates else ""
    invocation.notifications.append({"level": "warning" if gates else "note", "message": {"text": line}})


def sarif_log(
    report: Report | PreflightReport,
    rules: list[dict[str, object]],
    results: list[dict[str, object]],
    base: dict[str, object] | None,
    invocation: Invocation | None = None,
) -> str:
    """The SARIF log of one imgscan run (scan or preflight): the tool and its rules, the report's errors as
    notifications (after what `invocation` tells that the results do not), the results, and the image, day
    and host they are about."""
    told = invocation or Invocation()
    notes = told.notifications + [
        {"level": "warning", "message": {"text": f"{e['path']}: {e['message']}"}}
        for e in report["errors"]
        if e["path"] not in told.told
    ]
    ran: dict[str, object] = {"executionSuccessful": told.successful, "toolExecutionNotifications": notes}
    if told.properties:
        ran["properties"] = told.properties
    run: dict[str, object] = {"tool": {"driver": {"name": "imgscan", "version": report["imgscan"], "rules": rules}}}
    if base:
        run["originalUriBaseIds"] = base
    run |= {
        "invocations": [ran],
        "results": results,
        "properties": {"image": report["image"], "as_of": report["as_of"], "host": report["host"]},
    }
    return to_json({"$schema": SCHEMA, "version": "2.1.0", "runs": [run]})
