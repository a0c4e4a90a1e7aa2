"""Kind `signature_judge`: the image's own trust stores and mitigations, which judge its catalogs and boot
files alike. Built once, and only when something signed is to be judged; it reports nothing itself (the
catalogs kind reports the trust stores' problems)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from imgscan.artefacts.machine_hives import MACHINE_HIVES
from imgscan.artefacts.packages import PACKAGES
from imgscan.kinds import Kind

if TYPE_CHECKING:
    from imgscan.kinds import Loader
    from imgscan.signing.validity import Judge


def load(art: Loader) -> Judge:
    from imgscan.signing.certs import CertCache  # the signing stack: loaded by a scan, not by listing the rules
    from imgscan.signing.trust_store import build_store
    from imgscan.signing.validity import Judge

    cache = CertCache()
    return Judge(build_store(cache, art.get(MACHINE_HIVES).software), cache, art.get(PACKAGES).mitigation)


SIGNATURE_JUDGE: Kind[Judge] = Kind(
    name="signature_judge",
    paths=(),  # SOFTWARE's certificate stores, read with the machine hives
    load=load,
    requires=(MACHINE_HIVES, PACKAGES),
    present=lambda judge: True,
    reading="reading the image's trust stores",
)
