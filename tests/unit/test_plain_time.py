"""The lean catalog reader's own reading of a signing or timestamp time gives asn1crypto's `.native`
exactly, or leaves the bytes to asn1crypto (forms catalogs do not use, impossible dates)."""

from __future__ import annotations

import random
from datetime import datetime, timezone

import pytest
from asn1crypto import core

from imgscan.signing.lean_catalog import _plain_time


def _native(encoded: bytes) -> datetime | None:
    try:
        return (core.UTCTime if encoded[0] == 0x17 else core.GeneralizedTime).load(encoded).native
    except ValueError:
        return None


def _fields(rng: random.Random, year_digits: int) -> str:
    """A time string whose every field may be out of range (month 13, day 32, hour 24, second 61)."""
    year = f"{rng.randrange(10**year_digits):0{year_digits}d}"
    return year + "".join(f"{rng.randrange(limit):02d}" for limit in (14, 33, 25, 61, 62)) + "Z"


@pytest.mark.parametrize(("tag", "year_digits"), [(0x17, 2), (0x18, 4)], ids=["UTCTime", "GeneralizedTime"])
def test_agrees_with_asn1crypto_or_leaves_it_the_bytes(tag, year_digits):
    rng = random.Random(tag)
    read = 0
    for _ in range(4000):
        text = _fields(rng, year_digits).encode()
        encoded = bytes([tag, len(text)]) + text
        own = _plain_time(encoded)
        if own is not None:
            reference = _native(encoded)
            assert (own, type(own), own.tzinfo) == (reference, type(reference), timezone.utc), text
            read += 1
    assert read > 500  # most random times are real dates, read without asn1crypto


@pytest.mark.parametrize(
    ("encoded", "expected"),
    [
        (b"\x17\x0d491231235959Z", datetime(2049, 12, 31, 23, 59, 59, tzinfo=timezone.utc)),
        (b"\x17\x0d500101000000Z", datetime(1950, 1, 1, tzinfo=timezone.utc)),
        (b"\x18\x0f20130630101112Z", datetime(2013, 6, 30, 10, 11, 12, tzinfo=timezone.utc)),
    ],
)
def test_two_digit_years_split_at_1950(encoded, expected):
    assert _plain_time(encoded) == expected == _native(encoded)


@pytest.mark.parametrize(
    "encoded",
    [
        b"\x18\x0f00000101000000Z",  # year 0: asn1crypto's own extended datetime
        b"\x18\x1320130630101112.123Z",  # fractions of a second
        b"\x17\x11130630101112+0200",  # an offset instead of Z
        b"\x17\x0b1306301011Z",  # no seconds
        b"\x17\x0d13063010111ZZ",  # not digits
    ],
)
def test_other_forms_are_left_to_asn1crypto(encoded):
    assert _plain_time(encoded) is None
