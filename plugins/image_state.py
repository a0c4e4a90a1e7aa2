"""Image not generalized: the reference image was captured in a Windows Setup state that its hosts
cannot be deployed from as intended.

What it finds: SOFTWARE `Microsoft\\Windows\\CurrentVersion\\Setup\\State` `ImageState` (or
`Windows\\Setup\\State\\State.ini`) other than IMAGE_STATE_GENERALIZE_RESEAL_TO_OOBE, the state
`sysprep /generalize /oobe` leaves. Source for the states and their meaning: Microsoft, "Windows
Setup states" (learn.microsoft.com/windows-hardware/manufacture/desktop/windows-setup-states).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from imgscan.artefacts import SETUP_STATE
from imgscan.check import Check, Finding, InventoryItem, Rule, Severity

if TYPE_CHECKING:  # types only: listing the rules must not load the image stack
    from imgscan.check import CheckContext

SETUP_STATES = "https://learn.microsoft.com/en-us/windows-hardware/manufacture/desktop/windows-setup-states"
SYSPREP = "https://learn.microsoft.com/en-us/windows-hardware/manufacture/desktop/sysprep--generalize--a-windows-installation"

IMAGE_NOT_GENERALIZED = Rule(
    id="image-not-generalized",
    severity=Severity.HIGH,
    policy="high for IMAGE_STATE_UNDEPLOYABLE, medium when it reseals to audit mode, info for a completed "
    "(not sysprepped) installation",
    title="Image not generalized for deployment",
    summary=(
        "The image's Windows Setup state is not the one sysprep /generalize /oobe leaves: it can never be "
        "deployed, it starts in audit mode, or it is a finished installation captured as is (duplicate SIDs, "
        "specialize not run)."
    ),
    references=(SETUP_STATES, SYSPREP),
    hits="when the image is deployed",
)

# ImageState -> (severity, what hosts built from it do); states absent here are fine for deployment
STATES = {
    "IMAGE_STATE_UNDEPLOYABLE": (
        Severity.HIGH,
        "the image can never be deployed: sysprep ran in a way that leaves Windows unable to complete setup on a new host",
    ),
    "IMAGE_STATE_GENERALIZE_RESEAL_TO_AUDIT": (
        Severity.MEDIUM,
        "hosts built from it start in audit mode instead of the out-of-box experience",
    ),
    "IMAGE_STATE_SPECIALIZE_RESEAL_TO_AUDIT": (
        Severity.MEDIUM,
        "the image was not generalized, and hosts built from it start in audit mode",
    ),
    "IMAGE_STATE_SPECIALIZE_RESEAL_TO_OOBE": (
        Severity.MEDIUM,
        "the image was not generalized: every host keeps this machine's SID and specialized settings",
    ),
    "IMAGE_STATE_COMPLETE": (
        Severity.INFO,
        "this is a finished installation captured as is (a host capture, not a sysprepped reference image); "
        "deployed as a golden image, every host would share its SID and settings",
    ),
}


class ImageState(Check):
    rules = (IMAGE_NOT_GENERALIZED,)
    needs = (SETUP_STATE,)

    def run(self, artefacts: CheckContext) -> Iterator[Finding | InventoryItem]:
        state = artefacts.get(SETUP_STATE)
        yield InventoryItem("setup_state", {"path": state.source, "image_state": state.image_state})
        known = STATES.get((state.image_state or "").upper())  # present: it has one
        if known is None or state.source is None:  # a state read has its source
            return
        severity, effect = known
        yield Finding(
            rule=IMAGE_NOT_GENERALIZED,
            severity=severity,
            message=f"ImageState is {state.image_state}: {effect}.",
            evidence=[{"path": state.source, "value": "ImageState", "image_state": state.image_state}],
            remediation=(
                "In the reference machine, run 'sysprep /generalize /oobe /shutdown' (with your unattend file), "
                "then capture the image; check that SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\Setup\\State "
                "ImageState reads IMAGE_STATE_GENERALIZE_RESEAL_TO_OOBE in the captured image."
            ),
        )
