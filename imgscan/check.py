"""The plugin model: rules, findings and the `Check` base class every file in plugins/ subclasses.

A check file starts with its metadata (`Rule` objects: stable id, severity,
title, references) so a non-programmer can read what it reports, then one
`Check` subclass whose `run` receives the image's artefacts and yields
`Finding`s and `Inventory` records. Records are declared once here; the report
only serialises them.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING, Any, ClassVar, cast

if TYPE_CHECKING:
    from imgscan.artefacts import Artefacts
    from imgscan.report import FindingJson, SeverityName


# What the hosts' Secure Boot db holds, as --target-firmware and the fleet manifest say: not yet updated
# (only the 2011 certificates), updated (Windows UEFI CA 2023 added), or not known
TARGET_FIRMWARE = ("2011-only", "2023", "unknown")

# One JSON object of the report contract (imgscan/report.py), as the views read it.
Json = Mapping[str, Any]


class Severity(enum.IntEnum):
    INFO = 0
    LOW = 1
    MEDIUM = 2
    HIGH = 3
    CRITICAL = 4

    def __str__(self) -> str:
        return self.name.lower()

    @property
    def json_name(self) -> SeverityName:
        return cast("SeverityName", self.name.lower())

    @classmethod
    def parse(cls, text: str) -> Severity:
        try:
            return cls[text.upper()]
        except KeyError:
            raise ValueError(f"unknown severity {text!r} (use {', '.join(str(s) for s in cls)})") from None


@dataclass(frozen=True)
class Timing:
    """A prediction's severity by when it starts, applied by the scan to every finding with a `starts`
    day: `now` when the failure already holds at --as-of, `soon` when it starts within --horizon;
    one that starts later is not reported."""

    now: Severity
    soon: Severity

    def __str__(self) -> str:
        return f"{self.now} when it already holds at --as-of, {self.soon} when it starts within --horizon"


@dataclass(frozen=True)
class Rule:
    """A stable rule id users can gate on and ignore; never renamed once released."""

    id: str
    severity: Severity
    title: str
    summary: str
    references: tuple[str, ...] = ()
    predicts: tuple[str, ...] = ()  # error codes a host built from the image will hit (for `imgscan explain`)
    observes_logs: bool = False  # True: reports failure codes found in the image's logs and event logs
    policy: str = ""  # how the severity varies, in words, when it is not always `severity`
    timing: Timing | None = None  # for predictions: severity by when the failure starts
    hits: str | None = None  # when an undated finding hits, in words ("at every boot with Secure Boot on")

    def as_dict(self) -> dict[str, object]:
        """What `imgscan rules` publishes about the rule (and the README's rules table shows)."""
        severity = self.policy or (str(self.timing) if self.timing else str(self.severity))
        return {
            "id": self.id,
            "severity": severity,
            "title": self.title,
            "summary": self.summary,
            "codes": list(self.predicts),
            "references": list(self.references),
            "hits": self.hits,
        }


@dataclass(frozen=True)
class RegistryFix:
    """One DWORD to set: `key` under HKEY_USERS as it is when loaded; `offline_hive` when the hive
    must be loaded first (the Default profile template, a profile without a known SID)."""

    key: str
    name: str
    dword: int
    offline_hive: str | None = None


@dataclass
class Finding:
    """One predicted (or observed) failure, with the evidence it rests on and the fix."""

    rule: Rule
    message: str
    evidence: list[dict[str, object]]
    remediation: str
    severity: Severity | None = None  # None: the rule's default severity
    starts: date | None = None
    hresult: str | None = None
    subjects: tuple[str, ...] = ()  # packages, KBs, catalogs it is about: what log evidence is matched on
    confirmed_by: list[dict[str, object]] = field(default_factory=list)  # log lines that show it happened
    explained_by: list[str] = field(default_factory=list)  # rules that predicted this observed failure
    suppressed: dict[str, object] | None = None  # the ignore-file entry that accepted it, if any
    fix: RegistryFix | None = None  # a registry change that fixes it, for --fix-script
    observed: str | None = None  # log findings: when a log first shows the failure (ISO 8601)

    @property
    def effective_severity(self) -> Severity:
        return self.severity if self.severity is not None else self.rule.severity

    def to_dict(self) -> FindingJson:
        finding: FindingJson = {
            "rule": self.rule.id,
            "severity": self.effective_severity.json_name,
            "title": self.rule.title,
            "message": self.message,
            "starts": self.starts.isoformat() if self.starts else None,
            "hresult": self.hresult,
            "evidence": self.evidence,  # type: ignore[typeddict-item]  # checks build them as plain dicts
            "remediation": self.remediation,
            "references": list(self.rule.references),
        }
        if self.confirmed_by:
            finding["confirmed_by"] = self.confirmed_by  # type: ignore[typeddict-item]
        if self.explained_by:
            finding["explained_by"] = self.explained_by
        if self.suppressed:
            finding["suppressed"] = self.suppressed
        if self.observed:
            finding["observed"] = self.observed
        if self.rule.hits and not self.starts and not self.observed:  # no date to say when it hits
            finding["hits"] = self.rule.hits
        return finding

    def sort_key(self) -> tuple[int, bool, str, str]:
        """Worst first; at equal severity, causes (predictions) before the log lines that show them."""
        first_path = str(self.evidence[0].get("path", "")) if self.evidence else ""
        return (-int(self.effective_severity), self.rule.observes_logs, self.rule.id, first_path.lower())


@dataclass(frozen=True)
class Inventory:
    """A fact about what the image holds, for the report's `inventory` (not a problem)."""

    section: str
    item: dict[str, object] = field(default_factory=dict)


class Check:
    """Base class of a check. Subclasses set `rules` and `needs`, and implement `run`."""

    rules: ClassVar[tuple[Rule, ...]] = ()
    # the artefact kinds (imgscan.artefacts.KINDS) it reads: when one is absent from the image, the
    # check is skipped and the inventory says why, like dissect's check_compatible
    needs: ClassVar[tuple[str, ...]] = ()
    # what the inventory says when `applies` is False
    not_applicable: ClassVar[str] = "nothing for it in the image"

    @property
    def name(self) -> str:
        return type(self).__module__.rsplit(".", 1)[-1]

    def applies(self, artefacts: Artefacts) -> bool:
        """A finer condition than `needs` (e.g. a log family present); a check that does not apply is skipped."""
        return True

    def run(self, artefacts: Artefacts) -> Iterable[Finding | Inventory]:
        raise NotImplementedError
