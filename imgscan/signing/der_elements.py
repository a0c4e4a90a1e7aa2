"""Elements of a DER buffer as plain tuples, matched to the shape a field list declares: what the lean
catalog reader walks instead of building asn1crypto objects, and the checks that keep it to the bytes the
asn1crypto reference would read (`dumped`)."""

from __future__ import annotations

from asn1crypto import core

from imgscan.signing.members import NotPlainDer, children, tlv
from imgscan.signing.pkcs7 import MALFORMED, Attributes

Element = tuple[int, int, int, int]  # (tag byte, first header byte, first content byte, end of content)
Fields = list["Element | None"]

BOOLEAN, INTEGER, OCTET_STRING, OID, SEQUENCE, SET = 0x01, 0x02, 0x04, 0x06, 0x30, 0x31
UTC_TIME, GENERALIZED_TIME = 0x17, 0x18
CONTEXT_0, CONTEXT_1, KEY_ID = 0xA0, 0xA1, 0x80
ANY = -1  # a field of any tag


def dumped(data: bytes, element: Element, spec: type[core.Asn1Value] = core.Any, *, always: bool = False) -> Element:
    """`element`, which the asn1crypto path reads through `.dump()` as a `spec`. That parses it, which fails
    on some elements, and takes a length whose last byte is 0x80 for BER's indefinite length
    (`header[-1:] == b"\\x80"`), re-encoding the value in DER then (re-sorting a SET OF). NotPlainDer when
    the dump (made when `always`, or when the length ends in 0x80) fails or gives other bytes."""
    if always or (element[2] - element[1] > 2 and data[element[2] - 1] == 0x80):
        original = bytes([SET if spec is Attributes else data[element[1]]]) + data[element[1] + 1 : element[3]]
        try:
            same = spec.load(original).dump() == original
        except MALFORMED:
            same = False
        if not same:
            raise NotPlainDer
    return element


def first(data: bytes) -> Element:
    """The first element of `data`; what follows it is ignored, as asn1crypto's lenient load does."""
    tag, first, last = tlv(data, 0, len(data))
    return (tag, 0, first, last)


def elements(data: bytes, element: Element | tuple[int, int, int, int]) -> list[Element]:
    """The elements inside `element`'s contents: (tag, header, contents, end), the header of each
    starting where the one before it ends (the walker leaves no gap)."""
    return children(data, element[2], element[3])


def only(data: bytes, element: Element) -> Element:
    """The one element inside `element` (an EXPLICIT tag's)."""
    inside = elements(data, element)
    if len(inside) != 1:
        raise NotPlainDer
    return inside[0]


def fields(data: bytes, element: Element, shape: tuple[tuple[int | tuple[int, ...], bool], ...]) -> Fields:
    """The elements inside `element` matched in order to `shape`: (tag or tags, optional) per field, an
    absent optional field None. Raises NotPlainDer when they do not match exactly, none left over."""
    inside = elements(data, element)
    found: Fields = []
    index = 0
    for tags, optional in shape:
        tag = inside[index][0] if index < len(inside) else None
        if tag is not None and (tags == ANY or tag == tags or (isinstance(tags, tuple) and tag in tags)):
            found.append(inside[index])
            index += 1
        elif optional:
            found.append(None)
        else:
            raise NotPlainDer
    if index != len(inside):
        raise NotPlainDer
    return found


def oid(data: bytes, element: Element | None) -> bytes:
    assert element is not None
    return data[element[2] : element[3]]
