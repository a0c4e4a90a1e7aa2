"""The unit of fleet work: one image, read once, and every host built from it judged on that read.

`scan_image` opens (and hashes) the image once for all its hosts, reads the kinds its checks need once
(`imgscan.scan.read`: hives, packages, catalogs with their verdicts, logs), and judges that read once per
distinct host context (`imgscan.scan.judge`): hosts with equal `FleetHost.judgement` (firmware, dbx,
network, recovery space, the day judged on, and which failures the image's logs show before the host was
deployed: on an image without failure logs every host deployed by the as-of day shares it) share
one, so 10,000 hosts on one image with three kinds of firmware cost one read and three judgements. With
`--updates`, the run's update packages (read once by the run, `FleetOptions.updates`) are judged on the
image's preflight facts, built once from the same read, on each host's own day (its deployment day where
later than the as-of): hosts judged on one day share them. It never raises: an image that cannot be opened
or read is an error row for each of its hosts. `judge_host` is the one place that turns one host's facts into its
scan context and its report.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from imgscan.errors import ImgscanError
from imgscan.fleet.host import FleetHost
from imgscan.hashing import file_sha256

if TYPE_CHECKING:
    from imgscan.context import ScanContext
    from imgscan.fleet.stored_report import StoredReport
    from imgscan.loader import LoadedChecks
    from imgscan.preflight.facts import ImageFacts
    from imgscan.preflight.package import UpdatePackage
    from imgscan.scan import Loaded


@dataclass(frozen=True)
class FleetOptions:
    """The scan options every host of a run shares; their fingerprint is part of the resume key. `updates`:
    the packages of `--updates`, read once by the run and handed to every image's work (named in the
    fingerprint by their SHA-256)."""

    as_of: str
    horizon_days: int
    plugins: tuple[str, ...] = ()
    updates: tuple[UpdatePackage, ...] = field(default=(), compare=False, repr=False)

    def fingerprint(self) -> str:
        chosen: dict[str, Any] = {"as_of": self.as_of, "horizon_days": self.horizon_days, "plugins": list(self.plugins)}
        if self.updates:  # a run without updates keeps the fingerprint it had before --updates existed
            chosen["updates"] = [u.sha256 for u in self.updates]
        return hashlib.sha256(json.dumps(chosen, sort_keys=True).encode()).hexdigest()[:16]


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


def judge_host(loaded: Loaded, host: FleetHost, options: FleetOptions, checks: LoadedChecks) -> StoredReport:
    """One host's report, as the store keeps it: the image's one read judged under this host's scan context."""
    from imgscan.fleet.stored_report import stored_report
    from imgscan.scan import judge

    judged = judge(loaded, checks, host_context(host, options))
    return stored_report(judged.report, judged.report_json)


def image_facts(loaded: Loaded) -> ImageFacts:
    """The preflight facts of one read image (the same read the hosts' scans are judged on)."""
    from imgscan.preflight.facts import from_artefacts

    return from_artefacts(loaded.artefacts)


def judge_updates(updates: tuple[UpdatePackage, ...], facts: ImageFacts, day: date, horizon_days: int) -> list[dict[str, Any]]:
    """Each update's verdict on a host judged on `day`; `fails_from` is the day it fails on that host: that
    day when it will not install, the day its catalog stops installing when that comes within the horizon."""
    from imgscan.preflight.verdict import judge

    verdicts = []
    for update in updates:
        verdict = judge(update, facts, day, day + timedelta(days=horizon_days))
        fails = day if verdict.status == "will-not-install" else verdict.fails_from
        verdicts.append(
            {
                "file": update.path,
                "sha256": update.sha256,
                "kb": verdict.kb,
                "status": verdict.status,
                "hresult": verdict.hresult,
                "fails_from": fails.isoformat() if fails else None,
                "judged_on": day.isoformat(),
                "summary": verdict.summary,
                "reasons": [r.code for r in (*verdict.reasons, *verdict.later)],
            }
        )
    return verdicts


def scan_image(hosts: list[FleetHost], options: FleetOptions, cache_db: str | None = None) -> list[dict[str, Any]]:
    """Read the image the `hosts` share once and judge each; one result per host, in their order:
    {"key", "path", "host", "labels", "settings", "facts", "report" | "error", "verdict_cache", "updates"}, the
    report as the store keeps it (stored_report.StoredReport), encoded here once per judgement.
    `cache_db`: the fleet database whose verdict cache the read shares with other images; the read's
    catalog verdicts (reused, judged) are counted on the first host's row, the only read of the image."""
    from imgscan.collector import young_collections_only

    with young_collections_only():  # the hosts' results too: they are as many as the hosts
        return _scan_image(hosts, options, cache_db)


def _scan_image(hosts: list[FleetHost], options: FleetOptions, cache_db: str | None) -> list[dict[str, Any]]:
    """`scan_image`: an image that cannot be read, or a host whose judgement fails, is an error result."""
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
        with (
            doing("scanning", subject=first.path),
            open_image(Path(first.path), selection, checks.kinds.paths()) as opened,
        ):
            loaded = read(opened, checks, LoadSettings(verdict_cache=cache), judged_often=True)
            if cache:
                results[0]["verdict_cache"] = {"reused": cache.hits, "judged": cache.misses}
            facts = image_facts(loaded) if options.updates else None
            judged: dict[tuple[object, ...], StoredReport] = {}  # by FleetHost.judgement: hosts judged alike share one
            updates: dict[date, list[dict[str, Any]]] = {}  # each update's verdicts by the day a host is judged on
            as_of = date.fromisoformat(options.as_of)
            observed: tuple[str, ...] | None = None  # the days the image's logs show failures: from its first report
            for host, result in zip(hosts, results, strict=True):
                try:
                    if observed is None:
                        report = judge_host(loaded, host, options, checks)
                        observed = report.observed_days
                        judged[host.judgement(as_of, observed)] = report
                    judgement = host.judgement(as_of, observed)
                    if judgement not in judged:
                        judged[judgement] = judge_host(loaded, host, options, checks)
                    result["report"] = judged[judgement]
                    if facts is not None:
                        day = judgement[-1]  # the day it is judged on
                        if day not in updates:
                            updates[day] = judge_updates(options.updates, facts, day, options.horizon_days)
                        result["updates"] = updates[day]
                except ImgscanError as exc:
                    result["error"] = str(exc)
                except Exception as exc:  # noqa: BLE001 - one host's crash must not end its image's others
                    result["error"] = _one_line(exc)
    except ImgscanError as exc:
        _unreadable(results, str(exc), Path(first.path))
    except Exception as exc:  # noqa: BLE001 - one bad image must not end the fleet
        _unreadable(results, _one_line(exc), Path(first.path))
    finally:
        if db:
            db.close()
    return results


def _unreadable(results: list[dict[str, Any]], error: str, path: Path) -> None:
    """Each host of an image that could not be read gets the error, and the SHA-256 of the file it names: the
    evidence a responder will ask about first is the capture that failed (none for a folder or a missing file)."""
    try:
        digest = file_sha256(path) if path.is_file() else None
    except OSError:
        digest = None
    for result in results:
        result.setdefault("error", error)
        if digest and "report" not in result:
            result.setdefault("sha256", digest)


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
