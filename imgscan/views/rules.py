"""The `rules` views: a table for the terminal, and the markdown table the README shows."""

from __future__ import annotations

import textwrap
from collections.abc import Sequence

from imgscan.check import RuleJson
from imgscan.views.columns import WIDTH


def rules_markdown(rules: Sequence[RuleJson]) -> str:
    """The README's rules table, generated from the rules themselves."""
    lines = ["| id | severity | what | codes |", "|---|---|---|---|"]
    for rule in rules:
        codes = ", ".join(str(c) for c in rule["codes"])
        lines.append(f"| `{rule['id']}` | {rule['severity']} | {rule['summary']} | {codes} |")
    return "\n".join(lines) + "\n"


def rules_table(rules: Sequence[RuleJson]) -> str:
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
