"""Hostile manifests are refused, not expanded: the .mum parser is defusedxml's, so a billion-laughs document,
an external entity and a DTD never reach the model (issue 25, part 7)."""

from __future__ import annotations

import time

import pytest

from imgscan.preflight.manifest import ManifestError, parse_manifest

LAUGHS = (
    b'<?xml version="1.0"?>\n<!DOCTYPE lolz [\n <!ENTITY lol "lol">\n'
    + b"".join(f' <!ENTITY lol{n} "{("&lol" + (str(n - 1) if n > 1 else "") + ";") * 10}">\n'.encode() for n in range(1, 10))
    + b']>\n<assembly xmlns="urn:schemas-microsoft-com:asm.v3">&lol9;</assembly>\n'
)
EXTERNAL = (
    b'<?xml version="1.0"?>\n<!DOCTYPE assembly [<!ENTITY secret SYSTEM "file:///etc/passwd">]>\n'
    b'<assembly xmlns="urn:schemas-microsoft-com:asm.v3"><package identifier="&secret;"/></assembly>\n'
)


def test_a_billion_laughs_manifest_is_refused_at_once():
    assert LAUGHS.count(b"<!ENTITY") == 10  # 10^9 "lol"s, 3 GB, were it expanded
    started = time.monotonic()
    with pytest.raises(ManifestError, match=r"^update\.mum is refused: EntitiesForbidden"):
        parse_manifest("update.mum", LAUGHS)
    assert time.monotonic() - started < 1


def test_an_external_entity_is_refused_not_read():
    with pytest.raises(ManifestError, match=r"^update\.mum is refused: EntitiesForbidden"):
        parse_manifest("update.mum", EXTERNAL)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"\x00\x01 not xml", "update.mum is not XML"),
        (b"<assembly/>", "update.mum is not a package manifest"),
        (
            b'<assembly xmlns="urn:schemas-microsoft-com:asm.v3"><assemblyIdentity version="six"/><package/></assembly>',
            "version 'six'",
        ),
    ],
)
def test_a_manifest_that_is_not_a_package_manifest_is_one_line(data, message):
    with pytest.raises(ManifestError) as caught:
        parse_manifest("update.mum", data)
    assert message in str(caught.value) and "\n" not in str(caught.value)
