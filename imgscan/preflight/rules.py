"""The reasons a preflight verdict can give, as rules: a stable id (the reason's `code`) and a title.

Reports carry each reason's title beside its code, so that the SARIF view can publish one rule per reason
and a dashboard can group and filter on it, working on the report alone. Ids are never renamed once
released, like the scan's rule ids.
"""

from __future__ import annotations

TITLES = {
    "update-signature-invalid": "The update file does not match its Authenticode signature",
    "wrong-architecture": "The update is for another processor architecture",
    "wrong-windows-version": "The update is for another version of Windows",
    "wrong-windows-build": "The update is for another build (service pack) of Windows",
    "no-parent-installed": "None of the packages the update attaches to is installed",
    "superseded": "A higher version of the update's package is installed",
    "sha2-support-missing": "SHA-2 signed update on an image without SHA-2 code signing support",
    "servicing-stack-too-old": "The image's servicing stack is older than the update needs",
    "catalog-expired": "The update's catalog expires without a usable timestamp",
    "catalog-untrusted": "The image cannot trust the update's catalog",
    "manifest-not-in-catalog": "A manifest of the update is listed in none of its catalogs",
    "servicing-pending": "Servicing operations are pending a restart in the image",
    "component-store-corrupt": "The update services packages whose store entry is damaged",
    "esu-prerequisites-missing": "Extended Security Update without the ESU prerequisites",
    "not-enough-space": "Not enough free space on the Windows volume for the update",
    "update-service-disabled": "A service Windows Update Standalone Installer needs is disabled",
}


def title(code: str) -> str:
    """The rule title of a reason code (the code itself for one this table does not know yet)."""
    return TITLES.get(code, code)
