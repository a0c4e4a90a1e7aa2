"""The file hashes a catalog vouches for: each member's SPC indirect data digest, used to check that a
package's .mum is really covered by its .cat."""

from __future__ import annotations

import re
from collections.abc import Iterator

from asn1crypto import core

from imgscan.signing.pkcs7 import OID_SPC_INDIRECT_DATA, SPC_INDIRECT_DATA_OID, SpcIndirectData, TrustedSubjects


def member_digests(subjects: TrustedSubjects | core.Void) -> frozenset[bytes]:
    """The digests of every member's SPC indirect data attribute.

    A package catalog lists up to thousands of members; walking them as asn1crypto objects was half
    the cost of a catalog, so the DER is walked here with a minimal reader. A member list in another
    shape (BER's indefinite lengths, an element of another type, an OID not in minimal form) is read
    by asn1crypto instead, so both readers always agree (fuzz/fuzz_der.py checks it). Raises one of
    pkcs7.MALFORMED when asn1crypto cannot read the list either."""
    if isinstance(subjects, core.Void):
        return frozenset()
    try:
        return frozenset(indirect_digests(subjects.contents))
    except NotPlainDer:
        return member_digests_asn1(subjects)


class NotPlainDer(Exception):
    """The member list is not in the plain DER shape the fast reader handles."""


SEQUENCE, SET, OCTET_STRING, OID = 0x30, 0x31, 0x04, 0x06
_NOT_MINIMAL_ARC = re.compile(rb"(?:^|[\x00-\x7f])\x80")  # an OID arc padded with a leading 0x80 byte


def tlv(data: bytes, pointer: int, end: int) -> tuple[int, int, int]:
    """(tag byte, first content byte, end of content) of the element at `pointer`, which must end by `end`."""
    if pointer + 2 > end or data[pointer] & 0x1F == 0x1F:
        raise NotPlainDer
    tag, length = data[pointer], data[pointer + 1]
    pointer += 2
    if length & 0x80:
        size = length & 0x7F
        if not 0 < size <= 4 or pointer + size > end:
            raise NotPlainDer
        length = int.from_bytes(data[pointer : pointer + size], "big")
        pointer += size
    if pointer + length > end:
        raise NotPlainDer
    return tag, pointer, pointer + length


def tlvs(data: bytes, start: int, end: int) -> Iterator[tuple[int, int, int]]:
    """(tag byte, first content byte, end of content) of each element between start and end."""
    pointer = start
    while pointer < end:
        element = tlv(data, pointer, end)
        yield element
        pointer = element[2]


def _parts(data: bytes, start: int, end: int, tags: tuple[int | None, ...]) -> list[tuple[int, int]]:
    """(first content byte, end of content) of the elements between start and end, which must be
    exactly one of each tag in `tags` (None: any), in that order. Read element by element without a
    generator: this runs three times per catalog member."""
    parts = []
    pointer = start
    for expected in tags:
        if pointer >= end:
            raise NotPlainDer
        tag, first, pointer = tlv(data, pointer, end)
        if expected is not None and tag != expected:
            raise NotPlainDer
        parts.append((first, pointer))
    if pointer != end:
        raise NotPlainDer
    return parts


def _each(data: bytes, start: int, end: int, tag: int) -> Iterator[tuple[int, int]]:
    """(first content byte, end of content) of each element between start and end, all of type `tag`."""
    for found, first, last in tlvs(data, start, end):
        if found != tag:
            raise NotPlainDer
        yield first, last


def indirect_digests(data: bytes) -> Iterator[bytes]:
    """TrustedSubject { identifier, SET OF Attribute { type, SET OF SpcIndirectDataContent { data,
    DigestInfo { algorithm, digest } } } }: every digest. Raises NotPlainDer at the first element
    that is not in exactly that shape (asn1crypto then reads the list, or says it is malformed)."""
    for subject, subject_end in _each(data, 0, len(data), SEQUENCE):
        parts = list(tlvs(data, subject, subject_end))
        if not parts or parts[0][0] != OCTET_STRING or len(parts) > 2 or (len(parts) == 2 and parts[1][0] != SET):
            raise NotPlainDer
        if len(parts) == 1:
            continue
        _, attributes, attributes_end = parts[1]
        for attribute, attribute_end in _each(data, attributes, attributes_end, SEQUENCE):
            (oid, oid_end), (values, values_end) = _parts(data, attribute, attribute_end, (OID, SET))
            if data[oid:oid_end] != SPC_INDIRECT_DATA_OID:
                if _NOT_MINIMAL_ARC.search(data, oid, oid_end):
                    raise NotPlainDer  # it could still be the SPC OID, spelled another way
                continue
            for value, value_end in _each(data, values, values_end, SEQUENCE):
                _, (digest_info, info_end) = _parts(data, value, value_end, (None, SEQUENCE))
                _, (digest, digest_end) = _parts(data, digest_info, info_end, (SEQUENCE, OCTET_STRING))
                yield data[digest:digest_end]


def member_digests_asn1(subjects: TrustedSubjects) -> frozenset[bytes]:
    """The same digests read by asn1crypto: the reference, and the reader of any other shape."""
    digests: set[bytes] = set()
    for subject in subjects:
        attributes = subject["attributes"]
        for attribute in [] if isinstance(attributes, core.Void) else attributes:
            if attribute["type"].dotted == OID_SPC_INDIRECT_DATA:
                for value in attribute["values"]:
                    digests.add(SpcIndirectData.load(value.dump())["message_digest"]["digest"].native)
    return frozenset(digests)
