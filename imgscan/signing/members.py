"""The file hashes a catalog vouches for: each member's SPC indirect data digest, used to check that a
package's .mum is really covered by its .cat."""

from __future__ import annotations

from collections.abc import Iterator

from asn1crypto import core

from imgscan.signing.pkcs7 import OID_SPC_INDIRECT_DATA, SPC_INDIRECT_DATA_OID, SpcIndirectData, TrustedSubjects


def member_digests(subjects: TrustedSubjects | core.Void) -> frozenset[bytes]:
    """The digests of every member's SPC indirect data attribute.

    A package catalog lists up to thousands of members; walking them as asn1crypto objects was half
    the cost of a catalog, so the DER is walked here with a minimal reader. A member list in another
    encoding (BER's indefinite lengths, a malformed element) is read by asn1crypto instead."""
    if isinstance(subjects, core.Void):
        return frozenset()
    try:
        return frozenset(indirect_digests(subjects.contents))
    except (_NotPlainDer, ValueError):  # ValueError: an element with fewer parts than its type has
        return member_digests_asn1(subjects)


class _NotPlainDer(Exception):
    """The member list is not in the plain DER the fast reader handles."""


def _tlvs(data: bytes, start: int, end: int) -> Iterator[tuple[int, int, int]]:
    """(tag byte, first content byte, end of content) of each element between start and end."""
    pointer = start
    while pointer < end:
        if pointer + 2 > end or data[pointer] & 0x1F == 0x1F:
            raise _NotPlainDer
        tag, length = data[pointer], data[pointer + 1]
        pointer += 2
        if length & 0x80:
            size = length & 0x7F
            if not 0 < size <= 4 or pointer + size > end:
                raise _NotPlainDer
            length = int.from_bytes(data[pointer : pointer + size], "big")
            pointer += size
        if pointer + length > end:
            raise _NotPlainDer
        yield tag, pointer, pointer + length
        pointer += length


def indirect_digests(data: bytes) -> Iterator[bytes]:
    """TrustedSubject { identifier, SET OF Attribute { type, SET OF SpcIndirectDataContent { data,
    DigestInfo { algorithm, digest } } } }: every digest."""
    for _, subject, subject_end in _tlvs(data, 0, len(data)):
        for tag, attributes, attributes_end in _tlvs(data, subject, subject_end):
            if tag != 0x31:  # the identifier OCTET STRING; attributes are the SET
                continue
            for _, attribute, attribute_end in _tlvs(data, attributes, attributes_end):
                (_, oid, oid_end), (_, values, values_end) = list(_tlvs(data, attribute, attribute_end))[:2]
                if data[oid:oid_end] != SPC_INDIRECT_DATA_OID:
                    continue
                for _, value, value_end in _tlvs(data, values, values_end):
                    _, (_, digest_info, info_end) = list(_tlvs(data, value, value_end))[:2]
                    _, (tag, digest, digest_end) = list(_tlvs(data, digest_info, info_end))[:2]
                    if tag != 0x04:
                        raise _NotPlainDer
                    yield data[digest:digest_end]


def member_digests_asn1(subjects: TrustedSubjects) -> frozenset[bytes]:
    digests: set[bytes] = set()
    for subject in subjects:
        attributes = subject["attributes"]
        for attribute in [] if isinstance(attributes, core.Void) else attributes:
            if attribute["type"].dotted == OID_SPC_INDIRECT_DATA:
                for value in attribute["values"]:
                    digests.add(SpcIndirectData.load(value.dump())["message_digest"]["digest"].native)
    return frozenset(digests)
