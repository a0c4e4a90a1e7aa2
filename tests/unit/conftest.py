"""Unit tests run in-process on in-memory volumes: no Debian tool is needed, so they need none of
the image builders' checks. The one file the sample scenarios get from a Debian tool (the gcab-made
CbsPersist cabinet) is written with cabarchive here. Their test keys are RSA-1024: generating RSA-2048 keys
for every in-memory scenario was most of the unit layer's time, and no reader depends on the key size (the
built sample images keep RSA-2048)."""

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


@pytest.fixture(autouse=True)
def _small_test_keys(monkeypatch):
    monkeypatch.setattr("sample_images.pki.KEY_BITS", 1024)
