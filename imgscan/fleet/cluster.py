"""A Dask cluster that judges each distinct catalog once for the whole fleet, before any host is scanned.

Hosts built from one golden image hold the same catalogs. Scanned side by side on a cluster, every worker
would judge them all again; instead the run goes in three steps:

1. survey: each image (once for all the hosts built from it) is opened and its catalogs read and hashed,
   not judged; it reports the verdict cache keys of its catalogs (content, trust stores and mitigation:
   `VerdictCache.key`, which no host fact changes);
2. judge: the keys the store's verdict cache lacks are judged once each, spread over the images that hold
   them and in chunks over the workers; the verdicts go into the store;
3. the images are scanned as usual, each read once and judged for each of its hosts, taking every
   catalog's verdict from the store (see run.run_dask).

A later run on the same images finds every verdict in the store and judges nothing. An image that cannot
be surveyed or judged is left to its scan, which judges what it needs or reports why it cannot be read.
"""

from __future__ import annotations

import hashlib
import math
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from imgscan.signing.verdict_cache import VerdictCache

if TYPE_CHECKING:
    from imgscan.fleet.host import FleetHost
    from imgscan.fleet.store import Store
    from imgscan.fleet.work import FleetOptions
    from imgscan.image.volume import WindowsVolume
    from imgscan.signing.catalog_workers import Known
    from imgscan.signing.validity import Judge


Image = tuple[str, int | None, str | None]  # FleetHost.image: a file, and which image of a WIM
MIN_CHUNK = 32  # catalogs per judging task at least: each task opens its image once
UNJUDGED: Known = (None, None, "not judged in the survey", None)


class _Survey(VerdictCache):
    """A verdict cache that judges nothing: it notes each key the scan's catalog reader looks up, with the
    catalog's path, and answers with a placeholder, so the keys are exactly those a scan will look up."""

    def __init__(self) -> None:  # no database: nothing is stored
        self.seen: dict[str, str] = {}
        self.hits = self.misses = 0

    def get_many(self, wanted: dict[str, str]) -> dict[str, Known]:
        for key, path in wanted.items():
            self.seen.setdefault(key, path)
        return dict.fromkeys(wanted, UNJUDGED)

    def put(self, results: dict[str, Known]) -> None:
        raise AssertionError("a survey judges nothing, so it has nothing to store")


@contextmanager
def _image(host: FleetHost) -> Iterator[tuple[WindowsVolume, Judge]]:
    """The image `host` was built from (which image of a WIM too) opened as its scan opens it, with its
    signature judge (its trust stores and mitigation, what a verdict cache key depends on). Reading an
    image needs no as-of day and no host fact."""
    from imgscan.artefacts import SIGNATURE_JUDGE, Artefacts, builtin_registry
    from imgscan.image import Selection, open_image

    registry = builtin_registry()
    with open_image(Path(host.path), Selection(host.index, host.image_name), registry.paths()) as opened:
        yield opened.volume, Artefacts(opened, registry).get(SIGNATURE_JUDGE)


def survey(host: FleetHost) -> dict[str, str]:
    """{verdict cache key: catalog path} of one image; empty when it cannot be read (its scan says why)."""
    from imgscan.artefacts.catalog_set import catalog_paths, read_catalogs

    recorder = _Survey()
    try:
        with _image(host) as (volume, judge):
            if catalog_paths(volume):
                read_catalogs(volume, judge, 1, recorder)
    except Exception:  # noqa: BLE001 - the scan of this image reports what is wrong with it
        return {}
    return recorder.seen


def judge_catalogs(host: FleetHost, wanted: dict[str, str]) -> dict[str, Known]:
    """Judge the catalogs `wanted` ({key: path}) of one image; a catalog whose key no longer matches (the
    image changed since the survey) is left out, and what is left when the image fails to read is left to
    the scans, which judge what they need."""
    from imgscan.signing.catalog_workers import judge_one

    results: dict[str, Known] = {}
    try:
        with _image(host) as (volume, judge):
            for key, path in wanted.items():
                with volume.open(path) as fh:
                    data = fh.read()
                members = key.endswith(":1")
                digest = hashlib.sha256(data).hexdigest()
                if VerdictCache.key(judge, digest, members) == key:
                    results[key] = judge_one(judge, path, data, members, digest)
    except Exception:  # noqa: BLE001 - the verdicts judged so far still count
        pass
    return results


@dataclass(frozen=True)
class ImageResults:
    """One image's results (work.scan_image) as they travel back from a Dask worker: one object, pickled
    whole, so the reports its hosts share stay shared. Dask sends a bare list element by element, which sent
    each host its own copy of its report and had the store encode every copy again (bench/fleet.py: most
    of the Dask run's extra CPU)."""

    rows: list[dict[str, Any]]


def scan(hosts: list[FleetHost], options: FleetOptions, cache_db: str | None) -> ImageResults:
    """`work.scan_image` on a worker, its results as one object."""
    from imgscan.fleet.work import scan_image

    return ImageResults(scan_image(hosts, options, cache_db))


def plan(surveys: dict[Image, dict[str, str]], known: set[str], slots: int) -> list[tuple[Image, dict[str, str]]]:
    """The judging tasks, (image, {key: catalog path}): each key the store lacks once, taken in turn from
    the images that hold it, in chunks small enough to keep every worker slot busy."""
    holders: dict[str, list[Image]] = defaultdict(list)
    for image, keys in surveys.items():
        for key in keys:
            holders[key].append(image)
    missing = [key for key in holders if key not in known]
    by_image: dict[Image, dict[str, str]] = defaultdict(dict)
    for turn, key in enumerate(missing):
        image = holders[key][turn % len(holders[key])]
        by_image[image][key] = surveys[image][key]
    size = max(MIN_CHUNK, math.ceil(len(missing) / max(1, 2 * slots)))
    tasks = []
    for image, wanted in by_image.items():
        items = list(wanted.items())
        tasks += [(image, dict(items[start : start + size])) for start in range(0, len(items), size)]
    return tasks


def judge_once(client: Any, groups: list[list[FleetHost]], store: Store) -> dict[Image, int]:
    """Survey every image (`groups`: the hosts of each, run.by_image), judge on the cluster the catalogs the
    store lacks, store their verdicts; returns how many catalogs were judged for each image (what the row
    of its first judged host counts as judged)."""
    from dask.distributed import as_completed

    firsts = {group[0].image: group[0] for group in groups}  # an image is opened as its first host's scan opens it
    futures = client.map(survey, list(firsts.values()), pure=False)
    surveys = {image: future.result() for image, future in zip(firsts, futures, strict=True)}
    cache = VerdictCache(store.db)
    known = cache.known({key for keys in surveys.values() for key in keys})
    tasks = plan(surveys, known, sum(client.nthreads().values()))
    judged: dict[Image, int] = defaultdict(int)
    work = {client.submit(judge_catalogs, firsts[image], wanted, pure=False): image for image, wanted in tasks}
    for future in as_completed(work):  # type: ignore[no-untyped-call, unused-ignore]  # distributed is untyped
        results = future.result()
        if results:
            cache.put(results)
        judged[work[future]] += len(results)
        future.release()
    return dict(judged)
