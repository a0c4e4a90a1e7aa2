"""Numbers and XML declarations an attacker writes into evidence: a "²" passes str.isdigit() but not
int(), an XML declaration may name an encoding Python does not know; each is a damaged file, never an
internal error (found by fuzz/fuzz_update_manifest.py, then looked for in the scan's readers)."""

from __future__ import annotations

import pytest

from imgscan.numerals import ascii_int, dotted_version
from imgscan.os_version import read_os_version
from imgscan.servicing import _manifest_facts
from imgscan.servicing_levels import kb_number

ASM = b'<assembly xmlns="urn:schemas-microsoft-com:asm.v3"><package identifier="KB1"/></assembly>'


@pytest.mark.parametrize("encoding", [b"utf-4", b"shift_jis"])
def test_an_installed_manifest_declaring_an_unreadable_encoding_is_not_xml(encoding: bytes) -> None:
    with pytest.raises(ValueError, match=r"\.mum is not XML"):
        _manifest_facts(b'<?xml version="1.0" encoding="' + encoding + b'"?>' + ASM)


def test_the_same_manifest_in_utf8_is_read() -> None:
    assert _manifest_facts(b'<?xml version="1.0" encoding="utf-8"?>' + ASM)[0] == "KB1"


def test_a_kb_with_a_superscript_digit_is_no_number() -> None:
    assert kb_number("KB2²") == 0 and kb_number("KB2705219") == 2705219


@pytest.mark.parametrize("text", ["9" * 5000, "٣", "²", "-1", " 7", "", None])
def test_a_numeral_windows_would_not_write_is_no_number(text: str | None) -> None:
    # int() raises on 5,000 digits and accepts Arabic-Indic digits; neither is a build number or offset
    assert ascii_int(text) is None


def test_a_build_number_of_5000_digits_is_no_build() -> None:
    class Software:
        def value(self, key: str, name: str) -> str | None:
            return {"CurrentBuildNumber": "7" * 5000, "ProductName": "Windows 7 Professional"}.get(name)

    version = read_os_version(Software())  # type: ignore[arg-type]
    assert version is not None and version.build is None and version.product == "Windows 7 Professional"
    assert ascii_int("7601") == 7601


def test_a_version_of_a_5000_digit_part_is_no_version() -> None:
    assert dotted_version("6.1.7601.24545") == (6, 1, 7601, 24545)
    assert dotted_version("6.1." + "9" * 5000) == () and dotted_version("6.²") == () and dotted_version("") == ()
