"""The `diff` table: new, resolved, worsened, improved and unchanged findings, packages added and removed, catalogs whose
end moved."""

from __future__ import annotations

from typing import TYPE_CHECKING

from imgscan.views.table import severity_label

if TYPE_CHECKING:
    from imgscan.diff import DiffResult
    from imgscan.report import FindingJson


def diff_table(result: DiffResult) -> str:
    def finding_line(mark: str, f: FindingJson, label: str | None = None) -> str:
        where = f["evidence"][0].get("path", "") if f["evidence"] else ""
        shown = label or severity_label(f)
        line = f"  {mark} {shown:<8} {f['rule']}  {where}" + (f"  (from {f['starts']})" if f["starts"] else "")
        return line + (f"  [caused by {f['caused_by']}]" if f.get("caused_by") else "")

    lines = [
        f"old: {result['old']['path']}  ({result['old']['sha256'][:16]}…, as of {result['old']['as_of']})",
        f"new: {result['new']['path']}  ({result['new']['sha256'][:16]}…, as of {result['new']['as_of']})",
        "",
    ]
    for title, findings, mark in (
        ("new findings", result["new_findings"], "+"),
        ("resolved", result["resolved"], "-"),
        ("unchanged", result["unchanged"], "="),
    ):
        lines.append(f"{title}: {len(findings)}")
        lines += [finding_line(mark, f) for f in findings]
        if title == "resolved":  # before unchanged: what got worse is what a reviewer must see
            for name, changed, changed_mark in (("worsened", result["worsened"], "^"), ("improved", result["improved"], "v")):
                lines.append(f"{name}: {len(changed)}")
                for w in changed:  # own severities on both sides: what changed is the finding, not its group
                    was = w["old_severity"].upper() + (f", {w['old_phase']}" if w["old_phase"] else "")
                    was += (
                        f", from {w['old_starts']}" if w.get("old_starts") and w["old_starts"] != w["finding"]["starts"] else ""
                    )
                    own = w["finding"]["severity"].upper()
                    lines.append(finding_line(changed_mark, w["finding"], own) + f"  (was {was})")
    lines.append(f"packages added: {len(result['packages_added'])}")
    lines += [f"  + {p}" for p in result["packages_added"]]
    lines.append(f"packages removed: {len(result['packages_removed'])}")
    lines += [f"  - {p}" for p in result["packages_removed"]]
    lines.append(f"catalogs whose valid_until moved: {len(result['catalogs_moved'])}")
    lines += [
        f"  {c['path']}: {c['old_valid_until'] or 'no end'} -> {c['new_valid_until'] or 'no end'}"
        for c in result["catalogs_moved"]
    ]
    lines.append(f"new or worsened findings at or above {result['fail_on']}: {result['gating']} (counted once per cause)")
    return "\n".join(lines) + "\n"
