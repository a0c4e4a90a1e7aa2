"""The catalog member-list DER walker (`imgscan.signing.members.indirect_digests`) against asn1crypto.

Input: the contents octets of a catalog's TrustedSubjects (SEQUENCE OF TrustedSubject), the bytes
`member_digests` hands to the walker.

Contract:
- the walker yields bytes, or raises `NotPlainDer` (then `member_digests` reads the list with
  asn1crypto instead); nothing else;
- differential: whenever the walker reads a member list, asn1crypto reads the same bytes as the same
  set of digests (so a catalog vouches for the same files whichever reader is used);
- `member_digests` returns a frozenset of bytes or raises one of `pkcs7.MALFORMED`, which
  `parse_catalog` turns into `CatalogError`;
- 1 GB and 10 s per input at most (the walker holds nothing but the digests).
"""

from __future__ import annotations

from collections.abc import Iterator

from fuzz.engine import Limits, fuzz, instrumented

with instrumented(__name__, "asn1crypto"):
    from imgscan.signing import members, pkcs7

LIMITS = Limits(rss_mb=1024, seconds=10, max_len=4096, ci_runs=1500)


def _sequence(contents: bytes) -> bytes:
    """`contents` as a DER SEQUENCE (the TrustedSubjects element itself)."""
    size = len(contents)
    length = bytes([size]) if size < 0x80 else bytes([0x80 | 4]) + size.to_bytes(4, "big")
    return b"\x30" + length + contents


def check(data: bytes) -> None:
    subjects = pkcs7.TrustedSubjects.load(_sequence(data), strict=False)
    try:
        fast: frozenset[bytes] | None = frozenset(members.indirect_digests(data))
    except members.NotPlainDer:
        fast = None
    try:
        reference: frozenset[bytes] | str = members.member_digests_asn1(subjects)
    except pkcs7.MALFORMED as exc:
        reference = f"asn1crypto cannot read it: {exc!r}"
    if fast is not None:
        assert fast == reference, f"walker read {sorted(fast)!r}, asn1crypto {reference!r}"
    try:
        found = members.member_digests(pkcs7.TrustedSubjects.load(_sequence(data), strict=False))
    except pkcs7.MALFORMED:
        return
    assert isinstance(found, frozenset) and all(isinstance(d, bytes) for d in found)


def seeds() -> Iterator[bytes]:
    """The first members of the sample catalogs and of the real package catalogs."""
    from asn1crypto import cms

    from fuzz.sources import real_files, sample_files

    catalogs = list(real_files("catalogs", ".cat")) + list(sample_files(".cat"))
    for file in catalogs:
        try:
            content = cms.ContentInfo.load(file)["content"]["encap_content_info"]["content"]
            subjects = content.parse(spec=pkcs7.CertificateTrustList)["trusted_subjects"]
            members = [subject.dump() for subject in subjects]
        except (ValueError, TypeError, KeyError, AttributeError):
            continue
        for count in (1, 3):
            if members:
                yield b"".join(members[:count])


if __name__ == "__main__":
    fuzz(check, LIMITS)
