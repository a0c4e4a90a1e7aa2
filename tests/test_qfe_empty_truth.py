"""qfe-empty says what is true of the package that empties `wmic qfe`, judged by its own catalog.

A user damaged one of KB2705219's three package catalogs in the ref-w7-2012q3 sample (one byte of its RSA
signature, or the file cut short) and scanned it before the real expiry. The cause was named right, but its
qfe-empty consequence said all three packages were "never valid", gave CERT_E_EXPIRED for a bad digest, had no
start and no phase ("undated" in the table) though the list is empty already, and named Package_3's catalog.
The expiry case itself (three packages expiring 2013-06-30) is kept by the golden reports (tests/test_golden.py).
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

from tests.conftest import run_imgscan

AS_OF = "2012-12-01"  # before KB2705219's catalogs expire (2013-06-30), within the default horizon of it
PACKAGES = Path("Windows") / "servicing" / "Packages"
CATROOT = Path("Windows") / "System32" / "CatRoot" / "{F750E6C3-38EE-11D1-85E5-00C04FC295EE}"
PACKAGE_2 = "Package_2_for_KB2705219~31bf3856ad364e35~amd64~~6.1.1.1"
PACKAGE_3 = "Package_3_for_KB2705219~31bf3856ad364e35~amd64~~6.1.1.1"
SIGNATURE_BYTE = 4050  # inside Package_2's primary RSA signature: flipping it gives TRUST_E_BAD_DIGEST


def _flip_signature(tree: Path) -> bytes:
    cat = tree / PACKAGES / f"{PACKAGE_2}.cat"
    data = bytearray(cat.read_bytes())
    data[SIGNATURE_BYTE] ^= 0x55
    cat.write_bytes(bytes(data))
    return bytes(data)


def _cut_short(tree: Path, package: str) -> None:
    cat = tree / PACKAGES / f"{package}.cat"
    cat.write_bytes(cat.read_bytes()[:1000])


def _scan(tree: Path, *args: str) -> dict:
    run = run_imgscan("scan", tree, "--as-of", AS_OF, "--format", "json", *args)
    assert run.code == 1 and "Traceback" not in run.stderr, run.stderr
    return run.report


def _qfe(report: dict) -> dict:
    [qfe] = [f for f in report["findings"] if f["rule"] == "qfe-empty"]
    return qfe


def _table_line(tree: Path) -> str:
    run = run_imgscan("scan", tree, "--as-of", AS_OF)
    [line] = [line for line in run.stdout.splitlines() if line.strip().startswith("CRITICAL qfe-empty")]
    return line


def test_a_bad_digest_in_one_package_is_that_package_its_code_and_already(tree_copy, tmp_path):
    tree = tree_copy("ref-w7-2012q3", tmp_path)
    _flip_signature(tree)
    report = _scan(tree)
    [cause] = [f for f in report["findings"] if f["rule"] == "catalog-untrusted" and PACKAGE_2 in f["message"]]
    assert cause["hresult"] == "0x80096010"
    qfe = _qfe(report)
    assert qfe["caused_by"] == cause["id"]
    # only Package_2 never validates; the other two stay valid until 2013-06-30
    assert "KB2705219 (3 packages: 1 never valid, 2 from 2013-06-30)" in qfe["message"]
    assert "(3 packages, never valid)" not in qfe["message"]
    # the code CBS hits on the package that empties the list, the others' code said in the message
    assert qfe["hresult"] == "0x80096010"
    assert f"The first package to fail, {PACKAGE_2}, fails with 0x80096010; the others with 0x800B0101" in qfe["message"]
    # the list is empty already: no day, but failing, and the table says when
    assert qfe["starts"] is None and "starts_at" not in qfe
    assert qfe["phase"] == "failing"
    assert qfe["hits"].startswith("already")
    # the culprit first: its catalog is the finding's subject in the table
    assert qfe["evidence"][0]["package"] == PACKAGE_2
    assert qfe["evidence"][0]["path"] == str(PACKAGES / f"{PACKAGE_2}.cat").replace("/", "\\")
    assert [e["fails_from"] for e in qfe["evidence"]][:3] == ["already (never valid)", "2013-06-30", "2013-06-30"]
    line = _table_line(tree)
    assert f"{PACKAGE_2}.cat" in line and "(already" in line and "0x80096010" in line and "undated" not in line


def test_a_truncated_catalog_gives_its_own_code_and_names_its_package(tree_copy, tmp_path):
    tree = tree_copy("ref-w7-2012q3", tmp_path)
    _cut_short(tree, PACKAGE_2)
    report = _scan(tree)
    [cause] = [f for f in report["findings"] if f["rule"] == "catalog-unreadable"]
    qfe = _qfe(report)
    assert qfe["caused_by"] == cause["id"]
    assert qfe["hresult"] == "0x800B0100"  # CheckSUR: "CBS Catalog Corrupt 0x800B0100"
    assert qfe["phase"] == "failing" and qfe["starts"] is None
    assert qfe["evidence"][0]["package"] == PACKAGE_2
    assert "KB2705219 (3 packages: 1 never valid, 2 from 2013-06-30)" in qfe["message"]
    line = _table_line(tree)
    assert f"{PACKAGE_2}.cat" in line and PACKAGE_3 not in line and "0x800B0100" in line and "undated" not in line


def test_two_packages_that_never_validate_with_different_codes_say_both(tree_copy, tmp_path):
    tree = tree_copy("ref-w7-2012q3", tmp_path)
    _flip_signature(tree)
    _cut_short(tree, PACKAGE_3)
    qfe = _qfe(_scan(tree))
    assert qfe["hresult"] == "0x80096010"
    assert "KB2705219 (3 packages: 2 never valid, 1 from 2013-06-30)" in qfe["message"]
    assert "the others with 0x800B0100 (1 package), 0x800B0101 (2 packages)." in qfe["message"]


def test_a_package_is_judged_by_the_catalog_cbs_opens(tree_copy, tmp_path):
    """A damaged CatRoot namesake does not stop CBS opening the package: it opens servicing\\Packages."""
    tree = tree_copy("ref-w7-2012q3", tmp_path)
    (tmp_path / "scratch").mkdir()
    bad = _flip_signature(tree_copy("ref-w7-2012q3", tmp_path / "scratch"))
    (tree / CATROOT / "Package_for_KB2506212~31bf3856ad364e35~amd64~~6.1.1.0.cat").write_bytes(bad)
    qfe = _qfe(_scan(tree))
    assert all("KB2506212" not in str(e["kb"]) for e in qfe["evidence"])
    assert qfe["starts"] == "2013-06-30" and qfe["phase"] == "soon" and qfe["hresult"] == "0x800B0101"


def test_the_expiry_case_keeps_its_words():
    from plugins.qfe_empty import Culprit, _by_update

    culprits = [Culprit(date(2013, 6, 30), None, "0x800B0101", {"package": f"P{n}", "kb": "KB2705219"}) for n in range(3)] + [
        Culprit(date(2013, 10, 15), None, "0x800B0101", {"package": "Q", "kb": "KB2731847"})
    ]
    assert _by_update(culprits) == "KB2705219 (3 packages, from 2013-06-30), KB2731847 (1 package, from 2013-10-15)"
    never = [Culprit(None, None, "0x80096010", {"package": f"P{n}", "kb": "KB1"}) for n in range(2)]
    assert _by_update(never) == "KB1 (2 packages, never valid)"
