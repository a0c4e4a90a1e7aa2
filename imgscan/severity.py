"""How bad a finding is: one scale, below everything that judges (the time policy sets severities by day,
the checks declare them, the gate and the views compare them)."""

from __future__ import annotations

import enum
from typing import TYPE_CHECKING, cast

if TYPE_CHECKING:
    from imgscan.report import SeverityName


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
