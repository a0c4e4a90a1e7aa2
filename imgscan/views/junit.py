"""JUnit XML: one test case per rule x host, failing when the rule found something at or above --fail-on.

CI systems (GitLab, Azure Pipelines, Jenkins) show these natively: a failed case
names the rule and carries each finding's message; findings below the threshold
or accepted in the ignore file leave the case passing, with them in its output.
A consequence fails no case of its own: its root cause's case fails for it (at
the group's severity), as the exit code counts it; causes hidden by --severity
fail one extra case, so the JUnit view and the exit code agree.

A case passes only when its rule was judged: the cases of a check that crashed are in error (its findings
are missing, and the run exits 3), those of a check skipped for a reason (no partitions in a WIM) are
skipped with it. The suite's `errors` counts the cases in error; the report's other errors are its
system-err.
"""

from __future__ import annotations

from collections.abc import Sequence
from xml.etree import ElementTree

from imgscan.check import Check, Severity
from imgscan.gate import CRASH_PATH, gating
from imgscan.report import FindingJson, Report
from imgscan.views.completeness import crash_sentence, crashes, hidden_gates, skipped


def to_junit(report: Report, checks: Sequence[Check], fail_on: Severity) -> str:
    """One suite for the scan, a case per rule of the loaded `checks` (the check that reports a rule says
    whether it was skipped or crashed); its failed and errored cases are exactly why `imgscan scan` does not
    exit 0."""
    host = (report.get("host") or {}).get("name") or report["image"]["path"]
    suite = ElementTree.Element(
        "testsuite", name=f"imgscan {report['image']['path']}", timestamp=f"{report['as_of']}T00:00:00"
    )  # xs:dateTime: the day judged, at its start
    failures = errors = skips = 0
    gates = gating(report["findings"], fail_on)
    broken, unjudged = crashes(report), skipped(report)
    for check, rule in ((c.name, r) for c in checks for r in c.rules):
        findings = [f for f in report["findings"] if f["rule"] == rule.id]
        gating_here = [f for f in gates if f["rule"] == rule.id]
        case = ElementTree.SubElement(suite, "testcase", classname=f"imgscan.{host}", name=rule.id)
        if check in unjudged and not findings:  # JUnit's order: skipped, error, failure, then the output
            skips += 1
            ElementTree.SubElement(case, "skipped", message=f"check {check} skipped: {unjudged[check]}")
        if check in broken:
            errors += 1
            ElementTree.SubElement(case, "error", message=crash_sentence(check, broken[check]), type="crashed")
        if gating_here:
            failures += 1
            failure = ElementTree.SubElement(
                case,
                "failure",
                message=f"{len(gating_here)} finding(s): {gating_here[0]['message'][:300]}",
                type=str(gating_here[0]["gating_severity"] or gating_here[0]["severity"]),
            )
            failure.text = "\n\n".join(_details(f) for f in gating_here)
        other = [f for f in findings if f not in gating_here]
        if other:
            ElementTree.SubElement(case, "system-out").text = "\n\n".join(_details(f) for f in other)
    hidden = hidden_gates(report, fail_on)
    if hidden > 0:  # causes --severity left out still fail the run: say so where CI looks
        failures += 1
        case = ElementTree.SubElement(suite, "testcase", classname=f"imgscan.{host}", name="hidden by --severity")
        ElementTree.SubElement(
            case, "failure", message=f"{hidden} finding(s) at or above {fail_on} not shown by --severity", type=str(fail_on)
        )
    cased = {c.name for c in checks if c.rules}
    for check in [c for c in broken if c not in cased]:  # a crashed check none of whose rules is here
        errors += 1
        case = ElementTree.SubElement(suite, "testcase", classname=f"imgscan.{host}", name=f"check {check}")
        ElementTree.SubElement(case, "error", message=crash_sentence(check, broken[check]), type="crashed")
    told = {CRASH_PATH + check for check in broken}
    others = [f"{e['path']}: {e['message']}" for e in report["errors"] if e["path"] not in told]
    if others:
        ElementTree.SubElement(suite, "system-err").text = "\n".join(others)
    suite.set("tests", str(len(suite.findall("testcase"))))
    suite.set("failures", str(failures))
    suite.set("errors", str(errors))
    suite.set("skipped", str(skips))
    return document(suite)


def document(suite: ElementTree.Element) -> str:
    """The JUnit XML file of one test suite (scan or preflight), as CI systems read it."""
    root = ElementTree.Element("testsuites")
    root.append(suite)
    ElementTree.indent(root)
    return '<?xml version="1.0" encoding="utf-8"?>\n' + ElementTree.tostring(root, encoding="unicode") + "\n"


def _details(finding: FindingJson) -> str:
    paths = ", ".join(str(e.get("path")) for e in finding["evidence"][:5])
    state = f" (suppressed: {finding['suppressed']['reason']})" if finding.get("suppressed") else ""
    if finding.get("caused_by"):
        state += f" (caused by {finding['caused_by']}, which gates for it)"
    elif finding.get("gating_severity") and finding["gating_severity"] != finding["severity"]:
        state += f" (gates as {finding['gating_severity']} through the findings it causes)"
    return (
        f"[{finding['severity']}] {finding['message']}{state}\nevidence: {paths}\n"
        f"starts: {finding['starts'] or '-'}  observed: {finding.get('observed') or '-'}  hresult: {finding['hresult'] or '-'}\n"
        f"fix: {finding['remediation']}"
    )
