"""The update package text readers of preflight: the manifest reader
(`imgscan.preflight.manifest.parse_manifest`), the container index (`package._container_index`, the
`_manifest_.cix.xml` lengths) and the .msu's `pkgProperties.txt` lines (`package._properties`).

Input: one file's bytes, read as a manifest, as a container index and as a properties file.

Contract (their docstrings):
- parse_manifest returns a `Manifest` or raises `ManifestError` with a one-line message (which
  read_update turns into UpdateUnreadable); nothing else, whatever the XML holds;
- the container index is a {name: non-negative length} dict, {} when it cannot be read; the
  properties a {name: value} dict; neither raises;
- 1 GB and 10 s of CPU per input at most (defusedxml refuses entity expansion).
"""

from __future__ import annotations

import functools
import tempfile
from collections.abc import Iterator
from pathlib import Path

from fuzz.engine import Limits, fuzz, instrumented

with instrumented(__name__):
    from imgscan.preflight import package
    from imgscan.preflight.manifest import Manifest, ManifestError, parse_manifest

LIMITS = Limits(rss_mb=1024, seconds=10, max_len=16384, ci_runs=1000)


@functools.cache
def _folder() -> Path:
    """One private folder for the whole run: the two readers of the package read files, not bytes."""
    return Path(tempfile.mkdtemp(prefix="imgscan-fuzz-update-"))


def check(data: bytes) -> None:
    try:
        manifest = parse_manifest("update.mum", data)
    except ManifestError as exc:
        assert str(exc) and "\n" not in str(exc), repr(str(exc))
    else:
        assert isinstance(manifest, Manifest) and all(isinstance(part, int) for part in manifest.identity.version)
    folder = _folder()
    (folder / package.CIX).write_bytes(data)
    (folder / "Windows6.1-KB1-x64-pkgProperties.txt").write_bytes(data)
    index = package._container_index(folder)
    assert all(isinstance(name, str) and isinstance(size, int) and size >= 0 for name, size in index.items())
    properties = package._properties(folder)
    assert all(isinstance(name, str) and isinstance(value, str) for name, value in properties.items())


def seeds() -> Iterator[bytes]:
    """The sample updates' manifests, the real ones, a container index and a properties file."""
    from fuzz.sources import real_files
    from sample_images.updates import SAMPLES, _mum

    for spec in SAMPLES.values():
        yield _mum(spec, f"Package_for_{spec.kb}", f"Package_1_for_{spec.kb}")
    yield from (mum for mum in real_files("updates", ".mum") if len(mum) <= LIMITS.max_len)
    yield (
        b'<?xml version="1.0" encoding="utf-8"?><Container xmlns="urn:ContainerIndex" version="1" length="1">'
        b'<Files><File id="1" name="update.mum" length="1234" time="0" attr="32"><Hash alg="SHA256" value="00"/>'
        b'<Delta><Source type="PA30" offset="0" length="99"/></Delta></File></Files></Container>'
    )
    yield b'\xff\xfeA\x00p\x00=\x00"\x00W\x00"\x00\r\x00\n\x00'
    yield b'Applies to="Windows 6.1"\r\nKB Article Number="2462137"\r\nPackage Type="Update"\r\n'


if __name__ == "__main__":
    fuzz(check, LIMITS)
