"""The unit of fleet work: one image, read once, and every host built from it judged on it.

`scan_image` opens (and hashes) the image once for all its hosts and never raises: an image that cannot
be opened is an error row for each of its hosts. Hosts whose settings are equal (firmware, dbx, network,
deployment day, recovery space) share one judgement, so 10,000 hosts on one image with three kinds of
firmware cost one opening and three judgements. `judge_host` is the one place that turns the image and
one host's facts into that host's report.

Today a judgement still reads the hives, packages, catalogs and logs of the opened image again (the
verdict cache spares judging the catalogs again); the read-once seam of DESIGN-23 (ScanContext) is to
replace `judge_host`'s body so that artefacts are read once and only the checks run per host.
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
    from imgscan.image import OpenedImage
    from imgscan.loader import LoadedChecks
    from imgscan.report import Report
    from imgscan.signing.verdict_cache import VerdictCache


@dataclass(frozen=True)
class FleetOptions:
    """The scan options every host of a run shares; their fingerprint is part of the resume key."""

    as_of: str
    horizon_days: int
    plugins: tuple[str, ...] = ()

    def fingerprint(self) -> str:
        return hashlib.sha256(json.dumps(asdict(self), sort_keys=True).encode()).hexdigest()[:16]


def judge_host(
    opened: OpenedImage, host: FleetHost, options: FleetOptions, checks: LoadedChecks, cache: VerdictCache | None
) -> Report:
    """One host's report: the opened image judged with this host's facts, on the later of the run's as-of
    and the host's deployment day (imgscan.hosts)."""
    from imgscan.scan import Options, scan_volume

    as_of = host.facts.judged_on(date.fromisoformat(options.as_of))
    settings = Options(
        horizon_days=options.horizon_days,
        verdict_cache=cache,
        target_firmware=host.target_firmware,
        target_dbx=host.target_dbx,
        host_facts=host.facts,
    )
    return scan_volume(opened, as_of, checks, settings).report


def scan_image(hosts: list[FleetHost], options: FleetOptions, cache_db: str | None = None) -> list[dict[str, Any]]:
    """Read the image the `hosts` share once and judge each; one result per host, in their order:
    {"key", "path", "host", "labels", "settings", "facts", "report" | "error", "verdict_cache"}.
    `cache_db`: the fleet database whose verdict cache the judgements share with other images."""
    from imgscan.artefacts import wanted_paths
    from imgscan.fleet.database import open_database
    from imgscan.image import Selection, open_image
    from imgscan.interrupt import doing
    from imgscan.loader import load_checks
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
        with doing("scanning", subject=first.path), open_image(Path(first.path), selection, wanted_paths()) as opened:
            judged: dict[str, Report] = {}
            for host, result in zip(hosts, results, strict=True):
                settings = host.settings()
                before = (cache.hits, cache.misses) if cache else (0, 0)
                try:
                    if settings not in judged:
                        judged[settings] = judge_host(opened, host, options, checks, cache)
                    result["report"] = judged[settings]
                except ImgscanError as exc:
                    result["error"] = str(exc)
                except Exception as exc:  # noqa: BLE001 - one host's crash must not end its image's others
                    result["error"] = _one_line(exc)
                if cache:
                    result["verdict_cache"] = {"reused": cache.hits - before[0], "judged": cache.misses - before[1]}
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
