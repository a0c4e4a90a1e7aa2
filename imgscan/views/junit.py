"""JUnit XML: one test case per rule x host, failing when the rule found something at or above --fail-on.

CI systems (GitLab, Azure Pipelines, Jenkins) show these natively: a failed case
names the rule and carries each finding's message; findings below the threshold
or accepted in the ignore file leave the case passing, with them in its output.
"""

from __future__ import annotations

from xml.etree import ElementTree

from imgscan.check import Json, Rule, Severity


def to_junit(report: Json, rules: list[Rule], fail_on: Severity) -> str:
    host = (report.get("host") or {}).get("name") or report["image"]["path"]
    suite = ElementTree.Element("testsuite", name=f"imgscan {report['image']['path']}", timestamp=report["as_of"])
    failures = 0
    for rule in rules:
        findings = [f for f in report["findings"] if f["rule"] == rule.id]
        gating = [f for f in findings if Severity.parse(f["severity"]) >= fail_on and not f.get("suppressed")]
        case = ElementTree.SubElement(suite, "testcase", classname=f"imgscan.{host}", name=rule.id)
        if gating:
            failures += 1
            failure = ElementTree.SubElement(
                case,
                "failure",
                message=f"{len(gating)} finding(s): {gating[0]['message'][:300]}",
                type=gating[0]["severity"],
            )
            failure.text = "\n\n".join(_details(f) for f in gating)
        other = [f for f in findings if f not in gating]
        if other:
            ElementTree.SubElement(case, "system-out").text = "\n\n".join(_details(f) for f in other)
    suite.set("tests", str(len(rules)))
    suite.set("failures", str(failures))
    suite.set("errors", str(len(report["errors"])))
    root = ElementTree.Element("testsuites")
    root.append(suite)
    ElementTree.indent(root)
    return '<?xml version="1.0" encoding="utf-8"?>\n' + ElementTree.tostring(root, encoding="unicode") + "\n"


def _details(finding: dict) -> str:
    paths = ", ".join(str(e.get("path")) for e in finding["evidence"][:5])
    state = f" (suppressed: {finding['suppressed']['reason']})" if finding.get("suppressed") else ""
    return (
        f"[{finding['severity']}] {finding['message']}{state}\nevidence: {paths}\n"
        f"starts: {finding['starts'] or '-'}  hresult: {finding['hresult'] or '-'}\nfix: {finding['remediation']}"
    )
