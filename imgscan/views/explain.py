"""The `explain` table: an error code's name, message and facility, and the rules that predict or observe it."""

from __future__ import annotations

from collections.abc import Sequence

from imgscan.explain import AliasExplanation, Explanation


def explain_table(explained: Sequence[Explanation]) -> str:
    """Each code's facts and the rules that predict it; the log rules, which report any failure code a log
    shows, are named once at the end rather than under every code."""
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
        if item["aliases"]:
            lines.append(f"  also known as: {', '.join(_alias(alias, item) for alias in item['aliases'])}")
        if item["predicted_by"]:
            lines.append(f"  predicted by: {', '.join(item['predicted_by'])}")
        lines.append("")
    observing = dict.fromkeys(rule for item in explained for rule in item["observed_by"])
    if observing:
        lines.append(f"a log that shows one of these failure codes is reported by: {', '.join(observing)}")
    text = "\n".join(lines)
    return text if text.endswith("\n") else text + "\n"  # the shell's prompt starts on a line of its own


def _alias(alias: AliasExplanation, item: Explanation) -> str:
    """S_FALSE (hresult, success): the kind, and whether it is a failure, where the name's differ from the code's."""
    differs = [alias["kind"]] if alias["kind"] != item["kind"] else []
    if alias["failure"] != item["failure"]:
        differs.append("failure" if alias["failure"] else "success")
    return f"{alias['name']} ({', '.join(differs)})" if differs else alias["name"]
