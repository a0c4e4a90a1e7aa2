"""Numbers and XML declarations an attacker writes into evidence: a "²" passes str.isdigit() but not
int(), an XML declaration may name an encoding Python does not know; each is a damaged file, never an
internal error (found by fuzz/fuzz_update_manifest.py, then looked for in the scan's readers)."""

from __future__ import annotations

import pytest

from imgscan.servicing import _manifest_facts
from imgscan.servicing_levels import _kb_number as kb_number

ASM = b'<assembly xmlns="urn:schemas-microsoft-com:asm.v3"><package identifier="KB1"/></assembly>'


@pytest.mark.parametrize("encoding", [b"utf-4", b"shift_jis"])
def test_an_installed_manifest_declaring_an_unreadable_encoding_is_not_xml(encoding: bytes) -> None:
    with pytest.raises(ValueError, match=r"\.mum is not XML"):
        _manifest_facts(b'<?xml version="1.0" encoding="' + encoding + b'"?>' + ASM)


def test_the_same_manifest_in_utf8_is_read() -> None:
    assert _manifest_facts(b'<?xml version="1.0" encoding="utf-8"?>' + ASM)[0] == "KB1"


def test_a_kb_with_a_superscript_digit_is_no_number() -> None:
    assert kb_number("KB2²") == 0 and kb_number("KB2705219") == 2705219
