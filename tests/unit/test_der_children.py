"""`members.children` reads the elements of a range as `tlv` reads each (with where each header starts),
and refuses a range they do not fill exactly: the member walker and the lean reader rely on both."""

from __future__ import annotations

import pytest

from imgscan.signing.members import NotPlainDer, children, tlv

ELEMENTS = b"\x04\x02ab" + b"\x30\x81\x03\x02\x01\x07" + b"\x05\x00"


def test_every_element_as_tlv_reads_it():
    expected, start = [], 0
    while start < len(ELEMENTS):
        tag, first, end = tlv(ELEMENTS, start, len(ELEMENTS))
        expected.append((tag, start, first, end))
        start = end
    assert children(ELEMENTS, 0, len(ELEMENTS)) == expected == [(0x04, 0, 2, 4), (0x30, 4, 7, 10), (0x05, 10, 12, 12)]


@pytest.mark.parametrize(
    "data",
    [
        ELEMENTS + b"\x04",  # a lone tag byte after the last element
        ELEMENTS + b"\x04\x05abc",  # an element longer than what is left
        ELEMENTS + b"\x1f\x01\x00",  # a high tag number
        ELEMENTS + b"\x04\x85\x00\x00\x00\x00\x01a",  # a five-byte length
    ],
)
def test_a_range_the_elements_do_not_fill_is_refused(data):
    with pytest.raises(NotPlainDer):
        children(data, 0, len(data))
