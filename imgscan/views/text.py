"""Views of the report: `json` (the contract) and `table` (for a person at a terminal).

Both are pure functions of the report dict, so every format shows the same facts.
"""

from __future__ import annotations

import json
import textwrap
from collections.abc import Sequence

from imgscan.check import Json
from imgscan.gate import hidden_note

WIDTH = 100
# evidence fields left to the JSON report: long, or already said in the message
# (undefined_bits: State bits no Windows header documents, listed in the JSON for the curious)
TABLE_HIDDEN = {"path", "options", "account", "predicted_errors", "reason", "sha256", "key", "undefined_bits"}


def to_json(report: object) -> str:
    """The JSON contract: stable key order, no run timestamps, so the same input gives the same bytes."""
    return json.dumps(report, indent=2, ensure_ascii=False) + "\n"


def to_table(report: Json) -> str:
    image = report["image"]
    host = report.get("host") or {}
    lines = [
        f"imgscan {report['imgscan']}  {image['path']}  ({image['format']}, sha256 {image['sha256'][:16]}…)",
        f"host {host.get('name') or '?'}  ·  {host.get('os') or 'unknown Windows'}  ·  as of {report['as_of']}",
        "",
    ]
    findings = report["findings"]
    if not findings:
        lines.append("No findings.")
    fixes_shown: dict[str, str] = {}  # remediation text -> the rule that printed it first
    listed = {f["id"]: f for f in findings if "id" in f}
    for finding in findings:
        if finding.get("caused_by") in listed:
            continue  # printed under its cause
        lines += _finding_lines(finding, fixes_shown) + [""]
        consequences = [listed[i] for i in finding.get("explains", []) if i in listed]
        if consequences:
            lines.append(f"  causes {len(consequences)} more finding(s), counted with it:")
            for consequence in consequences:
                lines += ["    " + line for line in _finding_lines(consequence, fixes_shown, WIDTH - 4)] + [""]
    hives = report["inventory"].get("hives", [])
    lines.append(f"Read {len(hives)} hive(s); summary: " + _summary(report["summary"]) + _counted_with_cause(findings))
    filtered = report.get("filtered")
    if filtered and any(filtered["hidden"].values()):
        lines.append(f"--severity {','.join(filtered['severities'])} hid {hidden_note(filtered['hidden'])}")
    for error in report["errors"]:
        lines.append(f"error: {error['path']}: {error['message']}")
    return "\n".join(lines) + "\n"


def _label(finding: Json) -> str:
    """The severity column: what the finding gates at; an accepted one says so, with its own severity."""
    if finding.get("suppressed"):
        return f"SUPPRESSED ({finding['severity']})"
    return str(finding.get("gating_severity") or finding["severity"]).upper()


def _finding_lines(finding: Json, fixes_shown: dict[str, str], width: int = WIDTH) -> list[str]:
    evidence = finding["evidence"][0] if finding["evidence"] else {}
    where = evidence.get("path", "")
    head = f"{_label(finding):<8} {finding['rule']}  {where}"
    head += f"  ({_when(finding, evidence)})"
    if finding.get("hresult"):
        head += f"  {finding['hresult']}"
    out = [head]
    gating, own = finding.get("gating_severity"), finding["severity"]
    if finding.get("suppressed"):
        accepted = finding["suppressed"]
        until = f" (until {accepted['expires']})" if accepted.get("expires") else ""
        entry = f" entry {accepted['entry']}" if accepted.get("entry") else ""
        out.append(f"  accepted by {accepted.get('source') or 'the ignore file'}{entry}: {accepted['reason']}{until}")
        if gating:
            out.append(f"  still gates as {gating}: a finding it causes is not accepted")
    elif gating and gating != own:
        out.append(f"  gates as {gating} through a finding it causes (its own severity: {own})")
    out += textwrap.wrap(finding["message"], width, initial_indent="  ", subsequent_indent="  ")
    for item in finding["evidence"]:
        hidden = TABLE_HIDDEN | ({"status"} if "status_as_of" in item else set())  # the as-of word says it
        details = {k: v for k, v in item.items() if k not in hidden}
        line = "evidence: " + item.get("path", "") + "  " + ", ".join(f"{k}={v}" for k, v in details.items())
        out += textwrap.wrap(line, width, initial_indent="  ", subsequent_indent="      ", break_on_hyphens=False)
    for link in finding.get("confirmed_by", []):
        where = f"line {link['line']}" if "line" in link else f"record {link.get('record')}"
        out.append(f"  confirmed by {link['rule']}: {link['path']} {where}")
    if finding.get("explained_by"):
        out.append(f"  predicted by: {', '.join(finding['explained_by'])}")
    remediation = str(finding["remediation"])
    if remediation in fixes_shown:  # one account's .reg fix, printed once
        out.append(f"  fix: the same as for {fixes_shown[remediation]} above")
    else:
        fixes_shown[remediation] = str(finding["rule"])
        out.append("  fix:")
        out += ["    " + line for line in remediation.splitlines()]
    return out


def _counted_with_cause(findings: Sequence[Json]) -> str:
    linked = sum(bool(f.get("caused_by")) for f in findings)
    return f" ({linked} more finding(s) counted with their cause)" if linked else ""


def _when(finding: Json, evidence: Json) -> str:
    """From when the finding holds: the day a prediction starts, the day a log first shows it, the
    day a setting was written, or, undated, when its rule says it hits ("at every boot with Secure Boot on")."""
    if finding.get("starts"):
        return f"from {finding['starts']}"
    if finding.get("observed"):
        return f"seen {finding['observed']}"
    if evidence.get("last_written"):
        return f"since {evidence['last_written']}"
    return str(finding.get("hits") or "undated")


def _summary(summary: dict[str, int]) -> str:
    counted = [f"{n} {severity}" for severity, n in summary.items() if n]
    return ", ".join(counted) if counted else "clean"


def columns(rows: list[list[str]]) -> list[str]:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return ["  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip() for row in rows]


def _header(view: Json) -> list[str]:
    image, host = view["image"], view.get("host") or {}
    return [f"{image['path']}  ·  host {host.get('name') or '?'}  ·  as of {view['as_of']}", ""]


def packages_table(view: Json) -> str:
    """`wmic qfe`'s columns first, then every package with its state and catalog verdict."""
    lines = _header(view)
    wmic = view["wmic_qfe"]
    qfe = view["qfe"]
    if wmic["empty"]:
        since = f" since {wmic['from']}" if wmic["from"] else ""
        lines += [
            f"wmic qfe as of {view['as_of']}: No instances available.",
            f"  (predicted by qfe-empty{since}; the installed updates it lists while the catalogs are valid:)",
        ]
    else:
        lines.append(f"wmic qfe as of {view['as_of']}:")
        qfe = wmic["rows"]
        if wmic["from"]:
            lines.append(f"  (qfe-empty predicts an empty list from {wmic['from']})")
    rows = [["HotFixID", "Description", "InstalledOn", "InstalledBy"]]
    rows += [[r["HotFixID"], r["Description"] or "", r["InstalledOn"] or "", r["InstalledBy"] or ""] for r in qfe]
    lines += columns(rows) if qfe else ["No instances available."]
    ssu = view.get("ssu_level")
    released = f" (released {ssu['released']})" if ssu and ssu["released"] else ""
    lines += ["", f"Servicing stack: {ssu['kb']}{released}" if ssu else "Servicing stack: no servicing stack update installed"]
    lines += ["", f"{len(view['packages'])} package(s):"]
    rows = [["PACKAGE", "KB", "STATE", "INSTALLED", "CATALOG", "FAILS FROM"]]
    for package in view["packages"]:
        rows.append(
            [
                package["identity"],
                (package["kb"] or "") + (" (SSU)" if package.get("servicing_stack_update") else ""),
                package["state_name"],
                package["installed_on"] or "",
                str(package.get("catalog_status_as_of") or ""),
                package.get("catalog_fails_from") or "",
            ]
        )
    return "\n".join(lines + columns(rows)) + "\n"


def catalogs_table(view: Json) -> str:
    rows = [["CATALOG", "SIGNER", "TIMESTAMP", "VALID UNTIL", "STATUS"]]
    for cat in view["catalogs"]:
        signer = (cat.get("signer") or {}).get("common_name", "")
        stamp = (cat.get("timestamp") or {}).get("kind", "")
        until = cat.get("valid_until") or ("no end" if cat.get("status") == "valid" else "")
        rows.append([cat["path"], signer, stamp, until, str(cat.get("problem") or cat["status_as_of"])])
    return "\n".join(_header(view) + columns(rows)) + "\n"


def images_table(listing: Json) -> str:
    """The images of a WIM (`imgscan images`' JSON): what --index / --image-name choose from."""
    rows = [["INDEX", "NAME", "EDITION", "VERSION", "DESCRIPTION"]]
    for image in listing["images"]:
        rows.append([str(image["index"]), image["name"], image["edition"], image["version"], image["description"]])
    head = f"{listing['path']}  ·  {listing['compression']} compression  ·  {listing['parts']} part(s)"
    return "\n".join([head, "", *columns(rows)]) + "\n"


def explain_table(explained: Sequence[Json]) -> str:
    lines = []
    for item in explained:
        if not item["known"]:
            lines.append(f"{item['code']}  unknown: not in imgscan's error-code knowledge base")
            lines.append("")
            continue
        lines.append(f"{item['code']}  {item['name'] or '(name not in the knowledge base)'}")
        lines.append(
            f"  decimal {item['decimal']} / {item['signed']}  ·  {item['kind']}"
            + (f"  ·  facility {item['facility']}" if item["facility"] else "")
            + ("  ·  failure" if item["failure"] else "  ·  success")
        )
        lines.append(f"  {item['message'] or '(no message text known)'}")
        if item["predicted_by"]:
            lines.append(f"  predicted by: {', '.join(item['predicted_by'])}")
        if item["observed_by"]:
            lines.append(f"  observed in logs by: {', '.join(item['observed_by'])}")
        lines.append("")
    return "\n".join(lines)


def timeline_table(events: list[dict[str, str]]) -> str:
    rows = [["TIME", "EVENT", "SUBJECT", "DETAIL"]]
    rows += [[e["time"], e["kind"], e["subject"], e["detail"]] for e in events]
    return "\n".join(columns(rows)) + "\n"


def diff_table(result: dict) -> str:
    def finding_line(mark: str, f: dict) -> str:
        where = f["evidence"][0].get("path", "") if f["evidence"] else ""
        line = f"  {mark} {_label(f):<8} {f['rule']}  {where}" + (f"  (from {f['starts']})" if f["starts"] else "")
        return line + (f"  [caused by {f['caused_by']}]" if f.get("caused_by") else "")

    lines = [
        f"old: {result['old']['path']}  ({result['old']['sha256'][:16]}…, as of {result['old']['as_of']})",
        f"new: {result['new']['path']}  ({result['new']['sha256'][:16]}…, as of {result['new']['as_of']})",
        "",
    ]
    for title, key, mark in (
        ("new findings", "new_findings", "+"),
        ("resolved", "resolved", "-"),
        ("unchanged", "unchanged", "="),
    ):
        lines.append(f"{title}: {len(result[key])}")
        lines += [finding_line(mark, f) for f in result[key]]
    lines.append(f"packages added: {len(result['packages_added'])}")
    lines += [f"  + {p}" for p in result["packages_added"]]
    lines.append(f"packages removed: {len(result['packages_removed'])}")
    lines += [f"  - {p}" for p in result["packages_removed"]]
    lines.append(f"catalogs whose valid_until moved: {len(result['catalogs_moved'])}")
    lines += [
        f"  {c['path']}: {c['old_valid_until'] or 'no end'} -> {c['new_valid_until'] or 'no end'}"
        for c in result["catalogs_moved"]
    ]
    lines.append(f"new findings at or above {result['fail_on']}: {result['gating']} (counted once per cause)")
    return "\n".join(lines) + "\n"


def rules_markdown(rules: Sequence[Json]) -> str:
    """The README's rules table, generated from the rules themselves."""
    lines = ["| id | severity | what | codes |", "|---|---|---|---|"]
    for rule in rules:
        codes = ", ".join(str(c) for c in rule["codes"])
        lines.append(f"| `{rule['id']}` | {rule['severity']} | {rule['summary']} | {codes} |")
    return "\n".join(lines) + "\n"


def rules_table(rules: Sequence[Json]) -> str:
    out = []
    for rule in rules:
        out.append(f"{rule['id']}  ({rule['severity']})")
        out += textwrap.wrap(str(rule["summary"]), WIDTH, initial_indent="  ", subsequent_indent="  ")
        if rule["codes"]:
            out.append("  codes: " + ", ".join(str(c) for c in rule["codes"]))
        if rule.get("hits"):
            out.append(f"  hits: {rule['hits']}")
        out += [f"  see: {ref}" for ref in rule["references"]]
        out.append("")
    return "\n".join(out)
