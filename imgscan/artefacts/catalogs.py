"""Kind `catalogs`: every catalog of the image with its verdict, and the trust stores it was judged by."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from imgscan.artefacts.catalog_set import CatalogSet, catalog_paths, read_catalogs, uncovered_manifests

if TYPE_CHECKING:
    from imgscan.artefacts.loading import ArtefactLoader

PATHS = (
    "/Windows/servicing/Packages/*.cat",
    "/Windows/winsxs/Catalogs/*.cat",
    "/Windows/System32/CatRoot/{F750E6C3-38EE-11D1-85E5-00C04FC295EE}/*.cat",
)
ABSENT = "the image has no catalogs"


@dataclass
class Catalogs:
    catalogs: CatalogSet = field(default_factory=lambda: CatalogSet([]))
    trust: dict[str, object] = field(default_factory=dict)
    errors: list[dict[str, str]] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.catalogs.records)


def load(art: ArtefactLoader) -> Catalogs:
    if not catalog_paths(art.volume):
        return Catalogs()
    judge = art.judge()
    store = judge.store
    errors = [{"path": r"SOFTWARE\Microsoft\SystemCertificates", "message": p} for p in store.problems]
    trust: dict[str, object] = {
        "image_roots": store.count("image"),
        "bundled_roots": store.count("bundled"),
        "eku_mitigation": art.mitigation,
    }
    catalogs = read_catalogs(art.volume, judge, art.jobs, art.verdict_cache)
    return Catalogs(catalogs, trust, errors + uncovered_manifests(art.packages, catalogs))
