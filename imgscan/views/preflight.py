"""The preflight report as a terminal table: one block per update (verdict, code, reasons with evidence
and fix), then the install order and what cannot install in any order. Works on the report alone."""

from __future__ import annotations

from pathlib import Path

from imgscan.preflight.report import PreflightReport, ReasonJson, UpdateJson

LABELS = {
    "installs": "INSTALLS",
    "will-not-install": "FAILS",
    "not-applicable": "N/A",
    "installed": "INSTALLED",
    "superseded": "SUPERSEDED",
    "unknown": "UNKNOWN",
}


def preflight_table(report: PreflightReport) -> str:
    facts = report["facts"]
    host = report.get("host") or {}
    free = facts["free_bytes"]
    image = report["image"]
    lines = [
        f"imgscan {report['imgscan']}  {image['path']}  ({image['format']}, sha256 {image['sha256'][:16]}…)",
        f"host {host.get('name') or '?'}  ·  {host.get('os') or 'unknown Windows'}  ·  "
        f"{facts['architecture'] or 'architecture unknown'}  ·  as of {report['as_of']} (horizon {report['horizon_days']} days)",
        f"SHA-2 support {facts['sha2_support'] or 'missing'}  ·  servicing stack "
        f"{', '.join(facts['servicing_stack_updates']) or 'none of March 2019 or later'}  ·  free "
        f"{f'{free:,} bytes' if free is not None else 'unknown'}  ·  pending {len(facts['pending'])}",
        "",
    ]
    for update in report["updates"]:
        lines += _update(update)
    order = report["order"]
    if order["install"]:
        lines.append("Install order:")
        for number, step in enumerate(order["install"], 1):
            after = f"  (after {', '.join(Path(a).name for a in step['after'])})" if step["after"] else ""
            lines.append(f"  {number}. {_named(step['file'], step['kb'])}{after}")
    if order["cannot_install"]:
        lines.append("Cannot install in any order:")
        for blocked in order["cannot_install"]:
            lines.append(
                f"  {_named(blocked['file'], blocked['kb'])}: {blocked['status']}"
                + (f" {blocked['hresult']}" if blocked["hresult"] else "")
                + f" ({', '.join(blocked['reasons'])})"
            )
    for error in report["errors"]:
        lines.append(f"error: {error['path']}: {error['message']}")
    counts = ", ".join(f"{n} {status}" for status, n in report["summary"].items() if n)
    lines.append(f"{len(report['updates'])} update(s): {counts or 'none read'}")
    return "\n".join(lines) + "\n"


def reason_lines(reason: ReasonJson, indent: str) -> list[str]:
    """One reason in words: code, Windows' code, from when, what; its first evidence; the fix (table and JUnit)."""
    since = f" from {reason['starts']}" if reason["starts"] else ""
    lines = [f"{indent}- {reason['code']} {reason['hresult'] or ''}{since}: {reason['message']}"]
    lines += [f"{indent}    evidence: {evidence['path']}" for evidence in reason["evidence"][:3]]
    return [*lines, f"{indent}    fix: {reason['fix']}"]


def _update(update: UpdateJson) -> list[str]:
    code = f"  {update['hresult']}" if update["hresult"] else ""
    when = f"  (fails from {update['fails_from']})" if update["fails_from"] else ""
    lines = [f"{LABELS[update['status']]:<10} {Path(update['file']).name}  {update['kb'] or ''}{code}{when}"]
    lines.append(f"  {update['summary']}")
    if update["status"] == "installs":
        restart = f", restart {update['restart']}" if update["restart"] else ""
        lines.append(f"  registers ({update['release_type'] or 'update'}{restart}): {', '.join(update['registers'])}")
    for reason in [*update["reasons"], *update["later"]]:
        lines += reason_lines(reason, "  ")
    for note in update["notes"]:
        lines.append(f"  note: {note}")
    lines.append("")
    return lines


def _named(file: str, kb: str | None) -> str:
    """An update's file name, and its KB when it has one."""
    return f"{Path(file).name} {kb}" if kb else Path(file).name
