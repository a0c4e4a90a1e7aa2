"""The servicing stack an update needs against the one the image runs: the reason `servicing-stack-too-old`.

Three facts can each say the image's servicing stack is too old for an update; the reason names every one
that does, so one fact is never two reasons and no fact is left out:

1. SHA-2 (Windows 6.0/6.1): an update signed with SHA-2 only needs a servicing stack update of March 2019 or
   later (KB4490628, Microsoft KB4472027; imgscan/data/windows7_servicing.toml); without one Windows cannot
   verify its catalogs: 0x80092004.
2. The update's own manifests: each names the servicing stack version it was built for (`installerAssembly`
   Microsoft-Windows-ServicingStack); CBS refuses a package that needs a newer stack than the image runs,
   0x800F0823 CBS_E_NEW_SERVICING_STACK_REQUIRED (imgscan/data/servicing_stacks.toml). This covers later
   rollups needing later servicing stack updates without a table of rollups: each one says what it needs.
3. The update's Microsoft page: a servicing stack update that must be installed first (servicing_stacks.toml
   `[[updates]]`), with the code the page gives.

The reason's code is that of the first unmet fact in the order Windows meets them: it verifies the catalog,
then opens the manifest, then installs. The image's stack is `ImageFacts.servicing_stack` (see
`imgscan.preflight.facts`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from imgscan.numerals import dotted_version, version_text
from imgscan.preflight.facts import ImageFacts
from imgscan.preflight.package import UpdatePackage
from imgscan.preflight.reasons import EVIDENCE_LIMIT, Reason
from imgscan.preflight.stackdata import stack_data
from imgscan.servicing_levels import Update, kb_number, windows7_servicing


@dataclass(frozen=True)
class Need:
    """One unmet fact: what the update needs, what the image has, and what Windows does about it."""

    needs: str
    has: str
    why: str
    hresult: str
    fix: str
    evidence: tuple[dict[str, object], ...]
    sources: tuple[str, ...]
    ssu: str | None = None  # the servicing stack update the fix names (a later one fulfils it too)
    example: str | None = None  # an update the fix names only as an example of what may meet the version it needs
    plain_fix: str = ""  # the fix without that example: said when another fix names the same update


def servicing_stack_reason(update: UpdatePackage, facts: ImageFacts, sha2_only: list[str], as_of: date) -> Reason | None:
    """One reason naming every fact by which the image's servicing stack is too old for the update (None: none);
    a fix names no update released after `as_of`."""
    needs = [
        n for n in (_sha2_need(update, facts, sha2_only), _manifest_need(update, facts, as_of), _page_need(update, facts)) if n
    ]
    if not needs:
        return None
    message = "the image's servicing stack is older than this update needs: " + "; ".join(
        f"it needs {n.needs} and has {n.has} ({n.why})" for n in needs
    )
    return Reason(
        "servicing-stack-too-old",
        message,
        needs[0].hresult,
        _fixes(needs),
        tuple(e for n in needs for e in n.evidence),
        tuple(dict.fromkeys(s for n in needs for s in n.sources)),
    )


def _fixes(needs: list[Need]) -> str:
    """The fixes of `needs`, each once, without one another fulfils, and naming each update once: a fix that
    gives an update as an example drops it when another fix names that update."""
    kept = [n for n in needs if not _fulfilled_by_another(n, needs)]
    named = {n.ssu for n in kept if n.ssu}
    return " ".join(dict.fromkeys(n.plain_fix if n.example in named else n.fix for n in kept))


def _fulfilled_by_another(need: Need, needs: list[Need]) -> bool:
    """Whether the fix of another need installs a later servicing stack update than this one names."""
    return need.ssu is not None and any(kb_number(n.ssu) > kb_number(need.ssu) for n in needs if n.ssu)


def required_stack(update: UpdatePackage) -> tuple[tuple[int, ...], str]:
    """The highest servicing stack version the update's manifests were built for, and the manifest naming it."""
    named = [(dotted_version(m.servicing_stack), m.file) for m in update.manifests if dotted_version(m.servicing_stack)]
    return max(named, default=((), ""))


def stack_notes(update: UpdatePackage, facts: ImageFacts) -> tuple[str, ...]:
    """What could not be compared: the update names a servicing stack version, the image says none."""
    required, manifest = required_stack(update)
    if any(required[2:]) and not facts.servicing_stack:  # a bare floor ("6.0.0.0") every stack of its Windows meets
        wanted = version_text(required)
        return (f"servicing stack version not checked ({manifest} needs {wanted}): {facts.servicing_stack_basis}",)
    return ()


def _sha2_need(update: UpdatePackage, facts: ImageFacts, sha2_only: list[str]) -> Need | None:
    if not sha2_only or facts.windows_version not in ("6.0", "6.1") or facts.ssus:
        return None
    data = windows7_servicing()
    ssu = data.first_sha2_ssu
    return Need(
        f"a servicing stack update of {ssu.released:%B %Y} or later ({ssu.kb}, or one that replaces it)",
        f"none of {ssu.released:%B %Y} or later",
        f"its catalogs are signed with SHA-2 only ({len(sha2_only)} of {len(update.catalogs)}): Windows cannot verify them",
        "0x80092004",
        f"Install {ssu.kb} or a later servicing stack update in the image first.",
        tuple({"path": f"{update.path}!{name}", "digest": "SHA-2 only"} for name in sha2_only[:EVIDENCE_LIMIT]),
        (*data.sha2_sources, ssu.source),
        ssu.kb,
    )


def _manifest_need(update: UpdatePackage, facts: ImageFacts, as_of: date) -> Need | None:
    required, manifest = required_stack(update)
    if not required or not facts.servicing_stack or facts.servicing_stack >= required:
        return None
    data = stack_data()
    wanted, have = version_text(required), version_text(facts.servicing_stack)
    newest = _newest_ssu(facts, as_of)
    also = ""
    if newest and newest.released:
        also = (
            f" (for Windows {facts.windows_version}: {newest.kb} of {newest.released:%B %Y}, the newest imgscan lists "
            f"up to {as_of})"
        )
    fix = "Install a servicing stack update that brings Microsoft-Windows-ServicingStack to {} or later{} in the image first."
    return Need(
        f"Microsoft-Windows-ServicingStack {wanted} or later",
        f"{have} ({facts.servicing_stack_basis}: {facts.servicing_stack_source})",
        f"{manifest} names {wanted} as the servicing stack it was built for; CBS refuses the package and WUSA says "
        f'"{data.wusa_message}"',
        data.hresult,
        fix.format(wanted, also),
        (
            {"path": f"{update.path}!{manifest}", "installerAssembly": f"Microsoft-Windows-ServicingStack {wanted}"},
            {"path": facts.servicing_stack_source, "servicing_stack": have, "read_as": facts.servicing_stack_basis},
        ),
        (*data.manifest_sources, *data.image_sources, *((newest.source,) if newest else ())),
        example=newest.kb if also and newest else None,
        plain_fix=fix.format(wanted, ""),
    )


def _page_need(update: UpdatePackage, facts: ImageFacts) -> Need | None:
    need = next((n for n in stack_data().updates if update.kb in n.kbs and n.windows == facts.windows_version), None)
    installed = facts.all_ssus or facts.ssus
    if need is None or (installed and kb_number(installed[-1]) >= kb_number(need.ssu)):
        return None
    day = need.ssu_released
    listed = next((u.source for u in windows7_servicing().ssus if u.kb == need.ssu), None)
    return Need(
        f"servicing stack update {need.ssu} of {day:%B} {day.day}, {day.year} or a later one",
        f"{installed[-1]}{_released(installed[-1])}" if installed else "none",
        f"Microsoft: {need.why}",
        need.hresult,
        f"Install {need.ssu} or a later servicing stack update in the image first.",
        ({"path": update.path, "kb": update.kb, "needs": need.ssu, "installed_ssus": list(installed)},),
        (need.source, *((listed,) if listed else ())),
        need.ssu,
    )


def _newest_ssu(facts: ImageFacts, as_of: date) -> Update | None:
    """The newest servicing stack update imgscan lists for the image's Windows that was out by `as_of` (a fix
    judged on 2020-03-01 must not name December 2020's)."""
    if facts.windows_version != "6.1":
        return None
    out = [u for u in windows7_servicing().ssus if u.released is not None and u.released <= as_of]
    return max(out, key=lambda u: u.released or date.min, default=None)


def _released(kb: str) -> str:
    day = next((u.released for u in windows7_servicing().ssus if u.kb == kb), None)
    return f" of {day:%B %Y}" if day else ""
