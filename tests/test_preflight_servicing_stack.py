"""The servicing stack an update needs, on a real Microsoft package: KB4528069 (the ESU verification update of
../shared/realdata/updates) judged against the `preflight` sample image with SHA-2 support and the ESU licensing
package installed, and each servicing stack: none, the March 2019 servicing stack update, the February 2020 one,
and a newer stack that the image's registry names.

The version the package was built for is read from its update.mum as cabextract expands it (a regex, not
imgscan's parser); the image's servicing stack key is read back with reglookup (an independent reader).
"""

from __future__ import annotations

import re
import subprocess
from dataclasses import replace
from datetime import date, datetime, timezone
from pathlib import Path

import pytest

from imgscan.preflight.run import preflight
from sample_images.build import build
from sample_images.scenario import PackageSpec, SignerSpec, load
from tests.conftest import REALDATA

ESU_CHECK = REALDATA / "updates" / "HackAndPwn_Windows6.1-KB4528069-x64.msu"
VERSION_KEY = "/Microsoft/Windows/CurrentVersion/Component Based Servicing/Version"
SIGNER = "windows-2019"
NEWER = "6.1.7601.24548"  # a test stack above what KB4528069 was built for

pytestmark = pytest.mark.skipif(
    not ESU_CHECK.is_file(), reason=f"{ESU_CHECK} is absent (real update packages live beside the checkout)"
)


def _package(kb: str, version: str, signed: str, **extra: object) -> PackageSpec:
    day = datetime.fromisoformat(signed).replace(tzinfo=timezone.utc)
    identity = f"Package_for_{kb}~31bf3856ad364e35~amd64~~{version}"
    return PackageSpec(identity, SIGNER, day, day.replace(day=20), kb=kb, **extra)  # type: ignore[arg-type]


MARCH_2019 = _package("KB4490628", "6.1.1.0", "2019-03-01", servicing_stack=True)  # its sample .mum installs 6.1.7601.24000
FEBRUARY_2020 = _package("KB4537829", "6.1.1.0", "2020-02-01", servicing_stack=True, stack_version=NEWER)
IMAGES: dict[str, tuple[list[PackageSpec], list[str]]] = {  # installed SSUs, SOFTWARE ...\Version value names
    "no-ssu": ([], []),
    "march-2019": ([MARCH_2019], []),
    "february-2020": ([MARCH_2019, FEBRUARY_2020], []),
    "registry": ([MARCH_2019], ["6.1.7601.17514", NEWER]),
}


def _image(name: str, out: Path) -> Path:
    ssus, registry = IMAGES[name]
    scenario = load("preflight")
    scenario = replace(
        scenario,
        name=f"preflight-{name}",
        signers=scenario.signers
        | {
            SIGNER: SignerSpec(
                "Microsoft Windows 2019 (imgscan test)",
                datetime(2019, 1, 10, tzinfo=timezone.utc),
                datetime(2020, 12, 31, tzinfo=timezone.utc),
            )
        },
        packages=[
            *scenario.packages,
            _package("KB4474419", "6.1.2.2", "2019-08-09"),  # SHA-2 code signing support
            _package("KB4538483", "6.1.1.2", "2020-02-01"),  # ESU licensing preparation package
            *ssus,
        ],
        # without KB976902, the servicing stack update SP1 media brings (its sample .mum installs the builder's
        # default stack): each image runs exactly the stack its case names
        base_packages=[p for p in scenario.base_packages if p.kb != "KB976902"],
        servicing_stack_versions=registry,
    )
    return build(scenario, out, ("dir",))["dir"]


@pytest.fixture(scope="module")
def verdicts(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, object]]:
    found = {}
    for name in IMAGES:
        image = _image(name, tmp_path_factory.mktemp(name))
        report = preflight(image, [ESU_CHECK], date(2020, 3, 1), 365).report
        assert report["errors"] == []
        found[name] = {"update": report["updates"][0], "image": image}
    return found


def _built_for(tmp_path: Path) -> str:
    """The Microsoft-Windows-ServicingStack version KB4528069's update.mum names, as cabextract expands it."""
    subprocess.run(["cabextract", "-q", "-d", str(tmp_path), str(ESU_CHECK)], check=True, capture_output=True)
    inner = next(p for p in tmp_path.glob("*.cab") if p.name.lower() != "wsusscan.cab")
    subprocess.run(
        ["cabextract", "-q", "-d", str(tmp_path / "inner"), "-F", "update.mum", str(inner)], check=True, capture_output=True
    )
    mum = (tmp_path / "inner" / "update.mum").read_text(encoding="utf-8-sig")
    return re.search(r'<installerAssembly name="Microsoft-Windows-ServicingStack" version="([0-9.]+)"', mum).group(1)  # type: ignore[union-attr]


def _stack_reasons(update: dict[str, object]) -> list[dict[str, object]]:
    return [r for r in update["reasons"] if r["code"] == "servicing-stack-too-old"]  # type: ignore[attr-defined,index]


def test_without_a_servicing_stack_update_every_fact_is_named_in_one_reason(verdicts, tmp_path):
    update = verdicts["no-ssu"]["update"]
    assert (update["status"], update["hresult"]) == ("will-not-install", "0x80092004")  # the catalog fails first
    [reason] = _stack_reasons(update)
    assert [r["code"] for r in update["reasons"]] == ["servicing-stack-too-old"]
    message = str(reason["message"])
    assert f"needs Microsoft-Windows-ServicingStack {_built_for(tmp_path)} or later and has 6.1.7601.17514" in message
    assert "(no servicing stack update is installed: the stack of the build Windows was installed with: " in message
    assert "Microsoft-Windows-Foundation-Package~31bf3856ad364e35~amd64~~6.1.7601.17514.mum)" in message
    assert "signed with SHA-2 only" in message
    assert "servicing stack update KB4537829 of February 11, 2020 or a later one and has none" in message


def test_the_march_2019_servicing_stack_is_older_than_the_esu_check_needs(verdicts, tmp_path):
    update = verdicts["march-2019"]["update"]
    assert (update["status"], update["hresult"]) == ("will-not-install", "0x800F0823")
    [reason] = _stack_reasons(update)
    message = str(reason["message"])
    assert f"Microsoft-Windows-ServicingStack {_built_for(tmp_path)} or later and has 6.1.7601.24000" in message
    assert "Package_for_KB4490628~31bf3856ad364e35~amd64~~6.1.1.0.mum" in message
    assert "and has KB4490628 of March 2019 (Microsoft: its ESU prep check fails (Error: 80070643)" in message
    assert "Install KB4537829 or a later servicing stack update" in str(reason["fix"])
    assert str(reason["fix"]).count("KB4537829") == 1  # the manifest's need names it too, as the newest out by then
    assert any("troubleshoot-extended-security-updates-issues" in str(s) for s in reason["references"])  # type: ignore[attr-defined]


def test_the_february_2020_servicing_stack_lets_it_install(verdicts):
    update = verdicts["february-2020"]["update"]
    assert (update["status"], update["reasons"]) == ("installs", [])


def test_the_stack_the_registry_names_is_the_one_windows_runs(verdicts):
    versions = subprocess.run(
        ["reglookup", "-p", VERSION_KEY, str(verdicts["registry"]["image"] / "Windows" / "System32" / "config" / "SOFTWARE")],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert f"{VERSION_KEY}/{NEWER},EXPAND_SZ," in versions  # as Windows writes it, read by an independent reader
    update = verdicts["registry"]["update"]
    # the manifest's version is met (the registry's stack is newer); the page's SSU of February 2020 still is not
    assert (update["status"], update["hresult"]) == ("will-not-install", "0x80070643")
    [reason] = _stack_reasons(update)
    assert "ServicingStack" not in str(reason["message"]) and "KB4537829" in str(reason["message"])
