"""Tie what the image predicts to what its logs show happened.

An observed failure (a finding of a rule with `observes_logs`) confirms a
prediction (a rule with `predicts`) when the observed HRESULT is one the
prediction names, and, when the prediction is about particular packages,
KBs or catalogs, the log names one of them. The prediction then lists the log
lines as confirming evidence and the observation names the rule that explains
it: "predicted by catalog-expiry, confirmed by CBS.log line 5231".
"""

from __future__ import annotations

from imgscan.check import Finding


def _matches(prediction: Finding, observation: Finding) -> bool:
    codes = {c.upper() for c in prediction.rule.predicts} | ({prediction.hresult.upper()} if prediction.hresult else set())
    if (observation.hresult or "").upper() not in codes:
        return False
    if not prediction.subjects:
        return True
    names = [s.lower() for s in observation.subjects]
    wanted = [s.lower() for s in prediction.subjects]
    # a log may name the package ("Package_2_for_KB2705219~...") or only its KB ("KB2705219")
    return any(a in b or b in a for a in wanted for b in names)


def correlate(findings: list[Finding]) -> None:
    predictions = [f for f in findings if f.rule.predicts]
    for observation in (f for f in findings if f.rule.observes_logs):
        for prediction in predictions:
            if not _matches(prediction, observation):
                continue
            for sample in observation.evidence[:1]:
                where = {k: sample[k] for k in ("path", "line", "record") if k in sample}
                prediction.confirmed_by.append({"rule": observation.rule.id} | where)
            if prediction.rule.id not in observation.explained_by:
                observation.explained_by.append(prediction.rule.id)
