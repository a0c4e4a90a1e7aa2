"""The ignore file (`.imgscanignore.yaml`, or `--ignore FILE`): accepted findings, each with a reason.

    - rule: catalog-expiry              # required: the rule id
      package: KB2731847                # optional: a package identity or KB the finding names
      kb: KB2731847                     # optional: a KB (2731847 alone means the same)
      path: "Windows\\servicing\\*"      # optional: a glob on an evidence path (case-insensitive, \\ or /)
      id: "catalog-expiry:windows\\..."  # optional: exactly one finding, by its identity (the JSON `id`)
      reason: replaced in the next image build (CHG-1234)   # required
      expires: 2027-01-31               # optional: after this day the entry no longer applies

An ignored finding is not dropped: it stays in every format marked `suppressed`
(with the file and entry number) and stops counting for `--fail-on`. Nothing is
accepted silently: a field of the wrong type is a one-line error; an unknown
rule id, an entry that matches no finding and an expired entry (judged against
the day of the run, not --as-of) are warnings in the report and on stderr.

A finding about several updates (qfe-empty names every KB whose catalogs fail) is
accepted by `kb` or `package` entries only when they accept every KB it is about:
accepting KB2731847 must not accept the part KB2705219 causes. Entries without
`kb` or `package` (rule, path or id alone) accept the whole finding.
"""

from __future__ import annotations

import difflib
import fnmatch
import re
from dataclasses import dataclass
from datetime import date, datetime
from functools import cached_property
from pathlib import Path

import yaml

from imgscan import yaml_safe
from imgscan.check import Finding
from imgscan.errors import ImgscanError
from imgscan.report import Suppressed
from imgscan.undecodable import escaped

DEFAULT = Path(".imgscanignore.yaml")
FIELDS = {"rule", "path", "package", "kb", "id", "reason", "expires"}
KB = re.compile(r"KB\d+", re.IGNORECASE)
TEXT_FIELDS = ("rule", "reason", "path", "package", "id")
# the fields that pick findings, each naming one thing: a list of them asks for one entry each, not quotes
ONE_PER_ENTRY = {"rule": "rule id", "path": "path glob", "package": "package", "kb": "KB number", "id": "finding id"}


@dataclass(frozen=True)
class IgnoreEntry:
    rule: str
    reason: str
    path: str | None = None
    package: str | None = None
    kb: str | None = None
    expires: date | None = None
    number: int = 0  # its place in the file, from 1, so warnings and the report can point at it
    id: str | None = None

    @cached_property
    def kbs(self) -> frozenset[str]:
        """The KBs its `kb` and `package` name (asked for each finding: worked out once)."""
        return frozenset(_kbs([text for text in (self.kb, self.package) if text]))

    def matches(self, finding: Finding) -> bool:
        if finding.rule.id != self.rule:
            return False
        if self.id and finding.identity != self.id.lower():
            return False
        if self.path:
            pattern = _windows(self.path).lower()
            if not any(fnmatch.fnmatch(_windows(escaped(str(e.get("path", "")))).lower(), pattern) for e in finding.evidence):
                return False
        names = escaped(" ".join([*finding.subjects, finding.message])).lower()  # as the report shows them
        return all(want.lower() in names for want in (self.package, self.kb) if want)

    def as_dict(self, source: str) -> Suppressed:
        return {
            "reason": self.reason,
            "expires": self.expires.isoformat() if self.expires else None,
            "source": source,
            "entry": self.number,
        }


def _kbs(texts: list[str] | tuple[str, ...]) -> set[str]:
    return {kb.upper() for text in texts for kb in KB.findall(text)}


def _about(entry: IgnoreEntry, about: set[str]) -> bool:
    """Whether a `kb`/`package` entry names one of the KBs a finding is about (`about`, from its subjects): a
    KB its message only mentions (the missing mitigation KB2749655 of every catalog-expiry) is not one."""
    return not about or not entry.kbs or bool(entry.kbs & about)


def _unaccepted(finding: Finding, matching: list[IgnoreEntry]) -> list[str]:
    """The KBs the finding is about (those its subjects name) that none of the matching `kb`/`package` entries
    accepts; empty when an entry accepts the whole finding (no kb or package) or every KB is accepted."""
    if not matching or any(e.kb is None and e.package is None for e in matching):
        return []
    return sorted(_kbs(finding.subjects).difference(*(e.kbs for e in matching)))


def _windows(path: str) -> str:
    """A path as the report writes it: SARIF and habit write `/`, the report `\\`."""
    return path.replace("/", "\\")


def _kb(value: object) -> object:
    """`kb: 2705219` (YAML reads a number) and `kb: "2705219"` both mean KB2705219."""
    if isinstance(value, int) and not isinstance(value, bool):
        return f"KB{value}"
    if isinstance(value, str) and value.strip().isdigit():
        return f"KB{value.strip()}"
    return value


def _not_text(name: str, value: object) -> str:
    """What is wrong with a field that takes text, and what to write: a number, a date or a word YAML reads
    otherwise (`reason: [JIRA-12]`) is text once quoted, but a list of KBs, rules or paths quoted is one text
    naming none of them: each is an entry of its own."""
    if isinstance(value, list) and name in ONE_PER_ENTRY:
        one = ONE_PER_ENTRY[name]
        return f"{name} takes one {one}, not the list {value!r} (write one entry for each {one})"
    return f"{name} must be text, not {value!r} (quote it)"


def _expires(value: object, path: Path, number: int) -> date | None:
    """An entry's `expires`, quoted or not (yaml_safe reads dates as text); a day no calendar has, like
    2013-02-30, is a one-line error like any other text that is not a date, saying what is wrong with it."""
    if value is None or (isinstance(value, date) and not isinstance(value, datetime)):  # none, or `!!timestamp` day
        return value
    why = ""
    if isinstance(value, str):
        try:
            return yaml_safe.day(value)
        except ValueError as exc:
            why = f" ({exc})" if yaml_safe.DAY.fullmatch(value.strip()) else ""
    raise ImgscanError(str(path), f"entry {number}: expires must be a date (YYYY-MM-DD), not {value!r}{why}")


def load(path: Path) -> list[IgnoreEntry]:
    """Parse an ignore file; a malformed one is an ImgscanError (exit 2), never a silent no-op."""
    try:
        data = yaml_safe.load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ImgscanError(str(path), f"cannot read the ignore file ({exc.strerror or exc})") from exc
    except UnicodeDecodeError as exc:
        raise ImgscanError(str(path), f"the ignore file is not UTF-8 text ({exc.reason})") from exc
    except yaml.YAMLError as exc:
        raise ImgscanError(str(path), f"not valid YAML ({str(exc).splitlines()[0]})") from exc
    if data is None:
        return []
    if not isinstance(data, list):
        raise ImgscanError(str(path), "must be a YAML list of entries (- rule: ..., reason: ...)")
    entries = []
    for number, item in enumerate(data, 1):
        if not isinstance(item, dict) or not item.get("rule") or not item.get("reason"):
            raise ImgscanError(str(path), f"entry {number} needs a rule and a reason")
        unknown = set(item) - FIELDS
        if unknown:
            raise ImgscanError(str(path), f"entry {number} has unknown field(s) {', '.join(sorted(map(str, unknown)))}")
        item = dict(item, kb=_kb(item.get("kb")))
        for name in (*TEXT_FIELDS, "kb"):
            value = item.get(name)
            if value is not None and not isinstance(value, str):
                label = f" ({item['rule']})" if isinstance(item["rule"], str) else ""
                raise ImgscanError(str(path), f"entry {number}{label}: {_not_text(name, value)}")
        expires = _expires(item.get("expires"), path, number)
        entries.append(
            IgnoreEntry(
                item["rule"], item["reason"], item.get("path"), item.get("package"), item["kb"], expires, number, item.get("id")
            )
        )
    return entries


def apply(findings: list[Finding], entries: list[IgnoreEntry], source: str, today: date, rule_ids: set[str]) -> list[str]:
    """Mark findings the live entries cover as suppressed; returns warnings: entries naming no known rule,
    entries past `expires` (against `today`, the day of the run) and entries that matched no finding."""
    warnings = []
    live = []
    for entry in entries:
        where = f"{source} entry {entry.number}"
        if entry.rule not in rule_ids:
            near = difflib.get_close_matches(entry.rule, sorted(rule_ids), n=1)
            hint = f" (did you mean {near[0]}?)" if near else " (imgscan rules lists them)"
            warnings.append(f"{where}: no rule is called {entry.rule!r}{hint}; the entry accepts nothing")
        elif entry.expires is not None and entry.expires < today:
            warnings.append(
                f"{where}: ignore entry for {entry.rule} expired on {entry.expires} and no longer applies ({entry.reason})"
            )
        else:
            live.append(entry)
    used: set[int] = set()
    for finding in findings:
        about = _kbs(finding.subjects)
        matching = [e for e in live if e.matches(finding) and _about(e, about)]
        used.update(e.number for e in matching)
        left = _unaccepted(finding, matching)
        if matching and not left:
            finding.suppressed = matching[0].as_dict(source)
        elif matching:
            numbers = ", ".join(str(e.number) for e in matching)
            warnings.append(
                f"{source} entry {numbers}: the {finding.rule.id} finding is also about {', '.join(left)}, which no entry "
                f"for {finding.rule.id} accepts: the finding is not accepted (add a kb entry for each, or accept it by id)"
            )
    warnings = list(dict.fromkeys(warnings))  # one line for the findings one entry leaves alike
    warnings += [
        f"{source} entry {e.number}: the entry for {e.rule} matched no finding (check its package, kb, path or id)"
        for e in live
        if e.number not in used
    ]
    return warnings
