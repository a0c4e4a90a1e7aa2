"""Sample Windows update packages (.msu and update .cab) for the preflight tests.

Each package is what Microsoft's own look like (../shared/realdata/updates): an update cabinet holding
`update.mum` (the top package, naming its child), `package_1_for_KB….mum` (the child, with the `<parent>` it
attaches to), one catalog per manifest that lists the manifest's hash, and a payload file; an `.msu` wraps
that cabinet with `*-pkgProperties.txt`. Catalogs are signed by the test PKI of `sample_images/pki.py`,
the same one the sample image trusts (Scenario.pki), or by a stranger's PKI for an untrusted package.
gcab writes the cabinets (MSZIP); the tests read them back with cabextract, an independent reader.

    python -m sample_images.updates OUTDIR     writes OUTDIR/preflight.vhdx (scenario `preflight`) and the
                                               packages of SAMPLES in OUTDIR/updates, under one test PKI
"""

from __future__ import annotations

import argparse
import subprocess
import tempfile
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from sample_images.catalog_writer import write_catalog
from sample_images.pki import TestPki, make_pki

TOKEN = "31bf3856ad364e35"
CLIENT_FEATURES = ("Microsoft-Windows-Client-Features-Package", "6.1.7601.17514")


@dataclass(frozen=True)
class UpdateSpec:
    """One sample update. `signer` is (not_before, not_after) of its code-signing certificate; `timestamp`
    False signs without one, so the signature ends with the certificate."""

    kb: str
    arch: str = "amd64"
    version: str = "6.1.1.0"
    parent: tuple[str, str] = CLIENT_FEATURES
    release_type: str = "Update"
    restart: str = "possible"
    servicing_stack: bool = False
    stack_version: str = "6.1.7601.24384"  # the Microsoft-Windows-ServicingStack version it installs, if servicing_stack
    needs_stack: str = "6.0.0.0"  # its installerAssembly: the servicing stack version it was built for
    digest: str = "sha1"  # "sha256": signed with SHA-2 only
    signed: datetime = datetime(2019, 3, 1, 12, tzinfo=timezone.utc)
    signer: tuple[str, str] = ("2019-01-10T00:00:00", "2020-12-31T00:00:00")
    timestamp: bool = True
    trusted: bool = True  # False: signed under a root the image does not hold
    payload_bytes: int = 4096  # bytes of the payload file (zeros: tiny once compressed)
    container: str = "msu"  # or "cab"

    @property
    def file_name(self) -> str:
        arch = "x64" if self.arch == "amd64" else self.arch
        return f"Windows6.1-{self.kb}-{arch}.{self.container}"


# the packages the preflight tests judge (KB numbers of the 99xxxxx range are not Microsoft's)
SAMPLES = {
    "ssu": UpdateSpec("KB4490628", servicing_stack=True, release_type="Security Update"),
    "sha2-support": UpdateSpec("KB4474419", version="6.1.2.2", release_type="Security Update", restart="required"),
    "sha2-only": UpdateSpec("KB9900001", digest="sha256", signed=datetime(2019, 8, 10, 12, tzinfo=timezone.utc)),
    "x86": UpdateSpec("KB9900002", arch="x86"),
    "parent-missing": UpdateSpec(
        "KB9900003", parent=("Microsoft-Windows-DirectoryServices-ADAM-Package-Client", "6.1.7601.17514")
    ),
    "expires": UpdateSpec("KB9900004", timestamp=False, container="cab"),
    "untrusted": UpdateSpec("KB9900005", trusted=False),
    # built for a newer servicing stack than the image runs and than the sample SSU installs (6.1.7601.24384)
    "newer-stack": UpdateSpec("KB9900006", needs_stack="6.1.7601.24516"),
}


def _identity(name: str, version: str, arch: str, extra: str = "") -> str:
    return (
        f'<assemblyIdentity name="{name}" version="{version}" language="neutral" '
        f'processorArchitecture="{arch}" publicKeyToken="{TOKEN}"{extra}/>'
    )


def _mum(spec: UpdateSpec, name: str, child: str | None) -> bytes:
    parent_name, parent_version = spec.parent
    number = spec.kb[2:]
    if child:
        body = f"""
    <update name="{number}-1_neutral_PACKAGE">
      <package integrate="hidden">{_identity(child, spec.version, spec.arch)}</package>
    </update>"""
    elif spec.servicing_stack:
        stack = _identity("Microsoft-Windows-ServicingStack", spec.stack_version, spec.arch, ' versionScope="nonSxS"')
        body = f"""
    <update name="{number}-2_neutral_GDR">
      <component>{stack}</component>
    </update>"""
    else:
        body = ""
    parent = _identity(parent_name, parent_version, spec.arch, ' buildType="release"')
    installer = _identity("Microsoft-Windows-ServicingStack", spec.needs_stack, spec.arch, ' versionScope="nonSxS"').replace(
        "assemblyIdentity", "installerAssembly"
    )
    return f"""<?xml version="1.0" encoding="utf-8"?>
<assembly xmlns="urn:schemas-microsoft-com:asm.v3" manifestVersion="1.0" description="Fix for {spec.kb}"
    creationTimeStamp="{spec.signed:%Y-%m-%dT%H:%M:%SZ}">
  {_identity(name, spec.version, spec.arch)}
  <package identifier="{spec.kb}" releaseType="{spec.release_type}" restart="{spec.restart}">
    <parent buildCompare="EQ" serviceCompare="GE" integrate="separate" disposition="detect">
      {parent}
    </parent>
    {installer}{body}
  </package>
</assembly>
""".encode()


def update_files(spec: UpdateSpec, pki: TestPki) -> dict[str, bytes]:
    """The files of the update cabinet, by name."""
    signing_pki = pki if spec.trusted else make_pki()
    signer = signing_pki.signer("Microsoft Windows (imgscan test)", *spec.signer)
    stamp = (signing_pki.tsa_good, spec.signed) if spec.timestamp else None
    chain = [signing_pki.code_pca, signing_pki.stamp_pca]
    top, child = f"Package_for_{spec.kb}", f"Package_1_for_{spec.kb}"
    identity = f"{child.lower()}~{TOKEN}~{spec.arch}~~{spec.version}"
    manifests = {"update.mum": _mum(spec, top, child), f"{identity}.mum": _mum(spec, child, None)}
    files = dict(manifests)
    for name, data in manifests.items():
        files[name[:-4] + ".cat"] = write_catalog([data], spec.signed, signer, chain, stamp, digest=spec.digest)
    files[f"{spec.arch}_payload_{TOKEN}_{spec.version}_none.bin"] = bytes(spec.payload_bytes)
    return files


def _gcab(cabinet: Path, folder: Path, names: list[str]) -> None:
    # gcab runs in `folder`, so the cabinet's path must not be relative to where the builder was started
    subprocess.run(["gcab", "-c", "-z", "-n", str(cabinet.resolve()), *names], cwd=folder, check=True, capture_output=True)


def build_update(spec: UpdateSpec, pki: TestPki, out: Path) -> Path:
    """Write the update into `out` (an .msu or update .cab, as `spec.container` says); returns its path."""
    with tempfile.TemporaryDirectory(prefix="imgscan-sample-update-") as work:
        folder = Path(work)
        files = update_files(spec, pki)
        for name, data in files.items():
            (folder / name).write_bytes(data)
        inner = folder / f"Windows6.1-{spec.kb}-{'x64' if spec.arch == 'amd64' else spec.arch}.cab"
        _gcab(inner, folder, sorted(files))
        target = out / spec.file_name
        if spec.container == "cab":
            target.write_bytes(inner.read_bytes())
            return target
        wrap = folder / "msu"
        wrap.mkdir()
        (wrap / inner.name).write_bytes(inner.read_bytes())
        properties = (
            f'Applies to="Windows 6.1"\r\nKB Article Number="{spec.kb[2:]}"\r\nPackage Type="{spec.release_type}"\r\n'
            f'Processor Architecture="{spec.arch}"\r\nInstaller Engine="Component Based Servicing - WUSA.exe"\r\n'
        )
        (wrap / f"{inner.stem}-pkgProperties.txt").write_text(properties, encoding="utf-8")
        _gcab(target, wrap, sorted(p.name for p in wrap.iterdir()))
        return target


def build_samples(pki: TestPki, out: Path, names: tuple[str, ...] = tuple(SAMPLES)) -> dict[str, Path]:
    out.mkdir(parents=True, exist_ok=True)
    return {name: build_update(SAMPLES[name], pki, out) for name in names}


def main() -> None:
    from sample_images.build import build, missing_tools
    from sample_images.scenario import load

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("out", type=Path)
    args = parser.parse_args()
    if missing := missing_tools():
        parser.error(f"missing tools: {', '.join(missing)} (run scripts/setup.sh --test)")
    pki = make_pki()
    scenario = load("preflight")
    scenario.pki = pki  # the image trusts the root the sample updates are signed under
    print(f"image: {build(scenario, args.out, ('vhdx',))['vhdx']}")
    for name, path in build_samples(pki, args.out / "updates").items():
        print(f"{name}: {path}")


if __name__ == "__main__":
    main()
