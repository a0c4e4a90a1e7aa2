"""The scan context: everything a judgement depends on beyond the image itself, made once from the one
clock (the command line, or a fleet worker from its run's settings) and passed explicitly.

What was read from an image holds none of it, so one read serves every as-of day and every host: the
scan judges a read under one context (`imgscan.scan.judge`). Settings that never change a verdict (worker
processes, the verdict cache, progress bars) are the loaders' `LoadSettings`, not part of the context.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import TYPE_CHECKING

from imgscan.hosts import DEFAULT_FACTS, HostFacts
from imgscan.signing.firmware_db import UNKNOWN, FirmwareTarget
from imgscan.timing import Phase, phase_of

if TYPE_CHECKING:
    from imgscan.signing.firmware_db import SignatureDatabase

MAX_HORIZON_DAYS = 36500


@dataclass(frozen=True)
class ScanContext:
    """The day an image is judged on, how far ahead it looks, what the hosts' firmware holds, and the judged
    host's own facts (its network, recovery partition, deployment day: imgscan.hosts)."""

    as_of: date  # the day the image is judged on
    horizon_days: int = 365  # 0..36500: failures starting later than this many days after as_of are not predicted
    today: date | None = None  # the day of the run (the CLI's clock): when ignore entries expire; None: not known
    firmware: FirmwareTarget = UNKNOWN  # what the hosts' Secure Boot db holds
    dbx: SignatureDatabase | None = None  # the hosts' Secure Boot dbx, exported from one of them
    host: HostFacts = DEFAULT_FACTS  # a fleet host's network and recovery partition; a single scan knows none

    def __post_init__(self) -> None:
        if not 0 <= self.horizon_days <= MAX_HORIZON_DAYS:
            raise ValueError(f"the horizon must be 0 to {MAX_HORIZON_DAYS} days, not {self.horizon_days}")

    @property
    def horizon_end(self) -> date:
        """The last day --horizon looks ahead to: failures starting after it are not predicted."""
        return self.as_of + timedelta(days=self.horizon_days)

    def phase(self, day: date | None) -> Phase:
        """Where a failure starting on `day` falls for this context (the time policy decides, not the caller)."""
        return phase_of(day, self.as_of, self.horizon_end)

    def happened(self, day: date) -> bool:
        """Whether what a log recorded on `day` had happened by the as-of day (`LogRead.until` asks)."""
        return self.phase(day) is Phase.FAILING
