"""The State decoder against SetReg's printouts in ws-acc-0417 (../shared/domain.md test vectors)."""

from __future__ import annotations

import pytest

from imgscan.wintrust import TrustState, as_dword

T, F = True, False
VECTORS = {
    0xC9: [T, T, T, F, F, F, F, F, T, F],
    0x22849: [F, T, T, F, T, F, T, F, F, F],
    0x23C00: [F, T, T, T, T, T, T, F, F, F],
}


@pytest.mark.parametrize(("raw", "expected"), VECTORS.items())
def test_setreg_options(raw, expected):
    state = TrustState(raw)
    assert [o["value"] for o in state.options] == expected
    assert [o["option"] for o in state.options] == list(range(1, 11))


def test_option_names_match_setreg():
    names = [o["name"] for o in TrustState(0).options]
    assert names[4] == "Offline revocation server OK (Commercial)"
    assert names[8] == "Check the revocation list on Time Stamp Signer"


@pytest.mark.parametrize(("raw", "undefined"), [(0xC9, 0x49), (0x22849, 0x49), (0x23C00, 0)])
def test_undefined_bits_reported_raw(raw, undefined):
    assert TrustState(raw).undefined_bits == undefined


@pytest.mark.parametrize(
    ("raw", "offline", "weak"),
    [
        (0xC9, True, ["test root certificates are trusted (option 1)"]),
        (0x22849, False, []),
        (0x23C00, False, []),
        (0x23C00 & ~0x800, True, []),  # default with option 5 off
        (0x23C00 | 0x200, False, ["revocation is not checked (option 3 off)"]),  # revocation off: nothing to fail
        (0x23C00 | 0x100, False, ["certificate expiration is not checked (option 2 off)"]),
        (0x23C00 | 0x20, False, ["test root certificates are trusted (option 1)"]),
    ],
)
def test_rule_predicates(raw, offline, weak):
    state = TrustState(raw)
    assert state.rejects_offline_revocation is offline
    assert state.weakenings == weak


def test_dword_spellings():
    assert as_dword(0xC9) == 0xC9
    assert as_dword(b"\xc9\x00\x00\x00") == 0xC9
    assert as_dword("0xc9") is None
    assert as_dword(b"\x01\x02") is None
