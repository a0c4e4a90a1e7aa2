"""A catalog's member hashes from the minimal DER reader agree with asn1crypto's full parse on real
catalogs, and a member list the reader does not handle falls back to asn1crypto."""

from __future__ import annotations

from pathlib import Path

import pytest
from asn1crypto import core

from imgscan.catalog import CertificateTrustList, _ContentInfo, _indirect_digests, _member_digests, _member_digests_asn1

REAL = sorted((Path(__file__).resolve().parents[3] / "shared" / "realdata" / "catalogs").glob("*.cat"))


def _subjects(path: Path):
    info = _ContentInfo.load(path.read_bytes(), strict=False)
    return info["content"]["encap"]["content"].parse(spec=CertificateTrustList)["trusted_subjects"]


WITH_MEMBERS = [p for p in REAL if not isinstance(_subjects(p), core.Void)]


@pytest.mark.parametrize("path", WITH_MEMBERS, ids=lambda p: p.name)
def test_fast_reader_agrees_with_asn1crypto(path):
    subjects = _subjects(path)
    fast = frozenset(_indirect_digests(subjects.contents))
    assert fast == _member_digests_asn1(subjects) and all(len(d) in (20, 32) for d in fast)


def test_real_catalogs_with_members_are_covered():
    assert len(WITH_MEMBERS) >= 10


def test_a_member_list_in_ber_falls_back(monkeypatch):
    subjects = _subjects(next(p for p in REAL if p.name.startswith("kb4538483_x64_package_2")))
    expected = _member_digests_asn1(subjects)
    # the same list with the first element's length in BER's indefinite form (0x80)
    ber = subjects.contents[:1] + b"\x80" + subjects.contents[2:]
    monkeypatch.setattr(type(subjects), "contents", property(lambda self: ber), raising=False)
    assert _member_digests(subjects) == expected
