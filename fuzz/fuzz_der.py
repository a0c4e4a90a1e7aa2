"""The catalog member-list DER walker (`imgscan.catalog._indirect_digests`) against asn1crypto.

Input: the contents octets of a catalog's TrustedSubjects (SEQUENCE OF TrustedSubject), the bytes
`_member_digests` hands to the walker.

Contract:
- the walker yields bytes, or raises `_NotPlainDer` (then `_member_digests` reads the list with
  asn1crypto instead); nothing else;
- differential: whenever the walker reads a member list, asn1crypto reads the same bytes as the same
  set of digests (so a catalog vouches for the same files whichever reader is used);
- `_member_digests` returns a frozenset of bytes or raises one of `MALFORMED`, which
  `parse_catalog` turns into `CatalogError`;
- 1 GB and 10 s per input at most (the walker holds nothing but the digests).
"""

from __future__ import annotations

from collections.abc import Iterator

from fuzz.engine import Limits, fuzz, instrumented

with instrumented(__name__, "asn1crypto"):
    from imgscan import catalog  # the signing code (moves to imgscan.signing)

LIMITS = Limits(rss_mb=1024, seconds=10, max_len=4096, ci_runs=1500)


def _sequence(contents: bytes) -> bytes:
    """`contents` as a DER SEQUENCE (the TrustedSubjects element itself)."""
    size = len(contents)
    length = bytes([size]) if size < 0x80 else bytes([0x80 | 4]) + size.to_bytes(4, "big")
    return b"\x30" + length + contents


def check(data: bytes) -> None:
    subjects = catalog._TrustedSubjects.load(_sequence(data), strict=False)
    try:
        fast: frozenset[bytes] | None = frozenset(catalog._indirect_digests(data))
    except catalog._NotPlainDer:
        fast = None
    try:
        reference: frozenset[bytes] | str = catalog._member_digests_asn1(subjects)
    except catalog.MALFORMED as exc:
        reference = f"asn1crypto cannot read it: {exc!r}"
    if fast is not None:
        assert fast == reference, f"walker read {sorted(fast)!r}, asn1crypto {reference!r}"
    try:
        found = catalog._member_digests(catalog._TrustedSubjects.load(_sequence(data), strict=False))
    except catalog.MALFORMED:
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
            subjects = content.parse(spec=catalog.CertificateTrustList)["trusted_subjects"]
            members = [subject.dump() for subject in subjects]
        except (ValueError, TypeError, KeyError, AttributeError):
            continue
        for count in (1, 3):
            if members:
                yield b"".join(members[:count])


if __name__ == "__main__":
    fuzz(check, LIMITS)
