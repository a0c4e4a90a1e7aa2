"""The preflight report as JUnit XML: one test case per update, as CI systems show tests.

An update that will not install fails its case (the message is the verdict, the type the code Windows
gives, the text every reason with its evidence and fix); one that does not apply, is already installed or
superseded, or cannot be judged is skipped with the reason; one that installs passes, with what it
registers and any reason it fails within the horizon in its output. An update file that cannot be read
is a case in error. So the failed cases are exactly what makes `imgscan preflight` exit 1.
"""

from __future__ import annotations

from pathlib import PurePath
from xml.etree import ElementTree

from imgscan.preflight.report import PreflightReport, UpdateJson
from imgscan.views.junit import document
from imgscan.views.preflight import reason_lines


def to_preflight_junit(report: PreflightReport) -> str:
    host = (report.get("host") or {}).get("name") or report["image"]["path"]
    suite = ElementTree.Element(
        "testsuite", name=f"imgscan preflight {report['image']['path']}", timestamp=f"{report['as_of']}T00:00:00"
    )  # xs:dateTime: the day judged, at its start
    classname = f"imgscan.preflight.{host}"
    failures = skipped = 0
    for update in report["updates"]:
        name = f"{update['kb'] or '-'} {PurePath(update['file']).name}"
        case = ElementTree.SubElement(suite, "testcase", classname=classname, name=name)
        details = "\n".join(line for reason in update["reasons"] for line in reason_lines(reason, ""))
        if update["status"] == "will-not-install":
            failures += 1
            failure = ElementTree.SubElement(case, "failure", message=update["summary"], type=update["hresult"] or "")
            failure.text = details
        elif update["status"] != "installs":
            skipped += 1
            ElementTree.SubElement(case, "skipped", message=f"{update['status']}: {update['summary']}")
        output = _output(update)
        if output:
            ElementTree.SubElement(case, "system-out").text = output
    for error in report["errors"]:
        case = ElementTree.SubElement(suite, "testcase", classname=classname, name=f"- {PurePath(error['path']).name}")
        ElementTree.SubElement(case, "error", message=error["message"], type="unreadable")
    suite.set("tests", str(len(report["updates"]) + len(report["errors"])))
    suite.set("failures", str(failures))
    suite.set("errors", str(len(report["errors"])))
    suite.set("skipped", str(skipped))
    return document(suite)


def _output(update: UpdateJson) -> str:
    lines = [f"file: {update['file']}", f"identity: {update['identity'] or '-'}"]
    if update["status"] == "installs":
        restart = f", restart {update['restart']}" if update["restart"] else ""
        lines.append(f"registers ({update['release_type'] or 'update'}{restart}): {', '.join(update['registers'])}")
    if update["later"]:
        lines.append(f"fails from {update['fails_from']}:")
        lines += [line for reason in update["later"] for line in reason_lines(reason, "")]
    if update["status"] in ("not-applicable", "superseded"):
        lines += [line for reason in update["reasons"] for line in reason_lines(reason, "")]
    lines += [f"note: {note}" for note in update["notes"]]
    return "\n".join(lines)
