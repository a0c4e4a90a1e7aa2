"""The file hashes a catalog vouches for: each member's SPC indirect data digest, used to check that a
package's .mum is really covered by its .cat."""

from __future__ import annotations

import re

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
    found = children(data, pointer, end, first=True)
    if not found:
        raise NotPlainDer
    tag, _, first, stop = found[0]
    return tag, first, stop


def children(data: bytes, start: int, end: int, *, first: bool = False) -> list[tuple[int, int, int, int]]:
    """(tag byte, first header byte, first content byte, end of content) of each element between start and
    end, which they must fill exactly, the header of each starting where the one before it ends; with
    `first`, only the first element, which need not fill the range (`tlv`).

    The result is a list, not a generator, and each element is read inline: the member lists of an image's
    catalogs hold hundreds of thousands of elements; a generator's resumption was a fifth of the walk's time
    and a call per element another 5% of a catalog's parse (fuzz/fuzz_der.py checks this walk against
    asn1crypto)."""
    found: list[tuple[int, int, int, int]] = []
    append = found.append
    while start < end:
        if start + 2 > end:
            raise NotPlainDer
        header = start
        tag, length = data[start], data[start + 1]
        if tag & 0x1F == 0x1F:
            raise NotPlainDer
        start += 2
        if length & 0x80:
            size = length & 0x7F
            if not 0 < size <= 4 or start + size > end:
                raise NotPlainDer
            length = int.from_bytes(data[start : start + size], "big")
            start += size
        stop = start + length
        if stop > end:
            raise NotPlainDer
        append((tag, header, start, stop))
        if first:
            break
        start = stop
    return found


def indirect_digests(data: bytes) -> list[bytes]:
    """`subject_digests` of a member list's contents octets."""
    return subject_digests(data, children(data, 0, len(data)))


def subject_digests(data: bytes, subjects: list[tuple[int, int, int, int]]) -> list[bytes]:
    """TrustedSubject { identifier, SET OF Attribute { type, SET OF SpcIndirectDataContent { data,
    DigestInfo { algorithm, digest } } } }: every digest of these elements of `data` (`children` of the
    member list, which the lean reader also counts). Raises NotPlainDer at the first element that is not
    in exactly that shape (asn1crypto then reads the list, or says it is malformed)."""
    digests = []
    for tag, _, subject, subject_end in subjects:
        parts = children(data, subject, subject_end)
        if (
            tag != SEQUENCE
            or not parts
            or parts[0][0] != OCTET_STRING
            or len(parts) > 2
            or (len(parts) == 2 and parts[1][0] != SET)
        ):
            raise NotPlainDer
        for tag, _, attribute, attribute_end in children(data, parts[1][2], parts[1][3]) if len(parts) == 2 else ():
            pair = children(data, attribute, attribute_end)
            if tag != SEQUENCE or len(pair) != 2 or pair[0][0] != OID or pair[1][0] != SET:
                raise NotPlainDer
            (_, _, oid, oid_end), (_, _, values, values_end) = pair
            if data[oid:oid_end] != SPC_INDIRECT_DATA_OID:
                if _NOT_MINIMAL_ARC.search(data, oid, oid_end):
                    raise NotPlainDer  # it could still be the SPC OID, spelled another way
                continue
            for tag, _, value, value_end in children(data, values, values_end):
                pair = children(data, value, value_end)
                if tag != SEQUENCE or len(pair) != 2 or pair[1][0] != SEQUENCE:
                    raise NotPlainDer
                info = children(data, pair[1][2], pair[1][3])
                if len(info) != 2 or info[0][0] != SEQUENCE or info[1][0] != OCTET_STRING:
                    raise NotPlainDer
                digests.append(data[info[1][2] : info[1][3]])
    return digests


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
