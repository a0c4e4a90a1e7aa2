"""Kind `packages`: the CBS packages (SOFTWARE registrations and servicing\\Packages manifests).

Its inventory section is the `qfe` list (what wmic qfe shows); the `packages` section, each package with
its catalog's verdict, is the catalogs kind's, which reads the packages.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from imgscan.artefacts.machine_hives import MACHINE_HIVES
from imgscan.kinds import ErrorList, Kind, Section
from imgscan.servicing import Package, qfe_rows, read_packages

if TYPE_CHECKING:
    from imgscan.kinds import InventoryContext, Loader

# Updates that make WinVerifyTrust accept timestamps whose TSA certificate lacks the
# timestamping EKU (Advisory 2749655): Vista/7/2008/2008 R2, and Windows 8/2012.
EKU_MITIGATIONS = ("KB2749655", "KB2756872")


@dataclass
class Packages:
    packages: list[Package] = field(default_factory=list)
    mitigation: str | None = None  # the installed EKU_MITIGATIONS update, if any
    errors: list[dict[str, str]] = field(default_factory=list)
    # damaged cells met reading the package registrations in SOFTWARE (servicing.read_packages): the
    # packages they hide were judged as not registered by no check; a hive-unreadable finding says so
    registrations_damaged: list[dict[str, str]] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.packages)


def load(art: Loader) -> Packages:
    packages, damage = read_packages(art.volume, art.get(MACHINE_HIVES).software)
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
        registrations_damaged=damage,
    )


def inventory(found: Packages, _: InventoryContext) -> Section:
    return {"qfe": qfe_rows(found.packages)}


def errors(found: Packages) -> ErrorList:
    return found.errors


PACKAGES = Kind(
    name="packages",
    paths=("/Windows/servicing/Packages/*.mum",),
    load=load,
    requires=(MACHINE_HIVES,),
    absent="the image has no servicing packages",
    inventory=inventory,
    errors=errors,
    reading="reading the servicing packages",
)
