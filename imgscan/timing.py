"""The time policy, the one place that compares days: where a day falls against the scan's as-of day and
horizon (its `Phase`), a dated rule's severity in each phase (`Timing`), and the validity word of a
signature on the as-of day. Checks, the scan and the views ask here; none of them compares dates.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import date

from imgscan.severity import Severity


class Phase(str, enum.Enum):
    """When a dated failure holds, seen from the as-of day."""

    FAILING = "failing"  # it already holds on the as-of day
    SOON = "soon"  # it starts after the as-of day, within the horizon
    LATER = "later"  # it starts after the horizon
    NEVER = "never"  # it has no day: it never starts

    def __str__(self) -> str:
        return self.value


def phase_of(day: date | None, as_of: date, horizon_end: date) -> Phase:
    """The phase of a failure that starts on `day`, judged on `as_of` with a horizon ending on `horizon_end`."""
    if day is None:
        return Phase.NEVER
    if day <= as_of:
        return Phase.FAILING
    return Phase.SOON if day <= horizon_end else Phase.LATER


@dataclass(frozen=True)
class Timing:
    """A dated rule's severity by the phase of its finding's `starts` day, applied by the scan to every
    finding of the rule: `now` when the failure already holds at --as-of, `soon` when it starts within
    --horizon, `later` when it starts after it (None: such a finding is not reported)."""

    now: Severity
    soon: Severity
    later: Severity | None = None

    def severity(self, phase: Phase) -> Severity | None:
        """The severity of a finding in `phase` (None: dropped); an undated one keeps the `now` severity."""
        if phase is Phase.SOON:
            return self.soon
        if phase is Phase.LATER:
            return self.later
        return self.now

    def __str__(self) -> str:
        text = f"{self.now} when it already holds at --as-of, {self.soon} when it starts within --horizon"
        return text if self.later is None else f"{text}, {self.later} when it starts later"

    def from_day(self, day: date) -> str:
        """The policy in words for a rule whose findings all start on one known `day` and are reported
        whatever the horizon ("info before 2026-10-19, medium from then on")."""
        if self.later is None or self.later != self.soon:
            raise ValueError("a policy by one day needs the same severity before it, within the horizon or not")
        return f"{self.soon} before {day.isoformat()}, {self.now} from then on"


def validity_word(status: str, starts: date | None, as_of: date) -> str:
    """A signature's state on the as-of day, in the one set of words every view shows: `expired` once an
    expiring signature has ended, `expires` before; `revoked` from the day a revocation applies (`revoked
    later` before it); otherwise the verdict's status itself (`valid`, `untrusted`, `bad-signature`, ...).
    `starts` is the first day the signature fails (None: it never does, or never worked)."""
    if status == "expires" and starts is not None:
        return "expired" if starts <= as_of else "expires"
    if status == "revoked" and starts is not None and starts > as_of:
        return "revoked later"
    return status
