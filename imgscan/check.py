"""The plugin model: rules, findings and the `Check` base class every file in plugins/ subclasses.

A check file starts with its metadata (`Rule` objects: stable id, severity,
title, references) so a non-programmer can read what it reports, then one
`Check` subclass that names the kinds of artefact it reads (`needs`, imgscan/kinds.py) and whose `run`
gets a `CheckContext`, reads each kind typed (`context.get(PACKAGES)`) and yields `Finding`s and
`InventoryItem` records. Records are declared once here; the report only serialises them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import TYPE_CHECKING, Any, ClassVar, TypedDict, TypeVar

from imgscan.kinds import Kind

# re-exported: a check file imports its whole vocabulary (Rule, Severity, Timing, Finding) from here
from imgscan.severity import Severity as Severity
from imgscan.timing import Phase
from imgscan.timing import Timing as Timing
from imgscan.utc import utc_text

if TYPE_CHECKING:
    from imgscan.artefacts import Artefacts
    from imgscan.context import ScanContext
    from imgscan.report import Evidence, FindingJson, LogLink, Suppressed

T = TypeVar("T")


# Where a finding's subject is read from, per Rule.subject. Every kind reads fields the JSON report has
# always carried, so a report saved before findings had an `id` gets the same identities.
SUBJECTS = {
    "path": "the first evidence path (a hive, profile, catalog, registry key, partition)",
    "file": "the file name of the first evidence path (a boot file: the EFI system partition of a disk and a WIM's "
    "Windows\\Boot\\EFI hold it in different folders)",
    "packages": "the KBs (else packages) its evidence names",
    "message": "the message's first part, before ': ' (a log finding's package, KB or update)",
    "image": "none: the rule finds one thing of the image as a whole (its identity is the rule id)",
}


class RuleJson(TypedDict):
    """One rule as `imgscan rules -f json` lists it."""

    id: str
    severity: str  # its severity, or in words how it varies
    title: str
    summary: str
    codes: list[str]  # the error codes it predicts
    references: list[str]
    hits: str | None


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
    timing: Timing | None = None  # for predictions: severity by the phase of the day the failure starts
    hits: str | None = None  # when an undated finding hits, in words ("at every boot with Secure Boot on")
    # what a finding of this rule is about, for its identity (see `identity`): one of SUBJECTS
    subject: str = "path"
    subject_code: bool = False  # True: one subject can fail with several codes, each its own finding
    # rules whose findings cause this rule's findings (matched on subjects): this one is then their consequence
    consequence_of: tuple[str, ...] = ()
    # its findings say that a file could not be read (their first evidence path names it): a finding judged
    # without that file (`Finding.rests_on`) is their consequence
    reports_unreadable: bool = False

    def __post_init__(self) -> None:
        if self.subject not in SUBJECTS:  # a plugin's typo would give every finding the wrong identity
            raise ValueError(f"rule {self.id}: subject must be one of {', '.join(SUBJECTS)}, not {self.subject!r}")

    def as_dict(self) -> RuleJson:
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


def identity(finding: Mapping[str, Any], rule: Rule | None = None) -> str:
    """A finding's identity: its rule plus its subject (and HRESULT where the rule says so), never where
    its first evidence happens to be. `diff`, SARIF fingerprints, the fleet's findings table and the ignore
    file's `id:` all use it. Case and path separators do not count: the same image as a VHDX, a WIM or a
    directory gives the same identities. `rule` says how to read the subject (a rule of an unloaded plugin:
    the first evidence path)."""
    kind = rule.subject if rule else "path"
    evidence: Sequence[Mapping[str, object]] = finding.get("evidence") or [{}]
    path = str(evidence[0].get("path", "")).replace("/", "\\")
    if kind == "file":
        subject = path.rsplit("\\", 1)[-1]
    elif kind == "packages":
        subject = ",".join(sorted({str(e.get("kb") or e.get("package") or e.get("path", "")) for e in evidence}))
    elif kind == "message":
        subject = str(finding.get("message", "")).split(": ", 1)[0]
    else:
        subject = path
    parts = [str(finding["rule"])] + ([] if kind == "image" else [subject])
    if rule and rule.subject_code:
        parts.append(str(finding.get("hresult") or ""))
    return ":".join(parts).lower()


def distinct(identities: Iterable[str]) -> list[str]:
    """The identities in order, made distinct: should two findings share one (a rule whose subject is not
    distinctive enough), the later ones get `#2`, `#3`, so each SARIF result keeps its own fingerprint."""
    seen: dict[str, int] = {}
    out = []
    for base in identities:
        seen[base] = seen.get(base, 0) + 1
        out.append(base if seen[base] == 1 else f"{base}#{seen[base]}")
    return out


def assign_identities(findings: list[Finding]) -> None:
    """Give every finding of a scan its identity (from the fields `identity` reads: a whole `to_dict` per
    finding was a twentieth of a cached rescan of an image with 20,000 dated catalog findings)."""
    keys = (identity(_identifying(f), f.rule) for f in findings)
    for finding, key in zip(findings, distinct(keys), strict=True):
        finding.identity = key


def _identifying(finding: Finding) -> dict[str, Any]:
    """What `identity` reads of a finding's JSON form."""
    return {"rule": finding.rule.id, "message": finding.message, "hresult": finding.hresult, "evidence": finding.evidence}


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
    evidence: Sequence[Evidence]  # each of the variants imgscan.report declares
    remediation: str
    severity: Severity | None = None  # None: the rule's default severity
    starts: date | None = None
    starts_at: datetime | None = None  # the moment `starts` begins, when known to the second (a signer's expiry)
    hresult: str | None = None
    subjects: tuple[str, ...] = ()  # packages, KBs, catalogs it is about: what log evidence is matched on
    confirmed_by: list[LogLink] = field(default_factory=list)  # log lines that show it happened
    explained_by: list[str] = field(default_factory=list)  # rules that predicted this observed failure
    suppressed: Suppressed | None = None  # the ignore-file entry that accepted it, if any
    fix: RegistryFix | None = None  # a registry change that fixes it, for --fix-script
    observed: str | None = None  # log findings: when a log first shows the failure (ISO 8601)
    rests_on: tuple[str, ...] = ()  # files its judgement needed but could not read (see Rule.reports_unreadable)
    identity: str = ""  # set by the scan (assign_identities); see `identity`
    caused_by: str | None = None  # the identity of the finding whose cause this is a consequence of
    explains: list[str] = field(default_factory=list)  # the identities of this root cause's consequences
    gating_severity: Severity | None = None  # a root: the worst severity of its group not accepted (None: all are)
    phase: Phase | None = None  # set by the scan for a dated finding: where `starts` falls against --as-of and --horizon;
    # a check sets FAILING on an undated one it knows holds already (a catalog that never validated has no day)

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
            "evidence": list(self.evidence),
            "remediation": self.remediation,
            "references": list(self.rule.references),
        }
        if self.confirmed_by:
            finding["confirmed_by"] = self.confirmed_by
        if self.explained_by:
            finding["explained_by"] = self.explained_by
        if self.suppressed:
            finding["suppressed"] = self.suppressed
        if self.starts_at:
            finding["starts_at"] = utc_text(self.starts_at)
        if self.observed:
            finding["observed"] = self.observed
        if self.rule.hits and not self.starts and not self.observed:  # no date to say when it hits
            finding["hits"] = self.rule.hits
        if self.identity:
            finding["id"] = self.identity
        if self.caused_by:
            finding["caused_by"] = self.caused_by
        elif self.identity:  # linked by the scan: a root cause or a finding on its own
            finding["gating_severity"] = self.gating_severity.json_name if self.gating_severity is not None else None
        if self.explains:
            finding["explains"] = self.explains
        if self.phase is not None:
            finding["phase"] = self.phase.value
        return finding

    def sort_key(self) -> tuple[int, bool, str, str]:
        """Worst first; at equal severity, causes (predictions) before the log lines that show them."""
        first_path = str(self.evidence[0].get("path", "")) if self.evidence else ""
        return (-int(self.effective_severity), self.rule.observes_logs, self.rule.id, first_path.lower())


@dataclass(frozen=True)
class InventoryItem:
    """A fact about what the image holds, for the report's `inventory` (not a problem)."""

    section: str
    item: dict[str, object] = field(default_factory=dict)


class CheckContext:
    """One read of an image judged under one scan context, as one check sees it: the kinds it declares
    (`needs` and `uses`), each typed (`get`), the scan context (`scan`: as-of day, horizon, the hosts'
    firmware) and the time policy's word for a day (`phase`), so a check never compares dates.

    A kind it did not declare is refused (LookupError), so a check's declaration is exactly what a scan
    that runs it loads. The read is shared, never read again: one read judged under several contexts."""

    def __init__(self, artefacts: Artefacts, scan: ScanContext, kinds: Iterable[Kind[Any]]) -> None:
        self._artefacts = artefacts
        self.scan = scan
        self._kinds = frozenset(kinds)

    def get(self, kind: Kind[T]) -> T:
        if kind not in self._kinds:
            raise LookupError(f"the check reads kind {kind.name!r} without naming it in `needs` or `uses`")
        return self._artefacts.get(kind)

    def absent(self, kind: Kind[Any]) -> str | None:
        """Why the read has nothing of this kind to judge (None: it has)."""
        return self._artefacts.absent(kind)

    def phase(self, day: date | None) -> Phase:
        """Where a failure starting on `day` falls for the scan context (failing, soon, later, never)."""
        return self.scan.phase(day)


class Check:
    """Base class of a check. Subclasses set `rules` and `needs`, and implement `run`."""

    rules: ClassVar[tuple[Rule, ...]] = ()
    # the kinds of artefact it judges (imgscan.artefacts, or a plugin's): when one is absent from the image,
    # the check is skipped and the inventory says why, like dissect's check_compatible
    needs: ClassVar[tuple[Kind[Any], ...]] = ()
    # kinds it also reads when the image has them, without being skipped when it has not
    uses: ClassVar[tuple[Kind[Any], ...]] = ()
    # what the inventory says when `applies` is False
    not_applicable: ClassVar[str] = "nothing for it in the image"

    @property
    def name(self) -> str:
        return type(self).__module__.rsplit(".", 1)[-1]

    @classmethod
    def reads(cls) -> tuple[Kind[Any], ...]:
        """Every kind it may read: what a scan that runs it loads."""
        return tuple(dict.fromkeys(cls.needs + cls.uses))

    def absent(self, artefacts: CheckContext) -> str | None:
        """Why the check has nothing to judge, or None: the reason of the first kind it needs that the read
        lacks (a check may accept a fact of the scan context in place of a kind: a host's recovery partition)."""
        return next((reason for kind in self.needs if (reason := artefacts.absent(kind))), None)

    def applies(self, artefacts: CheckContext) -> bool:
        """A finer condition than `needs` (e.g. a log family present); a check that does not apply is skipped."""
        return True

    def run(self, artefacts: CheckContext) -> Iterable[Finding | InventoryItem]:
        raise NotImplementedError
