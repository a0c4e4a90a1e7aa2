"""Tie what the image predicts to what its logs show happened, and each consequence to its root cause.

An observed failure (a finding of a rule with `observes_logs`) confirms a
prediction (a rule with `predicts`) when the observed HRESULT is one the
prediction names, and, when the prediction is about particular packages,
KBs or catalogs, the log names one of them. The prediction then lists the log
lines as confirming evidence and the observation names the rule that explains
it: "predicted by catalog-expiry, confirmed by CBS.log line 5231".

One cause often shows as several findings: an expired catalog (catalog-expiry)
empties `wmic qfe` (qfe-empty, whose rule names catalog-expiry in
`consequence_of`) and fills CBS.log with failures (cbs-log-error, explained by
the prediction). Such a group has one root, the cause: the root lists its
consequences in `explains`, each consequence names its root in `caused_by`,
and the group counts once for the summary and --fail-on, at the worst
severity of its members that no ignore entry accepts (`gating_severity`).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date

from imgscan.check import Finding, Rule, Severity
from imgscan.report import Evidence, LogLink


def _names_match(cause: Finding, other: Finding) -> bool:
    """`other` is about one of the packages, KBs or catalogs `cause` is about (a finding about no
    particular subject matches every other); a log may name the package ("Package_2_for_KB2705219~...")
    or only its KB ("KB2705219")."""
    if not cause.subjects:
        return True
    names = [s.lower() for s in other.subjects]
    wanted = [s.lower() for s in cause.subjects]
    return any(a in b or b in a for a in wanted for b in names)


def _matches(prediction: Finding, observation: Finding) -> bool:
    codes = {c.upper() for c in prediction.rule.predicts} | ({prediction.hresult.upper()} if prediction.hresult else set())
    return (observation.hresult or "").upper() in codes and _names_match(prediction, observation)


def _link(rule: str, sample: Evidence) -> LogLink:
    """Where an observation shows a prediction happened: its first log line or event record."""
    link: LogLink = {"rule": rule, "path": sample["path"]}
    line, record = sample.get("line"), sample.get("record")  # a log line's evidence has one of them
    if isinstance(line, int):
        link["line"] = line
    if isinstance(record, int):
        link["record"] = record
    return link


def correlate(findings: list[Finding]) -> None:
    """Link log observations with the predictions that explain them, then every consequence with its
    root cause. Identities must be assigned first (check.assign_identities)."""
    predictions = [f for f in findings if f.rule.predicts]
    explaining: dict[int, list[Finding]] = {}
    for observation in (f for f in findings if f.rule.observes_logs):
        for prediction in predictions:
            if not _matches(prediction, observation):
                continue
            explaining.setdefault(id(observation), []).append(prediction)
            for sample in observation.evidence[:1]:
                prediction.confirmed_by.append(_link(observation.rule.id, sample))
            if prediction.rule.id not in observation.explained_by:
                observation.explained_by.append(prediction.rule.id)
    _link_unread(findings)
    _link_causes(findings, explaining)
    _to_roots(findings)
    _explains(findings)


def _link_unread(findings: list[Finding]) -> None:
    """A finding judged without a file that could not be read (`rests_on`) is a consequence of the finding
    that says so: a damaged SOFTWARE hive leaves no image trust store, and every catalog that chains to the
    image's own root reads as untrusted. They are reported, and gate, with that cause."""
    unread = {str(f.evidence[0].get("path", "")).lower(): f for f in findings if f.rule.reports_unreadable and f.evidence}
    for finding in findings:
        cause = next((unread[p.lower()] for p in finding.rests_on if p.lower() in unread), None)
        if cause is not None and cause is not finding:
            finding.caused_by = cause.identity


def _to_roots(findings: list[Finding]) -> None:
    """Each consequence names its root cause, also through a chain (qfe-empty, caused by a catalog finding that
    is itself the consequence of an unreadable hive), so that every group has one root that gates for it."""
    by_identity = {f.identity: f for f in findings}
    for finding in findings:
        if finding.caused_by in by_identity and (root := _root_of(by_identity[finding.caused_by], by_identity)) is not finding:
            finding.caused_by = root.identity


def _root_of(finding: Finding, by_identity: dict[str, Finding]) -> Finding:
    """The finding at the top of `finding`'s chain of causes (itself when it has none; a cycle stops the walk)."""
    root, seen = finding, {finding.identity}
    while root.caused_by in by_identity and root.caused_by not in seen:
        root = by_identity[root.caused_by]
        seen.add(root.identity)
    return root


def note_unjudged_causes(findings: list[Finding], unjudged: dict[Rule, str]) -> None:
    """An observed failure that no prediction explains, while a rule that predicts its code could not judge
    (`unjudged`: rule -> why its check did not run, e.g. a triage collection without the catalogs): its fix
    says so, instead of calling the failure unpredicted and sending a responder to repair the component store.
    Run after `correlate`."""
    for finding in findings:
        if not finding.rule.observes_logs or finding.caused_by or not finding.hresult:
            continue
        code = finding.hresult.upper()
        blind: dict[str, list[str]] = {}  # why -> the rules it kept from judging
        for rule, why in unjudged.items():
            if code in {c.upper() for c in rule.predicts}:
                blind.setdefault(why, []).append(rule.id)
        if blind:
            reasons = "; ".join(f"{', '.join(sorted(rules))}: {why}" for why, rules in sorted(blind.items()))
            finding.remediation = (
                f"The rules that predict {finding.hresult} could not judge this image ({reasons}). Give them those files "
                "whole (the disk image, a collection that holds them, or a damaged one restored) to learn the cause; "
                f"`imgscan explain {finding.hresult}` says what the code means."
            )


def _first_to_fail(candidates: Iterable[Finding]) -> Finding | None:
    """The cause that decides: the one failing first (one that never held fails already), then the report's order."""
    return min(candidates, key=lambda f: (f.starts is not None, f.starts or date.min, f.sort_key()), default=None)


def _link_causes(findings: list[Finding], explaining: dict[int, list[Finding]]) -> None:
    for finding in findings:
        if finding.rule.consequence_of:
            causes = (f for f in findings if f.rule.id in finding.rule.consequence_of and _names_match(finding, f))
            cause = _first_to_fail(c for c in causes if not c.rule.consequence_of)
            if cause is not None:
                finding.caused_by = cause.identity
    by_identity = {f.identity: f for f in findings}
    for finding in findings:
        predictions = explaining.get(id(finding), [])
        if not predictions:
            continue
        # a prediction that is itself a root explains best; a consequence (qfe-empty) leads to its root
        prediction = min(predictions, key=lambda p: (p.caused_by is not None, p.sort_key()))
        root = _root_of(prediction, by_identity)  # a consequence leads to its root
        finding.caused_by = root.identity
        where = str(root.evidence[0].get("path", "")) if root.evidence else ""
        others = [rule for rule in finding.explained_by if rule != root.rule.id]
        predicted = f", which {', '.join(others)} also predicted" if others else ""
        finding.remediation = (
            f"Apply the fix of {root.rule.id} ({where}): it is the cause of this failure{predicted}; the failure "
            "stops once that is fixed."
        )


def _explains(findings: list[Finding]) -> None:
    """Each root lists its consequences, in report order."""
    explains: dict[str, list[str]] = {}
    for finding in sorted(findings, key=Finding.sort_key):
        if finding.caused_by:
            explains.setdefault(finding.caused_by, []).append(finding.identity)
    for finding in findings:
        finding.explains = explains.get(finding.identity, [])


def settle_gates(findings: list[Finding]) -> None:
    """Each root's gating severity: the worst of its group that no ignore entry accepts (run after the
    ignore file is applied). A consequence does not gate on its own; it gates through its root."""
    members: dict[str, list[Finding]] = {}
    for finding in findings:
        members.setdefault(finding.caused_by or finding.identity, []).append(finding)
    for finding in findings:
        if finding.caused_by:
            continue
        live = [m.effective_severity for m in members[finding.identity] if not m.suppressed]
        finding.gating_severity = max(live) if live else None


def ordered(findings: list[Finding]) -> list[Finding]:
    """Worst cause first, each root followed by its consequences (as the table prints them)."""
    consequences: dict[str, list[Finding]] = {}
    for finding in sorted(findings, key=Finding.sort_key):
        if finding.caused_by:
            consequences.setdefault(finding.caused_by, []).append(finding)

    def rank(root: Finding) -> tuple[int, tuple[int, bool, str, str]]:
        worst = max([root.effective_severity, *(c.effective_severity for c in consequences.get(root.identity, []))])
        return -int(root.gating_severity if root.gating_severity is not None else worst), root.sort_key()

    out: list[Finding] = []
    for root in sorted((f for f in findings if not f.caused_by), key=rank):
        out += [root, *consequences.get(root.identity, [])]
    return out


def shown(findings: list[Finding], severities: frozenset[Severity]) -> list[Finding]:
    """The findings --severity shows: whole groups, chosen by the severity they gate at (or, all
    accepted, the worst of them), so a consequence is never shown without its cause."""
    groups = {f.identity: [f] for f in findings if not f.caused_by}
    for finding in findings:
        if finding.caused_by:
            groups[finding.caused_by].append(finding)
    keep = set()
    for root_id, group in groups.items():
        root = group[0]
        level = root.gating_severity if root.gating_severity is not None else max(m.effective_severity for m in group)
        if level in severities:
            keep.add(root_id)
    return [f for f in findings if (f.caused_by or f.identity) in keep]
