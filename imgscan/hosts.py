"""A host's own facts beyond the image it was built from: what makes one host's verdict differ from another's.

Ten thousand hosts deployed from one golden image share its files but not their network, deployment day,
hardware or the recovery partition their deployment made (issue 24). The image is read once; these facts
decide how its findings bite on each host: they are part of the scan context a read is judged under
(`ScanContext.host`), never of what was read, so one read of the image serves every host.

- `network`: how the host reaches the CRL servers Windows fetches revocation lists from. `online` fetches
  them directly; `offline` (an isolated network) cannot; `proxy` goes through a proxy, which the accounts
  that install updates (SYSTEM, or a user without the proxy's credentials) often cannot pass, so it
  counts as offline for revocation; `unknown` (the default) is judged as offline, as a single scan is.
- `deployed`: the day the host was (or will be) deployed. A host is judged on the later of the run's
  as-of and that day (a host deployed next spring is judged on the day it comes up), and it fails from
  that day at the earliest: what its reference machine's logs showed before capture did not happen to it
  (those log findings are info on it: imgscan.scan).
- `model`: the hardware model, reported with the host; no check reads it yet.
- `recovery_free_bytes`: the free space of the recovery partition the deployment made. A WIM has no
  partitions, so only the host can say; on a disk image the host's value replaces the image's own.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

NETWORKS = ("unknown", "online", "offline", "proxy")
LABELS = ("site", "ring", "owner")  # a host's free labels: no check reads them; the fleet's views show and filter them
# networks where a revocation server may be unreachable: where an offline-revocation setting bites
CRL_UNREACHABLE = frozenset({"unknown", "offline", "proxy"})


@dataclass(frozen=True)
class HostFacts:
    network: str = "unknown"
    deployed: date | None = None
    model: str | None = None
    recovery_free_bytes: int | None = None

    def __post_init__(self) -> None:
        if self.network not in NETWORKS:
            raise ValueError(f"network must be one of {', '.join(NETWORKS)}, not {self.network!r}")

    def judged_on(self, as_of: date) -> date:
        """The day this host is judged on: the run's as-of, or its deployment day when that is later."""
        return max(as_of, self.deployed) if self.deployed else as_of

    def verdict_key(self) -> tuple[str, str, int | None]:
        """The facts a check reads (the deployment day acts through `judged_on`): hosts with equal keys,
        firmware and judging day get equal findings."""
        return (self.network, self.deployed.isoformat() if self.deployed else "", self.recovery_free_bytes)

    def as_dict(self) -> dict[str, object]:
        return {
            "network": self.network,
            "deployed": self.deployed.isoformat() if self.deployed else None,
            "model": self.model,
            "recovery_free_bytes": self.recovery_free_bytes,
        }


DEFAULT_FACTS = HostFacts()
