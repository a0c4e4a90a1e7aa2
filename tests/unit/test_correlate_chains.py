"""One cause, one count, through a chain: a finding judged without a file that could not be read is a consequence
of the finding that says so, and what follows from it (qfe-empty from a catalog finding) gates with that same root.
Left one level deep, qfe-empty's group had a root that was itself a consequence, and no finding gated for it."""

from __future__ import annotations

from imgscan.check import Finding, Rule, Severity, assign_identities
from imgscan.correlate import correlate, settle_gates

HIVE = Rule(id="hive-broken", severity=Severity.HIGH, title="t", summary="s", reports_unreadable=True)
CATALOG = Rule(id="catalog-bad", severity=Severity.HIGH, title="t", summary="s", predicts=("0x800B0109",))
QFE = Rule(
    id="list-empty", severity=Severity.CRITICAL, title="t", summary="s", consequence_of=("catalog-bad",), subject="image",
    predicts=("0x800B0101",),
)  # fmt: skip
LOGGED = Rule(id="log-saw-it", severity=Severity.HIGH, title="t", summary="s", observes_logs=True, subject="message")
SOFTWARE = r"Windows\System32\config\SOFTWARE"


def _findings(*, unread: bool) -> list[Finding]:
    hive = Finding(HIVE, "SOFTWARE: not a hive", [{"path": SOFTWARE}], "restore it")
    catalog = Finding(
        CATALOG, "P: no trusted root", [{"path": r"Windows\servicing\Packages\P.cat"}], "reinstall", subjects=("P",),
        rests_on=(SOFTWARE.lower(),) if unread else (),
    )  # fmt: skip
    qfe = Finding(QFE, "list empty", [{"path": r"Windows\servicing\Packages\P.cat"}], "fix the catalogs", subjects=("P",))
    logged = Finding(
        LOGGED, "P: 0x800B0101", [{"path": "CBS.log", "line": 3}], "unpredicted", hresult="0x800B0101", subjects=("P",)
    )
    return [hive, catalog, qfe, logged]


def test_a_chain_of_consequences_gates_with_its_root() -> None:
    hive, catalog, qfe, logged = findings = _findings(unread=True)
    assign_identities(findings)
    correlate(findings)
    settle_gates(findings)
    assert (catalog.caused_by, qfe.caused_by, logged.caused_by) == (hive.identity,) * 3
    # explained by qfe-empty's stand-in, itself caused by the catalog finding, itself by the hive: two links up
    assert logged.explained_by == ["list-empty"] and logged.remediation.startswith("Apply the fix of hive-broken")
    assert hive.explains == [qfe.identity, catalog.identity, logged.identity]  # worst first
    assert hive.gating_severity is Severity.CRITICAL  # the consequence's severity counts, with its root


def test_without_an_unread_file_the_catalog_finding_stays_the_root() -> None:
    hive, catalog, qfe, logged = findings = _findings(unread=False)
    assign_identities(findings)
    correlate(findings)
    settle_gates(findings)
    assert (catalog.caused_by, qfe.caused_by, logged.caused_by) == (None, catalog.identity, catalog.identity)
    assert catalog.gating_severity is Severity.CRITICAL and hive.gating_severity is Severity.HIGH
