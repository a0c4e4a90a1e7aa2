"""Which packages Win32_QuickFixEngineering lists (qfe_rows) and which it has to open (qfe_opened, what
qfe-empty judges): updates by KB, never Windows' own foundation, edition, feature or language packages,
which still count when CBS cannot open them."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime, timezone

import pytest
from imgscan.plugins.qfe_empty import QfeEmpty

from imgscan.servicing import Package, _kb, _manifest_facts, qfe_opened, qfe_rows
from sample_images.scenario import load, volume_files
from tests.conftest import REALDATA
from tests.unit.helpers import at, kinds_of, run_check

REAL_CATALOGS = REALDATA / "catalogs"
FOUNDATION = "Microsoft-Windows-Foundation-Package~31bf3856ad364e35~amd64~~6.1.7601.17514"


SYSTEM = "NT AUTHORITY\\SYSTEM"


def _package(name: str, identifier: str | None, release_type: str | None, day: int, state: int = 0x70, user: str = "S-1-5-18"):
    """A registered package `name~31bf3856ad364e35~amd64~~6.1.1.0` whose manifest has `identifier` (None: no manifest)."""
    identity = f"{name}~31bf3856ad364e35~amd64~~6.1.1.0"
    when = datetime(2012, 9, day, 10, tzinfo=timezone.utc)
    return Package(identity, state, when, user, _kb(identifier, identity), release_type, None, None, None, identifier=identifier)


def _own(name: str, release_type: str, identifier: str | None = None):
    """One of Windows' own packages: it names itself (the real KB2891638's language children do)."""
    return _package(name, identifier or name, release_type, 1)


def test_rows_are_the_installed_updates_one_per_kb():
    packages = [
        _own("Microsoft-Windows-Foundation-Package", "Foundation"),
        _own("Microsoft-Windows-EnterpriseEdition", "Product"),
        _own("Microsoft-Windows-Client-LanguagePack-Package", "Language Pack", "Windows 7 Language Pack"),
        _own("Microsoft-Windows-Client-Features-Package", "Feature Pack"),
        _own("Microsoft-Windows-EnterpriseClientSync-Host-Win7-Package", "Language Pack"),  # brought by KB2891638
        # an update's packages share its KB: one row, dated by the earliest
        _package("Package_2_for_KB2705219", "KB2705219", "Security Update", 14),
        _package("Package_for_KB2705219", "KB2705219", "Security Update", 12),
        # a KB's alternative top-level package ("update-bf.mum" in the real KB2999226), installed by a user
        _package("Package_for_KB2999226_BF", "KB2999226_BF", "Update", 20, user="S-1-5-21-1-2-3-1001"),
        # a Feature Pack that names a KB is listed, as the real KB943790's manifest would be
        _package("Microsoft-Windows-Fmapi-Package", "KB943790", "Feature Pack", 21),
        # staged and superseded packages are not installed updates
        _package("Package_for_KB2731847", "KB2731847", "Update", 22, state=0x40),
        _package("Package_for_KB2506212", "KB2506212", "Update", 22, state=0x50),
        # no readable manifest: the KB its name gives, release type unknown
        _package("Package_for_KB2813347", None, None, 23),
    ]
    assert qfe_rows(packages) == [
        {"HotFixID": "KB2705219", "Description": "Security Update", "InstalledOn": "9/12/2012", "InstalledBy": SYSTEM},
        {"HotFixID": "KB2813347", "Description": None, "InstalledOn": "9/23/2012", "InstalledBy": SYSTEM},
        {"HotFixID": "KB2999226", "Description": "Update", "InstalledOn": "9/20/2012", "InstalledBy": "S-1-5-21-1-2-3-1001"},
        {"HotFixID": "KB943790", "Description": "Feature Pack", "InstalledOn": "9/21/2012", "InstalledBy": SYSTEM},
    ]
    # CBS opens every installed package to answer the query, the unlisted ones too
    assert {p.identity for p in qfe_opened(packages)} == {p.identity for p in packages if p.state == 0x70}


@pytest.mark.realdata
def test_real_update_manifests_name_their_kb():
    """Every package of the real KB4538483 names the KB as identifier, whatever the package is called."""
    for path in sorted(REAL_CATALOGS.glob("kb4538483_*.mum")):
        identifier, release_type, _stack = _manifest_facts(path.read_bytes())
        package = _package(path.stem.removeprefix("kb4538483_x64_").split("~")[0], identifier, release_type, 1)
        assert (package.kb, package.is_update) == ("KB4538483", True), path.name


def _qfe_empty(scenario, as_of: date):
    """qfe-empty alone on the scenario's kinds: its findings as the report gives them, and the packages read."""
    kinds = kinds_of(QfeEmpty, dict(volume_files(scenario)))
    found = run_check(QfeEmpty, at(as_of.isoformat()), **kinds).stamped
    return [f.to_dict() for f in found], kinds["packages"].packages


def test_windows_own_packages_do_not_change_the_verdict():
    for name, as_of in (("healthy", date(2013, 7, 1)), ("healthy", date(2026, 12, 2)), ("ref-w7-2012q3", date(2013, 7, 1))):
        scenario = load(name)
        assert {p.identity for p in scenario.base_packages} >= {FOUNDATION}
        bare = replace(scenario, base_packages=[])
        with_base, packages = _qfe_empty(scenario, as_of)
        without_base, _ = _qfe_empty(bare, as_of)
        assert [(f["severity"], f["starts"], f["message"]) for f in with_base] == [
            (f["severity"], f["starts"], f["message"]) for f in without_base
        ]
        assert FOUNDATION in {p.identity for p in packages}
    (ref_w7_2012q3,) = with_base  # ref-w7-2012q3 still fires as before: KB2705219's and KB2731847's catalogs
    assert (ref_w7_2012q3["severity"], ref_w7_2012q3["starts"]) == ("critical", "2013-06-30")
    assert {e["kb"] for e in ref_w7_2012q3["evidence"]} == {"KB2705219", "KB2731847"}
    assert "invalid: KB2705219 (3 packages, from 2013-06-30), KB2731847 (1 package, from 2013-10-15)." in ref_w7_2012q3["message"]


def test_a_foundation_package_whose_catalog_fails_empties_the_list_though_never_listed():
    scenario = load("healthy")
    foundation = next(p for p in scenario.base_packages if p.identity == FOUNDATION)
    foundation.timestamp = "none"  # its signer expired on 2011-03-07: no timestamp, no valid signature
    (found,), packages = _qfe_empty(scenario, date(2013, 7, 1))
    assert (found["severity"], found["starts"]) == ("critical", "2011-03-07")  # the day its signer expired
    assert [e["package"] for e in found["evidence"]] == [FOUNDATION] and found["evidence"][0]["kb"] is None
    assert "Microsoft-Windows-Foundation-Package (1 package, " in found["message"]
    assert "(1 of them Windows' own packages, which wmic qfe never lists but opens to answer)" in found["message"]
    assert "cannot be uninstalled" in found["remediation"]
    assert FOUNDATION.split("~")[0] not in {row["HotFixID"] for row in qfe_rows(packages)}
