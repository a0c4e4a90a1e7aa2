"""Unit tests run in-process on in-memory volumes: no Debian tool is needed, so they need none of
the image builders' checks. The one file the sample scenarios get from a Debian tool (the gcab-made
CbsPersist cabinet) is written with cabarchive here."""

from __future__ import annotations

import pytest
from cabarchive import CabArchive, CabFile


@pytest.fixture(autouse=True)
def _cab_without_gcab(monkeypatch):
    def cab(name: str, data: bytes) -> bytes:
        archive = CabArchive()
        archive[name] = CabFile(data)
        return archive.save(compress=True)

    monkeypatch.setattr("sample_images.logs._cab", cab)
