"""Every catalog of the image, parsed and judged once per distinct content.

Catalogs live in three places: `Windows\\servicing\\Packages` (next to each
.mum), `Windows\\winsxs\\Catalogs` (named by the SHA-256 of their bytes; on a
real image most are byte copies of a servicing\\Packages catalog) and
CatRoot `{F750E6C3-38EE-11D1-85E5-00C04FC295EE}`. Copies share one parse and
one verdict, and a package's catalogs are its own .cat plus every copy of it.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import date, datetime
from typing import TYPE_CHECKING

from imgscan.image.volume import WindowsVolume, child_path
from imgscan.progress import item_bar
from imgscan.report import CatalogEvidence, CatalogValidity, SignatureSummary
from imgscan.servicing import PACKAGES_DIR, Package
from imgscan.signing.certs import EKU_LIFETIME_SIGNING, EKU_TIMESTAMPING, iso
from imgscan.timing import Phase, validity_word

if TYPE_CHECKING:  # the parsing and judging stack is loaded by a scan, not by listing the rules
    from imgscan.context import ScanContext
    from imgscan.signing.catalog import Catalog
    from imgscan.signing.validity import Judge, Verdict
    from imgscan.signing.verdict_cache import VerdictCache

CATALOG_DIRS = (
    PACKAGES_DIR,
    r"Windows\winsxs\Catalogs",
    r"Windows\System32\CatRoot\{F750E6C3-38EE-11D1-85E5-00C04FC295EE}",
)


@dataclass(frozen=True)
class CatalogRecord:
    path: str
    sha256: str
    catalog: Catalog | None
    verdict: Verdict | None
    problem: str | None  # why the file is not a readable catalog
    members: frozenset[bytes] | None = None  # member hashes, kept for servicing\\Packages catalogs only
    all_verdicts: tuple[Verdict, ...] | None = None  # dual-signed catalogs: primary then nested verdicts

    def as_dict(self) -> dict[str, object]:
        record: dict[str, object] = {"path": self.path, "sha256": self.sha256}
        if self.problem:
            return record | {"problem": self.problem}
        cat, verdict = self.catalog, self.verdict
        assert cat is not None and verdict is not None
        stamp = cat.timestamp
        return (
            record
            | {
                "signed": cat.signed,
                "signer": cat.signer.describe() if cat.signer else None,
                "digest_algorithm": cat.digest_algorithm,
                "signing_time": iso(cat.signing_time),
                "timestamp": {
                    "kind": stamp.kind,
                    "time": iso(stamp.time),
                    "tsa": stamp.signer.common_name if stamp.signer else None,
                    "tsa_has_timestamping_eku": bool(stamp.signer and EKU_TIMESTAMPING in stamp.signer.ekus),
                    "problem": stamp.problem,
                }
                if stamp
                else {"kind": "none"},
                "lifetime_signing_eku": bool(cat.signer and EKU_LIFETIME_SIGNING in cat.signer.ekus),
                "this_update": iso(cat.this_update),
                "members": cat.member_count,
            }
            | verdict.as_dict()
            | _signatures(self)
        )


def _signatures(record: CatalogRecord) -> dict[str, object]:
    """Dual-signed catalogs: every signature with its own signer, timestamp and verdict (the primary
    decides, see validity rule 8), and notes on parts that could not be read. Empty for the usual
    single signature, so such records keep their old shape."""
    cat = record.catalog
    if cat is None or not (cat.nested or cat.notes):
        return {}
    extra: dict[str, object] = {}
    if cat.nested:
        extra["signatures"] = _summaries(record, cat)
    if cat.notes:
        extra["notes"] = list(cat.notes)
    return extra


def _summaries(record: CatalogRecord, cat: Catalog) -> list[SignatureSummary]:
    pairs = zip((cat, *cat.nested), record.all_verdicts or (), strict=True)
    return [_signature_summary(n, c, v) for n, (c, v) in enumerate(pairs, 1)]


def _signature_summary(number: int, cat: Catalog, verdict: Verdict) -> SignatureSummary:
    stamp = cat.timestamp
    return {
        "signature": "primary" if number == 1 else f"nested {number - 1}",
        "signer": cat.signer.common_name if cat.signer else None,
        "signer_not_after": iso(cat.signer.not_after) if cat.signer else None,
        "digest_algorithm": cat.digest_algorithm,
        "timestamp": stamp.kind if stamp else "none",
        "timestamp_time": iso(stamp.time) if stamp else None,
        "status": verdict.status,
        "valid_until": iso(verdict.valid_until),
        "reason": verdict.reason,
    }


def catalog_paths(volume: WindowsVolume) -> list[str]:
    return [
        child_path(directory, name)
        for directory in CATALOG_DIRS
        for name in volume.listdir(directory)
        if name.lower().endswith(".cat")
    ]


@dataclass
class CatalogSet:
    """All catalog records, indexed by content and by file name for package look-ups."""

    records: list[CatalogRecord]

    def __post_init__(self) -> None:
        self._by_sha: dict[str, list[CatalogRecord]] = {}
        self._by_name: dict[str, list[CatalogRecord]] = {}
        # a package's records by its .cat name, found once per read: the checks and the inventory of every
        # judgement of a fleet ask again for each package (bench/fleet.py, issue 24)
        self._of_package: dict[str, tuple[CatalogRecord, ...]] = {}
        for record in self.records:
            self._by_sha.setdefault(record.sha256, []).append(record)
            self._by_name.setdefault(record.path.rsplit("\\", 1)[-1].lower(), []).append(record)

    def of_package(self, package: Package) -> list[CatalogRecord]:
        """A package's own .cat, its CatRoot namesake and every byte-identical copy; servicing\\Packages first."""
        name = f"{package.identity}.cat".lower()
        held = self._of_package.get(name)
        if held is None:
            found = {r.path: r for r in self._by_name.get(name, [])}
            for record in list(found.values()):
                found.update((r.path, r) for r in self._by_sha[record.sha256])
            own = PACKAGES_DIR.lower() + "\\"
            held = self._of_package[name] = tuple(
                found[p] for p in sorted(found, key=lambda p: (not p.lower().startswith(own), p.lower()))
            )
        return list(held)

    def unverifiable(self, package: Package) -> list[CatalogRecord]:
        """The package's own servicing\\Packages catalog when CBS cannot verify the package with it at all: the
        file is not a readable catalog, or it carries no signature (TRUST_E_NOSIGNATURE). Empty otherwise; a
        good copy elsewhere does not help, CBS opens this one."""
        own = (package.cat_path or "").lower()
        return [
            r
            for r in self.of_package(package)
            if own and r.path.lower() == own and (r.problem or (r.verdict and r.verdict.status == "unsigned"))
        ]


def read_catalogs(volume: WindowsVolume, judge: Judge, jobs: int | None = 1, cache: VerdictCache | None = None) -> CatalogSet:
    """Read every catalog once: parse and judge each distinct content (on `jobs` processes, see
    catalog_workers) unless the verdict `cache` already holds it, and keep the member hashes of package
    catalogs (for `uncovered_manifests`) from that same parse. The cache is asked about LOOKUP_BATCH
    catalogs at a time, so only those bytes wait in memory for its answer."""
    from imgscan.signing.catalog_workers import judging
    from imgscan.signing.verdict_cache import LOOKUP_BATCH

    paths = catalog_paths(volume)
    package_dir = PACKAGES_DIR.lower() + "\\"
    newest: dict[str, tuple[int, bool]] = {}  # content -> (its newest parse, whether it kept members)
    parses = 0  # parses asked for so far: their results come back in this order
    asking: list[tuple[str, str, bytes, bool, str]] = []  # (cache key, path, bytes, members, SHA-256) of the next parses
    fresh: dict[int, str] = {}  # parses the cache did not have: result index -> cache key
    entries: list[tuple[str, str, bool, int] | tuple[str, str]] = []  # read (path, content, ...) or (path, problem)
    with judging(judge, jobs, len(paths)) as work:

        def ask() -> None:
            found = cache.get_many({key: path for key, path, _, _, _ in asking}) if cache else {}
            for key, path, data, members, digest in asking:
                cached = found.get(key)
                index = work.add_known(cached) if cached else work.add(path, data, members, digest)
                if cache and not cached:
                    fresh[index] = key
            asking.clear()

        for path in item_bar(paths, "catalogs", unit="cat"):
            try:
                with volume.open(path) as fh:
                    data = fh.read()
            except OSError as exc:  # ArtefactUnreadable: a directory, broken link, FIFO... named *.cat
                entries.append((path, str(exc).removeprefix(f"{path}: ")))
                continue
            digest = hashlib.sha256(data).hexdigest()
            in_packages = path.lower().startswith(package_dir)
            known = newest.get(digest)
            # a package catalog's member hashes come from the one parse that also judges it (servicing\Packages
            # is listed first, so a copy elsewhere reuses that parse); a copy seen first elsewhere is parsed again
            if known is None or (in_packages and not known[1]):
                asking.append((cache.key(judge, digest, in_packages) if cache else "", path, data, in_packages, digest))
                known = newest[digest] = (parses, in_packages)
                parses += 1
                if len(asking) >= (LOOKUP_BATCH if cache else 1):
                    ask()
            entries.append((path, digest, in_packages, known[0]))
        ask()
        results = work.finish()
    if cache and fresh:
        cache.put({key: results[index] for index, key in fresh.items()})
    records = []
    for entry in entries:
        if len(entry) == 2:
            records.append(CatalogRecord(entry[0], "", None, None, entry[1]))
            continue
        path, digest, in_packages, index = entry
        catalog, verdict, problem, all_verdicts = results[index]
        members = catalog.members if in_packages and catalog is not None and catalog.signed else None
        records.append(CatalogRecord(path, digest, catalog, verdict, problem, members=members, all_verdicts=all_verdicts))
    return CatalogSet(records)


def first_failure(records: list[CatalogRecord]) -> tuple[date | None, bool]:
    """(first day any of `records` fails, whether one never validates at all)."""
    verdicts = [r.verdict for r in records if r.verdict]
    starts = [day for v in verdicts if (day := v.starts()) is not None]
    return (min(starts) if starts else None), any(v.never_valid for v in verdicts)


def first_failure_at(records: list[CatalogRecord]) -> datetime | None:
    """The first moment any of `records` fails (the day `first_failure` gives, to the second)."""
    return min((moment for r in records if r.verdict and (moment := r.verdict.fails_at())), default=None)


def catalog_evidence(record: CatalogRecord, as_of: date) -> CatalogEvidence:
    """The facts of one catalog that explain a finding, compact enough for a table row; `status_as_of`
    is its state on the --as-of day (`status` says only whether the signature has an end)."""
    cat, verdict = record.catalog, record.verdict
    assert cat is not None and verdict is not None
    stamp = cat.timestamp
    evidence: CatalogEvidence = {
        "path": record.path,
        "sha256": record.sha256,
        "signer": cat.signer.common_name if cat.signer else None,
        "signer_not_after": iso(cat.signer.not_after) if cat.signer else None,
        "timestamp": stamp.kind if stamp else "none",
        "timestamp_time": iso(stamp.time) if stamp else None,
        "tsa_has_timestamping_eku": bool(stamp and stamp.signer and EKU_TIMESTAMPING in stamp.signer.ekus),
        "status": verdict.status,
        "status_as_of": validity_word(verdict.status, verdict.starts(), as_of),
        "cause": verdict.cause,
        "valid_until": iso(verdict.valid_until),
        "reason": verdict.reason,
    }
    if cat.nested:  # dual-signed: as in the inventory (_signatures)
        evidence["signatures"] = _summaries(record, cat)
    if cat.notes:
        evidence["notes"] = list(cat.notes)
    return evidence


def package_validity(package: Package, catalogs: CatalogSet, context: ScanContext) -> CatalogValidity:
    """A package's catalog verdict for the package inventory, stamped for the scan context:
    `catalog_status_as_of` is its state on the --as-of day, the word every view shows, and `catalog_phase`
    where its first failure falls (failing, soon: within the horizon, later, never)."""
    records = catalogs.of_package(package)
    own = next((r for r in records if r.verdict and package.cat_path and r.path.lower() == package.cat_path.lower()), None)
    own = own or next((r for r in records if r.verdict), None)
    if own is None:
        status = "unreadable" if records else "no catalog"
        return {
            "catalog_status": status,
            "catalog_valid_until": None,
            "catalog_fails_from": None,
            "catalog_status_as_of": status,
            "catalog_phase": Phase.NEVER.value,
        }
    starts, never_valid = first_failure(records)
    return {
        "catalog_status_as_of": validity_word(own.verdict.status, own.verdict.starts(), context.as_of) if own.verdict else None,
        "catalog_status": own.verdict.status if own.verdict else None,
        "catalog_valid_until": iso(own.verdict.valid_until) if own.verdict else None,
        "catalog_fails_from": "never valid" if never_valid else (starts.isoformat() if starts else None),
        "catalog_phase": (Phase.FAILING if never_valid else context.phase(starts)).value,
    }


def uncovered_manifests(packages: list[Package], catalogs: CatalogSet) -> list[dict[str, str]]:
    """Packages that are not installed whose .mum is not a member of their own readable .cat: CBS cannot
    verify that manifest (for an installed one, the component-store-inconsistent finding says it)."""
    problems = []
    members_of = {r.path.lower(): r.members for r in catalogs.records if r.members is not None}
    for package in packages:
        if package.installed or not package.cat_path or not package.mum_digests:
            continue
        members = members_of.get(package.cat_path.lower())
        if members is not None and not members & package.mum_digests:
            problems.append(
                {
                    "path": package.cat_path,
                    "message": f"does not list {package.mum_path} among its {len(members)} member hash(es): "
                    "CBS cannot verify this package's manifest",
                }
            )
    return problems


def store_problems(package: Package, catalogs: CatalogSet) -> list[tuple[str, str]]:
    """What CheckSUR would report for an installed package, as (kind, what): "CBS MUM Missing", "CBS Catalog
    Missing" or "CBS MUM Corrupt" (its catalog does not list its manifest). Empty for a sound package."""
    problems = []
    if package.mum_path is None:
        problems.append(("CBS MUM Missing", f"{package.identity}.mum"))
    if package.cat_path is None:
        problems.append(("CBS Catalog Missing", f"{package.identity}.cat"))
    own = next((r for r in catalogs.of_package(package) if package.cat_path and r.path.lower() == package.cat_path.lower()), None)
    members = own.members if own else None
    if members is not None and package.mum_digests and not members & package.mum_digests:
        problems.append(("CBS MUM Corrupt", f"{package.identity}.mum not listed in its .cat"))
    return problems
