"""The unit of fleet work: one image, read once, and every host built from it judged on that read.

`scan_image` opens (and hashes) the image once for all its hosts, reads the kinds its checks need once
(`imgscan.scan.read`: hives, packages, catalogs with their verdicts, logs), and judges that read once per
distinct host context (`imgscan.scan.judge`): hosts whose settings are equal (firmware, dbx, network,
deployment day, recovery space) share one judgement, so 10,000 hosts on one image with three kinds of
firmware cost one read and three judgements. It never raises: an image that cannot be opened or read is
an error row for each of its hosts. `judge_host` is the one place that turns one host's facts into its
scan context and its report.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

from imgscan.errors import ImgscanError
from imgscan.fleet.host import FleetHost

if TYPE_CHECKING:
    from imgscan.context import ScanContext
    from imgscan.loader import LoadedChecks
    from imgscan.report import Report
    from imgscan.scan import Loaded


@dataclass(frozen=True)
class FleetOptions:
    """The scan options every host of a run shares; their fingerprint is part of the resume key."""

    as_of: str
    horizon_days: int
    plugins: tuple[str, ...] = ()

    def fingerprint(self) -> str:
        return hashlib.sha256(json.dumps(asdict(self), sort_keys=True).encode()).hexdigest()[:16]


def host_context(host: FleetHost, options: FleetOptions) -> ScanContext:
    """The scan context of one host: the run's horizon, the host's firmware and facts, judged on the later
    of the run's as-of and the host's deployment day (imgscan.hosts). A fleet applies no ignore file, so it
    needs no day of the run."""
    from imgscan.context import ScanContext

    return ScanContext(
        as_of=host.facts.judged_on(date.fromisoformat(options.as_of)),
        horizon_days=options.horizon_days,
        firmware=host.target_firmware,
        dbx=host.target_dbx,
        host=host.facts,
    )


def judge_host(loaded: Loaded, host: FleetHost, options: FleetOptions, checks: LoadedChecks) -> Report:
    """One host's report: the image's one read judged under this host's scan context."""
    from imgscan.scan import judge

    return judge(loaded, checks, host_context(host, options)).report


def scan_image(hosts: list[FleetHost], options: FleetOptions, cache_db: str | None = None) -> list[dict[str, Any]]:
    """Read the image the `hosts` share once and judge each; one result per host, in their order:
    {"key", "path", "host", "labels", "settings", "facts", "report" | "error", "verdict_cache"}.
    `cache_db`: the fleet database whose verdict cache the read shares with other images; the read's
    catalog verdicts (reused, judged) are counted on the first host's row, the only read of the image."""
    from imgscan.fleet.database import open_database
    from imgscan.image import Selection, open_image
    from imgscan.interrupt import doing
    from imgscan.kinds import LoadSettings
    from imgscan.loader import load_checks
    from imgscan.scan import read
    from imgscan.signing.verdict_cache import VerdictCache

    first = hosts[0]
    results = [_result(host) for host in hosts]
    db = cache = None
    try:
        if cache_db:
            db = open_database(cache_db)
            cache = VerdictCache(db)
        checks = load_checks([Path(p) for p in options.plugins])
        selection = Selection(first.index, first.image_name)
        with doing("scanning", subject=first.path), open_image(Path(first.path), selection, checks.kinds.paths()) as opened:
            loaded = read(opened, checks, LoadSettings(verdict_cache=cache))
            if cache:
                results[0]["verdict_cache"] = {"reused": cache.hits, "judged": cache.misses}
            judged: dict[str, Report] = {}
            for host, result in zip(hosts, results, strict=True):
                settings = host.settings()
                try:
                    if settings not in judged:
                        judged[settings] = judge_host(loaded, host, options, checks)
                    result["report"] = judged[settings]
                except ImgscanError as exc:
                    result["error"] = str(exc)
                except Exception as exc:  # noqa: BLE001 - one host's crash must not end its image's others
                    result["error"] = _one_line(exc)
    except ImgscanError as exc:
        for result in results:
            result.setdefault("error", str(exc))
    except Exception as exc:  # noqa: BLE001 - one bad image must not end the fleet
        for result in results:
            result.setdefault("error", _one_line(exc))
    finally:
        if db:
            db.close()
    return results


def _result(host: FleetHost) -> dict[str, Any]:
    return {
        "key": host.key,
        "path": host.path,
        "host": host.name,
        "index": host.index,
        "image_name": host.image_name,
        "labels": host.labels,
        "settings": host.settings(),
        "facts": host.facts.as_dict(),
    }


def error_results(hosts: list[FleetHost], error: str) -> list[dict[str, Any]]:
    """The rows of an image whose scan could not finish (its worker died)."""
    return [_result(host) | {"error": error} for host in hosts]


def _one_line(exc: Exception) -> str:
    return f"{type(exc).__name__}: {exc}".splitlines()[0]
