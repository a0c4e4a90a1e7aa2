"""A fleet host: a name, the image it was built from, and its own facts (issue 24).

Hosts built from one image share its reading (`image`); hosts whose `judgement` is equal on that image
also share one report. `key` names the host in a run: two rows never share it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from imgscan.hosts import DEFAULT_FACTS, HostFacts
from imgscan.signing.firmware_db import UNKNOWN, FirmwareTarget, SignatureDatabase


@dataclass(frozen=True)
class FleetHost:
    path: str  # the image it was built from, resolved
    name: str | None = None  # from the host list; else the scan's ComputerName, else the file name
    index: int | None = None  # the image of a multi-image WIM (--index, the `index` column)
    image_name: str | None = None  # ... or by its name (--image-name, `image_name`)
    labels: dict[str, str] = field(default_factory=dict)
    target_firmware: FirmwareTarget = UNKNOWN  # see --target-firmware
    target_dbx: SignatureDatabase | None = None  # see --target-dbx
    facts: HostFacts = DEFAULT_FACTS

    @property
    def image(self) -> tuple[str, int | None, str | None]:
        """The image this host shares with others built from it: read once for all of them."""
        return (self.path, self.index, self.image_name)

    @property
    def key(self) -> str:
        """What names the host in a run: its name, else its image (path, and which image of a WIM)."""
        if self.name:
            return self.name
        which = f"#{self.index}" if self.index is not None else f"#{self.image_name}" if self.image_name else ""
        return self.path + which

    def settings(self) -> str:
        """What this host's verdict depends on beyond the run's options: --resume judges a host again when it
        changes."""
        text = ":".join(self._firmware())
        if self.facts.verdict_key() != DEFAULT_FACTS.verdict_key():
            network, deployed, free = self.facts.verdict_key()
            text += f";network={network};deployed={deployed};recovery_free={'' if free is None else free}"
        return text

    def judgement(self, as_of: date, observed_days: tuple[str, ...] = ()) -> tuple[str, str, str, int | None, int, date]:
        """What this host's report depends on in a run judged as of `as_of`, on an image whose logs first show
        failures on `observed_days`: hosts with equal judgements on one image share one report. The deployment
        day acts through the day a host is judged on and through how many of those days precede it (what the
        logs show before it is the reference machine's history, imgscan.scan), so hosts deployed by the as-of
        day on an image without failure logs share one (its own first failing day is its row's)."""
        facts = self.facts
        deployed = facts.deployed.isoformat() if facts.deployed else ""
        before = sum(day < deployed for day in observed_days)
        return (*self._firmware(), facts.network, facts.recovery_free_bytes, before, facts.judged_on(as_of))

    def _firmware(self) -> tuple[str, str]:
        """Its Secure Boot db setting and the SHA-256 of its dbx file ("" for none)."""
        return self.target_firmware.setting(), self.target_dbx.sha256 if self.target_dbx else ""
