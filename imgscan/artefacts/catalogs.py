"""Kind `catalogs`: every catalog of the image with its verdict, and the trust stores it was judged by.

Its inventory sections are the packages with their catalogs' verdicts (a package's validity is its
catalogs'), the catalogs, and the trust stores."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from functools import cached_property
from typing import TYPE_CHECKING, Any

from imgscan.artefacts.catalog_set import CatalogSet, catalog_paths, package_validity, read_catalogs, uncovered_manifests
from imgscan.artefacts.judge import SIGNATURE_JUDGE
from imgscan.artefacts.packages import PACKAGES
from imgscan.kinds import ErrorList, Kind, Section
from imgscan.report import TrustJson
from imgscan.servicing import Package
from imgscan.servicing_levels import is_ssu
from imgscan.timing import validity_word

if TYPE_CHECKING:
    from imgscan.context import ScanContext
    from imgscan.kinds import InventoryContext, Loader


@dataclass
class Catalogs:
    catalogs: CatalogSet = field(default_factory=lambda: CatalogSet([]))
    trust: TrustJson = field(default_factory=lambda: TrustJson())
    errors: list[dict[str, str]] = field(default_factory=list)

    # what the inventory says of each package and catalog whatever the day: built once per read, since a
    # fleet judges one read for every distinct host setting (its day, network...) and rebuilding them in each
    # judgement was a sixth of a worker's judging CPU (bench/fleet.py, issue 24); each judgement adds its day's words
    _packages: tuple[list[Package], list[dict[str, Any]]] | None = field(default=None, init=False, repr=False, compare=False)
    # the inventory section by (as-of day, horizon), with the package list it was stamped for
    _sections: dict[tuple[date, int], tuple[list[Package], Section]] = field(
        default_factory=dict, init=False, repr=False, compare=False
    )

    def __bool__(self) -> bool:
        return bool(self.catalogs.records)

    @cached_property
    def record_dicts(self) -> list[dict[str, object]]:
        """Each catalog as the inventory shows it, without its state on the as-of day."""
        return [r.as_dict() for r in self.catalogs.records]

    def package_dicts(self, packages: list[Package]) -> list[dict[str, Any]]:
        """Each package as the inventory shows it, without its catalog's state on the as-of day (`packages` is
        the read's list, the same object in every judgement)."""
        if self._packages is None or self._packages[0] is not packages:
            self._packages = (packages, [p.as_dict() | {"servicing_stack_update": is_ssu(p)} for p in packages])
        return self._packages[1]


def load(art: Loader) -> Catalogs:
    if not catalog_paths(art.volume):
        return Catalogs()
    judge = art.get(SIGNATURE_JUDGE)
    store = judge.store
    errors = [{"path": r"SOFTWARE\Microsoft\SystemCertificates", "message": p} for p in store.problems]
    packages = art.get(PACKAGES)
    trust: TrustJson = {
        "image_roots": store.count("image"),
        "bundled_roots": store.count("bundled"),
        "eku_mitigation": packages.mitigation,
    }
    catalogs = read_catalogs(art.volume, judge, art.settings.jobs, art.settings.verdict_cache)
    return Catalogs(catalogs, trust, errors + uncovered_manifests(packages.packages, catalogs))


def inventory(found: Catalogs, context: InventoryContext) -> Section:
    """Stamped under the scan context: each package's and catalog's state on the as-of day. The words depend
    on nothing else of the context than the as-of day and the horizon, so the judgements of one read on one
    day share the section (a fleet judges a read for every distinct host: treat it as read-only)."""
    scan = context.scan
    packages = context.get(PACKAGES).packages
    key = (scan.as_of, scan.horizon_days)
    kept = found._sections.get(key)
    if kept is None or kept[0] is not packages:
        kept = found._sections[key] = (packages, _stamped(found, packages, scan))
    return kept[1]


def _stamped(found: Catalogs, packages: list[Package], scan: ScanContext) -> Section:
    return {
        "packages": [
            fixed | package_validity(p, found.catalogs, scan)
            for p, fixed in zip(packages, found.package_dicts(packages), strict=True)
        ],
        "catalogs": [
            fixed
            | {"status_as_of": validity_word(r.verdict.status, r.verdict.starts(), scan.as_of) if r.verdict else "unreadable"}
            for r, fixed in zip(found.catalogs.records, found.record_dicts, strict=True)
        ],
        "trust": found.trust,
    }


def errors(found: Catalogs) -> ErrorList:
    return found.errors


CATALOGS = Kind(
    name="catalogs",
    paths=(
        "/Windows/servicing/Packages/*.cat",
        "/Windows/winsxs/Catalogs/*.cat",
        "/Windows/System32/CatRoot/{F750E6C3-38EE-11D1-85E5-00C04FC295EE}/*.cat",
    ),
    load=load,
    requires=(PACKAGES, SIGNATURE_JUDGE),
    absent="the image has no catalogs",
    inventory=inventory,
    errors=errors,
    reading="reading the catalogs",
)
