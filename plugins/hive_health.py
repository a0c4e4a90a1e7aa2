"""Registry hives that are damaged, missing or captured mid-write.

What it finds: a hive imgscan must read (SOFTWARE, SYSTEM, COMPONENTS, .DEFAULT,
the Default profile, each profile) that is truncated, garbage or missing, and
hives Windows must recover from their transaction logs before use (dirty: sequence numbers that
differ or a wrong base-block checksum, as a capture without a clean flush leaves them).
A damaged hive is a finding, not a crash: the other checks still run.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from imgscan.artefacts import MACHINE_HIVES, PACKAGES, USER_HIVES
from imgscan.check import Check, Finding, Rule, Severity

if TYPE_CHECKING:  # types only: listing the rules must not load the image stack
    from imgscan.artefacts import UserHive
    from imgscan.check import CheckContext
    from imgscan.hives import Hive

UNREADABLE = Rule(
    id="hive-unreadable",
    policy="high for a machine hive, medium for a profile",
    severity=Severity.HIGH,
    title="Registry hive missing or damaged",
    summary=(
        "A hive the checks need is missing, truncated or not a hive, or the key they read in it is damaged. "
        "Windows cannot load it either; the checks that depend on it did not run for it."
    ),
    references=(
        "https://github.com/libyal/libregf/blob/main/documentation/Windows%20NT%20Registry%20File%20(REGF)%20format.asciidoc",
    ),
    hits="when Windows loads the hive (machine hives at boot, a profile at its logon)",
    reports_unreadable=True,
)

DIRTY = Rule(
    id="hive-dirty",
    severity=Severity.INFO,
    title="Registry hive captured mid-write (dirty)",
    summary=(
        "The hive's primary and secondary sequence numbers differ, or its base block's checksum is wrong: it was "
        "captured before Windows flushed it, and its transaction logs (.LOG1/.LOG2) were not replayed. imgscan read "
        "it as is; recent changes may be missing."
    ),
    references=UNREADABLE.references,
    hits="when Windows loads the hive",
)

MACHINE_ROLES = {"SOFTWARE", "SYSTEM", "COMPONENTS", ".DEFAULT"}


class HiveHealth(Check):
    rules = (UNREADABLE, DIRTY)
    # read whether or not the image has them: a missing SOFTWARE is what this check reports; the packages for
    # the damaged cells met reading their registrations in SOFTWARE
    uses = (MACHINE_HIVES, USER_HIVES, PACKAGES)

    def run(self, artefacts: CheckContext) -> Iterator[Finding]:
        machine_hives, user_hives = artefacts.get(MACHINE_HIVES), artefacts.get(USER_HIVES)
        for bad in [*machine_hives.unreadable, *user_hives.unreadable]:
            yield _unreadable(bad.path, bad.role, bad.problem, "the checks that need this hive did not run for it")
        for user in user_hives.hives:
            if user.wintrust.damaged:  # the key the WinTrust check reads is lost: its State is unknown, not the default
                problem = f"its WinTrust key cannot be read: {user.wintrust.damaged}"
                yield _unreadable(user.path, user.account.label, problem, "its WinTrust State was not checked")
        software = machine_hives.software
        if software is not None:
            # the packages a damaged registration hides are neither installed nor absent to the checks: whether
            # one of them empties wmic qfe or breaks servicing was not judged
            unchecked = (
                "the packages registered there were not checked (whether they are installed, and whether their "
                "catalogs empty wmic qfe)"
            )
            inside = software.path + "\\"
            for damage in artefacts.get(PACKAGES).registrations_damaged:
                problem = f"{damage['path'].removeprefix(inside)}: {damage['message']}"
                yield _unreadable(software.path, "SOFTWARE", problem, unchecked)
        hives: list[Hive | UserHive] = [*(h for _, h in machine_hives.hives), *user_hives.hives]
        for hive in hives:
            if hive.dirty:
                yield Finding(
                    rule=DIRTY,
                    message=f"{hive.path} is dirty ({hive.dirty}); read as is without its transaction logs.",
                    evidence=[{"path": hive.path, "dirty": True}],
                    remediation="Shut the reference machine down cleanly before capturing the image.",
                )


def _unreadable(path: str, role: str, problem: str, unchecked: str) -> Finding:
    """A hive, or a key the checks read in it, that cannot be used: high for a machine hive, medium for a profile."""
    return Finding(
        rule=UNREADABLE,
        severity=Severity.HIGH if role in MACHINE_ROLES else Severity.MEDIUM,
        message=f"{path} ({role}): {problem}; {unchecked}.",
        evidence=[{"path": path, "role": role, "problem": problem}],
        remediation=(
            "Re-capture the image from a cleanly shut-down machine; if the hive is damaged on the reference machine "
            "too, restore it from a backup (or recreate the profile) before capturing."
        ),
    )
