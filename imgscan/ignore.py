"""The ignore file (`.imgscanignore.yaml`, or `--ignore FILE`): accepted findings, each with a reason.

    - rule: catalog-expiry              # required: the rule id
      package: KB2731847                # optional: a package identity or KB the finding names
      path: "Windows\\servicing\\*"      # optional: a glob on an evidence path (case-insensitive)
      reason: replaced in the next image build (CHG-1234)   # required
      expires: 2027-01-31               # optional: after this day the entry no longer applies

An ignored finding is not dropped: it stays in JSON/SARIF marked `suppressed`
and stops counting for `--fail-on`. An expired entry applies no more, and a
warning says so, so an acceptance cannot silently outlive its reason.
"""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import yaml

from imgscan.check import Finding
from imgscan.errors import ImgscanError

DEFAULT = Path(".imgscanignore.yaml")
FIELDS = {"rule", "path", "package", "kb", "reason", "expires"}


@dataclass(frozen=True)
class IgnoreEntry:
    rule: str
    reason: str
    path: str | None = None
    package: str | None = None
    kb: str | None = None
    expires: date | None = None

    def matches(self, finding: Finding) -> bool:
        if finding.rule.id != self.rule:
            return False
        paths = [str(e.get("path", "")) for e in finding.evidence]
        if self.path and not any(fnmatch.fnmatch(p.lower(), self.path.lower()) for p in paths):
            return False
        names = " ".join([*finding.subjects, finding.message]).lower()
        return all(want.lower() in names for want in (self.package, self.kb) if want)

    def as_dict(self, source: str) -> dict[str, object]:
        return {"reason": self.reason, "expires": self.expires.isoformat() if self.expires else None, "source": source}


def load(path: Path) -> list[IgnoreEntry]:
    """Parse an ignore file; a malformed one is an ImgscanError (exit 2), never a silent no-op."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ImgscanError(str(path), f"cannot read the ignore file ({exc.strerror or exc})") from exc
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
            raise ImgscanError(str(path), f"entry {number} has unknown field(s) {', '.join(sorted(unknown))}")
        expires = item.get("expires")
        if expires is not None and not isinstance(expires, date):
            raise ImgscanError(str(path), f"entry {number}: expires must be a date (YYYY-MM-DD)")
        entries.append(
            IgnoreEntry(str(item["rule"]), str(item["reason"]), item.get("path"), item.get("package"), item.get("kb"), expires)
        )
    return entries


def apply(findings: list[Finding], entries: list[IgnoreEntry], source: str, today: date) -> list[str]:
    """Mark findings the live entries cover as suppressed; returns warnings about expired entries."""
    warnings = []
    live = []
    for entry in entries:
        if entry.expires is not None and entry.expires < today:
            warnings.append(
                f"{source}: ignore entry for {entry.rule} expired on {entry.expires} and no longer applies ({entry.reason})"
            )
        else:
            live.append(entry)
    for finding in findings:
        accepted = next((e for e in live if e.matches(finding)), None)
        if accepted is not None:
            finding.suppressed = accepted.as_dict(source)
    return warnings
