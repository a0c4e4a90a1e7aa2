"""JUnit XML: one test case per rule x host, failing when the rule found something at or above --fail-on.

CI systems (GitLab, Azure Pipelines, Jenkins) show these natively: a failed case
names the rule and carries each finding's message; findings below the threshold
or accepted in the ignore file leave the case passing, with them in its output.
A consequence fails no case of its own: its root cause's case fails for it (at
the group's severity), as the exit code counts it; causes hidden by --severity
fail one extra case, so the JUnit view and the exit code agree.
"""

from __future__ import annotations

from xml.etree import ElementTree

from imgscan.check import Rule, Severity
from imgscan.gate import gating, summary_gates
from imgscan.report import FindingJson, Report


def to_junit(report: Report, rules: list[Rule], fail_on: Severity) -> str:
    host = (report.get("host") or {}).get("name") or report["image"]["path"]
    suite = ElementTree.Element(
        "testsuite", name=f"imgscan {report['image']['path']}", timestamp=f"{report['as_of']}T00:00:00"
    )  # xs:dateTime: the day judged, at its start
    failures = 0
    gates = gating(report["findings"], fail_on)
    for rule in rules:
        findings = [f for f in report["findings"] if f["rule"] == rule.id]
        gating_here = [f for f in gates if f["rule"] == rule.id]
        case = ElementTree.SubElement(suite, "testcase", classname=f"imgscan.{host}", name=rule.id)
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
    hidden = summary_gates(report["summary"], fail_on) - len(gates)
    if hidden > 0:  # causes --severity left out still fail the run: say so where CI looks
        failures += 1
        case = ElementTree.SubElement(suite, "testcase", classname=f"imgscan.{host}", name="hidden by --severity")
        ElementTree.SubElement(
            case, "failure", message=f"{hidden} finding(s) at or above {fail_on} not shown by --severity", type=str(fail_on)
        )
    suite.set("tests", str(len(rules) + (hidden > 0)))
    suite.set("failures", str(failures))
    suite.set("errors", str(len(report["errors"])))
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
