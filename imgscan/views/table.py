"""The `table` view of a scan report, for a person at a terminal: each cause with its evidence and fix, the
findings it causes under it, then the summary and the errors.

Like every view it is a pure function of the report dict, so every format shows the same facts.
"""

from __future__ import annotations

import textwrap
from collections.abc import Mapping, Sequence

from imgscan.report import FindingJson, ImageInfo, Report
from imgscan.views.columns import WIDTH, plain
from imgscan.views.completeness import hidden_line, incomplete, shown_severities, summary_words

# evidence fields left to the JSON report: long, or already said in the message
# (undefined_bits: State bits no Windows header documents, listed in the JSON for the curious)
TABLE_HIDDEN = {"path", "options", "account", "predicted_errors", "reason", "sha256", "key", "undefined_bits"}


def _collection(image: ImageInfo) -> str:
    """`, collection (partial)` for a triage collection that lacks files every Windows has."""
    collection = image.get("collection")
    return "" if collection is None else f", collection{' (partial)' if collection['partial'] else ''}"


def to_table(report: Report) -> str:
    """The report for a terminal. Its last lines are what a person reads first: the summary says "clean" only
    for a whole scan, and names a crashed check instead, since the run then exits 3 whatever it found."""
    image = report["image"]
    host = report.get("host") or {}
    loader = image.get("loader")  # the dissect loader of a VM export or collection, when the format does not say it
    via = (f" via {loader}" if loader and loader != image["format"] else "") + _collection(image)
    lines = [
        f"imgscan {report['imgscan']}  {image['path']}  ({image['format']}{via}, sha256 {image['sha256'][:16]}…)",
        f"host {host.get('name') or '?'}  ·  {host.get('os') or 'unknown Windows'}  ·  as of {report['as_of']}",
        "",
    ]
    findings = report["findings"]
    # the --severity that hid findings: "no findings" would contradict the summary below, which counts them
    hiding = shown_severities(report)
    missing = incomplete(report)  # a crashed check: "No findings." alone would read as a healthy image
    if not findings:
        shown = f"No findings at --severity {hiding}" if hiding else "No findings"
        lines.append(f"{shown} from the checks that finished: {missing}." if missing else f"{shown}.")
    fixes_shown: dict[str, str] = {}  # remediation text -> the rule that printed it first
    listed = {f["id"]: f for f in findings if "id" in f}
    for finding in findings:
        if finding.get("caused_by") in listed:
            continue  # printed under its cause
        lines += _finding_lines(finding, fixes_shown) + [""]
        consequences = [listed[i] for i in finding.get("explains", []) if i in listed]
        if consequences:
            lines.append(f"  causes {len(consequences)} more finding(s), counted with it:")
            for consequence in consequences:
                lines += ["    " + line for line in _finding_lines(consequence, fixes_shown, WIDTH - 4)] + [""]
    hives = report["inventory"].get("hives", [])
    if hidden := hidden_line(report):  # the summary counts what --severity hid too, each cause once: say so
        every = summary_words(report)
        lines.append(f"Read {len(hives)} hive(s); summary of every finding, each cause counted once: {every}")
        lines.append(hidden)
    else:
        lines.append(f"Read {len(hives)} hive(s); summary: " + summary_words(report) + _counted_with_cause(findings))
    for error in report["errors"]:
        lines.append(f"error: {error['path']}: {error['message']}")
    return "\n".join(lines) + "\n"


def severity_label(finding: FindingJson) -> str:
    """The severity column: what the finding gates at; an accepted one says so, with its own severity."""
    if finding.get("suppressed"):
        return f"SUPPRESSED ({finding['severity']})"
    return str(finding.get("gating_severity") or finding["severity"]).upper()


def _finding_lines(finding: FindingJson, fixes_shown: dict[str, str], width: int = WIDTH) -> list[str]:
    evidence: Mapping[str, object] = finding["evidence"][0] if finding["evidence"] else {}
    where = evidence.get("path", "")
    head = f"{severity_label(finding):<8} {finding['rule']}  {where}"
    head += f"  ({_when(finding, evidence)})"
    if finding.get("hresult"):
        head += f"  {finding['hresult']}"
    out = [head]
    gating, own = finding.get("gating_severity"), finding["severity"]
    if finding.get("suppressed"):
        accepted = finding["suppressed"]
        until = f" (until {accepted['expires']})" if accepted.get("expires") else ""
        entry = f" entry {accepted['entry']}" if accepted.get("entry") else ""
        out.append(f"  accepted by {accepted.get('source') or 'the ignore file'}{entry}: {accepted['reason']}{until}")
        if gating:
            out.append(f"  still gates as {gating}: a finding it causes is not accepted")
    elif gating and gating != own:
        out.append(f"  gates as {gating} through a finding it causes (its own severity: {own})")
    out += textwrap.wrap(finding["message"], width, initial_indent="  ", subsequent_indent="  ")
    for item in finding["evidence"]:
        hidden = TABLE_HIDDEN | ({"status"} if "status_as_of" in item else set())  # the as-of word says it
        details = {k: v for k, v in item.items() if k not in hidden}
        line = "evidence: " + item.get("path", "") + "  " + ", ".join(f"{k}={plain(v)}" for k, v in details.items())
        out += textwrap.wrap(line, width, initial_indent="  ", subsequent_indent="      ", break_on_hyphens=False)
    for link in finding.get("confirmed_by", []):
        where = f"line {link['line']}" if "line" in link else f"record {link.get('record')}"
        out.append(f"  confirmed by {link['rule']}: {link['path']} {where}")
    if finding.get("explained_by"):
        out.append(f"  predicted by: {', '.join(finding['explained_by'])}")
    remediation = str(finding["remediation"])
    if remediation in fixes_shown:  # one account's .reg fix, printed once
        out.append(f"  fix: the same as for {fixes_shown[remediation]} above")
    else:
        fixes_shown[remediation] = str(finding["rule"])
        out.append("  fix:")
        out += ["    " + line for line in remediation.splitlines()]
    return out


def _counted_with_cause(findings: Sequence[FindingJson]) -> str:
    """Why the summary's counts add up to fewer than the findings listed: a consequence counts through its cause
    (imgscan.gate.summary), so it is not in the counts a second time."""
    linked = sum(bool(f.get("caused_by")) for f in findings)
    if not linked:
        return ""
    if linked == 1:
        return " (1 more finding is not counted again: it follows from a cause counted here)"
    return f" ({linked} more findings are not counted again: each follows from a cause counted here)"


def _when(finding: FindingJson, evidence: Mapping[str, object]) -> str:
    """From when the finding holds: the day a prediction starts, the day a log first shows it, the
    day a setting was written, or, undated, when its rule says it hits ("at every boot with Secure Boot on")."""
    if finding.get("starts"):
        return f"from {finding['starts']}"
    if observed := finding.get("observed"):  # UTC ends in Z; a text log's time is the host's own clock
        return f"seen {observed}" + ("" if observed.endswith("Z") else " host local time")
    if evidence.get("last_written"):
        return f"since {evidence['last_written']}"
    return str(finding.get("hits") or "undated")
