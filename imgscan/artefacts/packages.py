"""Kind `packages`: the CBS packages (SOFTWARE registrations and servicing\\Packages manifests)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from imgscan.servicing import Package, read_packages

if TYPE_CHECKING:
    from imgscan.artefacts.loading import ArtefactLoader

PATHS = ("/Windows/servicing/Packages/*.mum",)
ABSENT = "the image has no servicing packages"
# Updates that make WinVerifyTrust accept timestamps whose TSA certificate lacks the
# timestamping EKU (Advisory 2749655): Vista/7/2008/2008 R2, and Windows 8/2012.
EKU_MITIGATIONS = ("KB2749655", "KB2756872")


@dataclass
class Packages:
    packages: list[Package] = field(default_factory=list)
    mitigation: str | None = None  # the installed EKU_MITIGATIONS update, if any
    errors: list[dict[str, str]] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.packages)


def load(art: ArtefactLoader) -> Packages:
    packages = read_packages(art.volume, art.software)
    installed = {p.kb for p in packages if p.installed}
    return Packages(
        packages=packages,
        mitigation=next((kb for kb in EKU_MITIGATIONS if kb in installed), None),
        # an installed package's missing .mum or .cat is the component-store-inconsistent finding, said once there
        errors=[
            {"path": p.mum_path or p.identity, "message": p.problem}
            for p in packages
            if p.problem and not (p.installed and None in (p.mum_path, p.cat_path))
        ],
    )
