"""Kind `catalogs`: every catalog of the image with its verdict, and the trust stores it was judged by.

Its inventory sections are the packages with their catalogs' verdicts (a package's validity is its
catalogs'), the catalogs, and the trust stores."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from imgscan.artefacts.catalog_set import CatalogSet, catalog_paths, package_validity, read_catalogs, uncovered_manifests
from imgscan.artefacts.judge import SIGNATURE_JUDGE
from imgscan.artefacts.packages import PACKAGES
from imgscan.kinds import ErrorList, Kind, Section
from imgscan.report import TrustJson
from imgscan.servicing_levels import is_ssu
from imgscan.timing import validity_word

if TYPE_CHECKING:
    from imgscan.kinds import InventoryContext, Loader


@dataclass
class Catalogs:
    catalogs: CatalogSet = field(default_factory=lambda: CatalogSet([]))
    trust: TrustJson = field(default_factory=lambda: TrustJson())
    errors: list[dict[str, str]] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.catalogs.records)


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
    """Stamped once under the scan context: each package's and catalog's state on the as-of day."""
    scan = context.scan
    return {
        "packages": [
            p.as_dict() | {"servicing_stack_update": is_ssu(p)} | package_validity(p, found.catalogs, scan)
            for p in context.get(PACKAGES).packages
        ],
        "catalogs": [
            r.as_dict()
            | {"status_as_of": validity_word(r.verdict.status, r.verdict.starts(), scan.as_of) if r.verdict else "unreadable"}
            for r in found.catalogs.records
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
