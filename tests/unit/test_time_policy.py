"""The time policy in one place: phases by day, a rule's severity by phase, the validity words, and only
the command line reading the clock."""

from __future__ import annotations

import ast
from datetime import date
from pathlib import Path

import pytest
from imgscan.plugins.secureboot_ca import CA_2011_ONLY

from imgscan.context import ScanContext
from imgscan.loader import load_checks
from imgscan.severity import Severity
from imgscan.timing import Phase, Timing, phase_of, validity_word

REPO = Path(__file__).resolve().parents[2]
# calls that read the wall clock for a day or a time (durations, time.monotonic and perf_counter, are not days)
CLOCK_CALLS = {("datetime", "now"), ("datetime", "utcnow"), ("datetime", "today"), ("date", "today"), ("time", "time")}
# the modules besides imgscan/cli that may read the clock, and why: none judges anything by it
CLOCK_ALLOWED = {
    "imgscan/fleet/store.py": "stamps when a fleet row was written (a record of the run, not a judged day)",
    # target-query's command line: like imgscan's own, it makes the scan context, --as-of defaulting to today
    "imgscan/dissect_plugin/imgscan_plugin.py": "the dissect front door's --as-of default",
}


def test_a_phase_is_where_a_day_falls_against_the_as_of_day_and_the_horizon():
    as_of, end = date(2013, 7, 1), date(2013, 7, 31)
    assert phase_of(date(2013, 7, 1), as_of, end) is Phase.FAILING  # the day it starts is already failing
    assert phase_of(date(2013, 7, 2), as_of, end) is Phase.SOON
    assert phase_of(date(2013, 7, 31), as_of, end) is Phase.SOON  # the horizon's last day is inside it
    assert phase_of(date(2013, 8, 1), as_of, end) is Phase.LATER
    assert phase_of(None, as_of, end) is Phase.NEVER
    context = ScanContext(as_of, horizon_days=30)
    assert context.horizon_end == end and context.phase(date(2013, 8, 1)) is Phase.LATER


def test_the_context_refuses_a_horizon_outside_a_hundred_years():
    with pytest.raises(ValueError, match="horizon"):
        ScanContext(date(2013, 7, 1), horizon_days=-1)


def test_a_timing_sets_the_severity_by_phase_and_drops_what_starts_after_the_horizon():
    dropped = Timing(now=Severity.HIGH, soon=Severity.MEDIUM)
    kept = Timing(now=Severity.MEDIUM, soon=Severity.INFO, later=Severity.INFO)
    assert [dropped.severity(p) for p in (Phase.FAILING, Phase.SOON, Phase.LATER)] == [Severity.HIGH, Severity.MEDIUM, None]
    assert [kept.severity(p) for p in (Phase.FAILING, Phase.SOON, Phase.LATER)] == [Severity.MEDIUM, Severity.INFO, Severity.INFO]
    assert kept.from_day(date(2026, 10, 19)) == "info before 2026-10-19, medium from then on"
    with pytest.raises(ValueError):
        dropped.from_day(date(2026, 10, 19))  # it is not reported at all after the horizon: no one-day policy


def test_the_2011_ca_policy_is_generated_from_its_timing_and_the_pca_expiry():
    assert CA_2011_ONLY.timing is not None
    assert (
        CA_2011_ONLY.as_dict()["severity"]
        == "info before 2026-10-19, medium from then on; not reported with --target-firmware 2023"
    )


def test_validity_words_are_decided_by_the_first_failing_day():
    starts = date(2013, 6, 30)
    assert [validity_word("expires", starts, date(2013, 6, d)) for d in (29, 30)] == ["expires", "expired"]
    assert [validity_word("revoked", starts, date(2013, 6, d)) for d in (29, 30)] == ["revoked later", "revoked"]
    assert validity_word("valid", None, date(2099, 1, 1)) == "valid"
    assert validity_word("untrusted", None, date(2013, 6, 29)) == "untrusted"


def _clock_reads(path: Path) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            owner = node.func.value
            name = owner.id if isinstance(owner, ast.Name) else owner.attr if isinstance(owner, ast.Attribute) else ""
            if (name, node.func.attr) in CLOCK_CALLS:
                found.append(f"{path.relative_to(REPO)}:{node.lineno}: {name}.{node.func.attr}()")
    return found


def test_only_the_command_line_reads_the_clock():
    cli = REPO / "imgscan" / "cli"
    outside = [p for p in (REPO / "imgscan").rglob("*.py") if not p.is_relative_to(cli)] + list((REPO / "plugins").glob("*.py"))
    reads = [read for p in outside if str(p.relative_to(REPO)) not in CLOCK_ALLOWED for read in _clock_reads(p)]
    assert reads == []
    # the test sees a clock read where there is one: the command line's own
    assert any("datetime.now()" in read for p in (REPO / "imgscan" / "cli").glob("*.py") for read in _clock_reads(p))


def test_no_check_compares_days_itself():
    """Checks ask the policy (`artefacts.phase(day)`); a comparison of `as_of` or `horizon_end` is gone."""
    for path in (REPO / "plugins").glob("*.py"):
        text = path.read_text(encoding="utf-8")
        assert ".as_of <" not in text and ".as_of >" not in text and "horizon_end" not in text, path.name
    assert {c.name for c in load_checks().checks} >= {"secureboot_ca", "catalog_signatures", "qfe_empty", "esu_prerequisites"}
