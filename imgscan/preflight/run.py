"""A preflight run: open the image once, read every update, judge each one, find an install order, and
assemble the report (plain JSON types, for the views).

Updates are files (.msu, .cab) or folders of them (a month's updates, searched one level deep in name
order); one that cannot be read is an `errors` entry naming it, and the others are still judged.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, cast

from imgscan import __version__
from imgscan.collector import young_collections_only
from imgscan.interrupt import doing
from imgscan.numerals import version_text
from imgscan.preflight import package
from imgscan.preflight.cabinet import UpdateUnreadable
from imgscan.preflight.facts import ImageFacts
from imgscan.preflight.order import Plan, plan
from imgscan.preflight.package import IGNORED_CABINETS, UpdatePackage
from imgscan.preflight.reasons import Reason
from imgscan.preflight.report import (
    PreflightFacts,
    PreflightImage,
    PreflightOrder,
    PreflightReport,
    ReasonJson,
    Status,
    UpdateJson,
)
from imgscan.preflight.rules import title
from imgscan.preflight.verdict import STATUSES, UpdateVerdict, judge
from imgscan.report import ErrorEntry
from imgscan.undecodable import printable_report

if TYPE_CHECKING:
    from imgscan.image import Selection

SUFFIXES = (".msu", ".cab")


@dataclass(frozen=True)
class Result:
    report: PreflightReport
    unreadable: int = 0  # update files that could not be read (their lines are in the report's errors)

    @property
    def will_not_install(self) -> bool:
        return any(u["status"] == "will-not-install" for u in self.report["updates"])


def update_files(inputs: list[Path]) -> tuple[list[Path], list[ErrorEntry]]:
    """The update files named or found in the named folders, and an error for each input that is neither. In
    a folder, WSUSSCAN.cab is not an update: every .msu holds one beside its update cabinet, so a folder an .msu
    was expanded into has it (named on its own, it is read and refused as holding no update)."""
    files: list[Path] = []
    errors: list[ErrorEntry] = []
    for given in inputs:
        if given.is_dir():
            names = (p for p in given.iterdir() if p.suffix.lower() in SUFFIXES and p.name.lower() not in IGNORED_CABINETS)
            found = sorted(p for p in names if p.is_file())
            if not found:
                errors.append({"path": str(given), "message": "folder holds no .msu or .cab file"})
            files += found
        elif given.exists():
            files.append(given)
        else:
            errors.append({"path": str(given), "message": "no such file or folder"})
    return list(dict.fromkeys(files)), errors


def read_updates(inputs: list[Path]) -> tuple[list[UpdatePackage], list[ErrorEntry]]:
    """The update packages the inputs name or hold, each read once, and an error for each one that could not be
    read (or input that is none)."""
    files, errors = update_files(inputs)
    updates: list[UpdatePackage] = []
    for path in files:
        try:
            updates.append(package.read_update(path))
        except UpdateUnreadable as exc:
            errors.append({"path": str(path), "message": str(exc).removeprefix(f"{path}: ")})
    return updates, errors


def preflight(image: Path, inputs: list[Path], as_of: date, horizon_days: int, selection: Selection | None = None) -> Result:
    """Judge the updates against the image (opened read-only; `selection`: which image of a WIM) as of `as_of`."""
    from imgscan.artefacts import CATALOGS, MACHINE_HIVES, PACKAGES, PENDING, USER_HIVES, Artefacts, builtin_registry, host
    from imgscan.image import open_image
    from imgscan.preflight.facts import from_artefacts

    updates, errors = read_updates(inputs)
    unreadable = len(errors)
    registry = builtin_registry()
    reads = registry.closure((MACHINE_HIVES, PACKAGES, CATALOGS, PENDING, USER_HIVES))  # what ImageFacts is built from
    wanted = tuple(dict.fromkeys(p for kind in reads for p in kind.paths))
    with (
        young_collections_only(),
        doing("judging the updates", subject=str(image)),
        open_image(image, selection, wanted) as opened,
    ):
        art = Artefacts(opened, registry)
        facts = from_artefacts(art)
        image_host = host(art)
        errors += [{"path": e["path"], "message": e["message"]} for e in art.errors()]
        image_info: PreflightImage = {"path": opened.info.path, "sha256": opened.info.sha256, "format": opened.info.format}
        if "wim" in opened.details:
            image_info["wim"] = opened.details["wim"]
    horizon_end = as_of + timedelta(days=horizon_days)
    verdicts = [judge(u, facts, as_of, horizon_end) for u in updates]
    steps = plan(updates, facts, as_of, horizon_end)
    report: PreflightReport = {
        "imgscan": __version__,
        "image": image_info,
        "as_of": as_of.isoformat(),
        "horizon_days": horizon_days,
        "host": image_host,
        "facts": facts_dict(facts),
        "summary": {status: sum(v.status == status for v in verdicts) for status in STATUSES},
        "updates": [verdict_dict(v, u) for v, u in zip(verdicts, updates, strict=True)],
        "order": order_dict(steps),
        "errors": errors,
        "unreadable_updates": unreadable,
    }
    # update file names that are not valid Unicode, escaped
    return Result(cast(PreflightReport, printable_report(report)), unreadable)


def facts_dict(facts: ImageFacts) -> PreflightFacts:
    return {
        "windows_version": facts.windows_version,
        "build": facts.build,
        "architecture": facts.architecture,
        "architecture_source": facts.architecture_source,
        "installed_packages": len(facts.installed()),
        "sha2_support": facts.sha2_support,
        "servicing_stack_updates": list(facts.ssus),
        "servicing_stack": version_text(facts.servicing_stack) or None,
        "servicing_stack_source": f"{facts.servicing_stack_basis}: {facts.servicing_stack_source}",
        "esu_licensing": facts.esu_licensing,
        "pending": list(facts.pending),
        "free_bytes": facts.free_bytes,
        "free_bytes_source": facts.free_bytes_source,
        "services": [{"name": s.name, "start_type": s.start_type, "path": s.path} for s in facts.services],
        "eku_mitigation": facts.eku_mitigation,
    }


def reason_dict(reason: Reason) -> ReasonJson:
    return {
        "code": reason.code,
        "title": title(reason.code),
        "message": reason.message,
        "hresult": reason.hresult,
        "starts": reason.starts.isoformat() if reason.starts else None,
        "fix": reason.fix,
        "evidence": [dict(e) for e in reason.evidence],
        "references": list(reason.references),
    }


def verdict_dict(verdict: UpdateVerdict, update: UpdatePackage) -> UpdateJson:
    fails_from = verdict.fails_from
    return {
        "file": verdict.update,
        "sha256": update.sha256,
        "kb": verdict.kb,
        "identity": verdict.identity,
        "status": cast("Status", verdict.status),
        "summary": verdict.summary,
        "hresult": verdict.hresult,
        "fails_from": fails_from.isoformat() if fails_from else None,
        "release_type": verdict.release_type,
        "restart": verdict.restart,
        "servicing_stack_update": verdict.servicing_stack_update,
        "payload_bytes": verdict.payload_bytes,
        "registers": list(verdict.registers),
        "reasons": [reason_dict(r) for r in verdict.reasons],
        "later": [reason_dict(r) for r in verdict.later],
        "notes": list(verdict.notes),
    }


def order_dict(steps: Plan) -> PreflightOrder:
    return {
        "install": [{"file": s.update.path, "kb": s.update.kb, "after": list(s.after)} for s in steps.steps],
        "cannot_install": [
            {
                "file": v.update,
                "kb": v.kb,
                "status": cast("Status", v.status),
                "hresult": v.hresult,
                "reasons": [r.code for r in v.reasons],
            }
            for v in steps.blocked
        ],
    }
