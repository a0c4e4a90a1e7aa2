"""Update source policy: where hosts built from the image will look for updates (WSUS), and whether
that policy can work at all.

What it finds: `SOFTWARE\\Policies\\Microsoft\\Windows\\WindowsUpdate` `WUServer` / `WUStatusServer` with
`AU\\UseWUServer` = 1 are listed (info), so that a deployment check can probe them; `UseWUServer` = 1
with no `WUServer`, or one that is not an http(s) URL, is a medium finding: scans fail with
0x8024401C / 0x80244022 class errors. Source: Microsoft, "Manage additional Windows Update settings".
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import TYPE_CHECKING

from imgscan.artefacts import MACHINE_HIVES
from imgscan.check import Check, Finding, Rule, Severity
from imgscan.report import Evidence

if TYPE_CHECKING:  # types only: listing the rules must not load the image stack
    from imgscan.check import CheckContext

POLICY_KEY = r"Policies\Microsoft\Windows\WindowsUpdate"
URL = re.compile(r"^https?://[^\s/:]+(:\d{1,5})?(/\S*)?$", re.IGNORECASE)

UPDATE_SOURCE_POLICY = Rule(
    id="update-source-policy",
    severity=Severity.INFO,
    policy="info listing the WSUS servers; medium when UseWUServer = 1 without a usable WUServer",
    title="Windows Update source policy (WSUS) in the image",
    summary=(
        "The image points Windows Update at a WSUS server (listed, so a deployment check can probe it); "
        "a policy that enables WSUS without a usable server URL makes every scan fail."
    ),
    references=("https://learn.microsoft.com/en-us/windows/deployment/update/waas-wu-settings",),
    predicts=("0x8024401C", "0x80244022"),
    hits="at every update scan",
)


class UpdateSource(Check):
    rules = (UPDATE_SOURCE_POLICY,)
    needs = (MACHINE_HIVES,)

    def run(self, artefacts: CheckContext) -> Iterator[Finding]:
        software = artefacts.get(MACHINE_HIVES).software
        if software is None or software.value(rf"{POLICY_KEY}\AU", "UseWUServer") != 1:
            return
        servers = {name: software.value(POLICY_KEY, name) for name in ("WUServer", "WUStatusServer")}
        evidence: list[Evidence] = [{"path": rf"SOFTWARE\{POLICY_KEY}\AU", "value": "UseWUServer", "data": 1}]
        evidence += [{"path": rf"SOFTWARE\{POLICY_KEY}", "value": k, "data": v} for k, v in servers.items() if v]
        server = servers["WUServer"]
        if not isinstance(server, str) or not URL.match(server.strip()):
            problem = "is not set" if not server else f"is not an http(s) URL ({server!r})"
            yield Finding(
                rule=UPDATE_SOURCE_POLICY,
                severity=Severity.MEDIUM,
                message=f"UseWUServer = 1 but WUServer {problem}: update scans on every host fail "
                "(0x8024401C / 0x80244022 class).",
                evidence=evidence,
                remediation="Set WUServer and WUStatusServer to the WSUS URL (e.g. http://wsus.example:8530), or remove "
                "UseWUServer from the reference machine's policy before capture.",
                hresult="0x8024401C",
            )
            return
        yield Finding(
            rule=UPDATE_SOURCE_POLICY,
            message=f"Hosts built from this image take updates from WSUS {server}"
            + (f" (status to {servers['WUStatusServer']})" if servers["WUStatusServer"] else "")
            + ": probe it from the deployment network before rollout.",
            evidence=evidence,
            remediation="Nothing to fix in the image; make sure the server is reachable from where the hosts will run.",
        )
