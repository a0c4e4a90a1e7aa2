"""Issue 24 part 7: the fleet's store on a shared PostgreSQL server as on the SQLite default: a server that
cannot be reached is one line with the password masked, and fleet runs at once share one store."""

from __future__ import annotations

import json
import subprocess
import sys

from tests.conftest import run_imgscan
from tests.servers import PASSWORD, _free_port
from tests.test_fleet import host


def test_unreachable_database_is_one_line_with_the_password_masked(tmp_path):
    images = tmp_path / "images"
    host("healthy", "WS-0200", images)
    url = f"postgresql://imgscan:{PASSWORD}@127.0.0.1:{_free_port()}/fleet"
    run = run_imgscan("fleet", images, "--db", url)
    assert run.code == 2, run.stderr
    assert run.stderr.count("\n") == 1 and "Traceback" not in run.stderr
    assert "imgscan:***@127.0.0.1" in run.stderr and "cannot connect" in run.stderr
    assert PASSWORD not in run.stdout + run.stderr


def test_wrong_password_is_refused_in_one_line_naming_neither_password(tmp_path, postgresql_server):
    images = tmp_path / "images"
    host("healthy", "WS-0201", images)
    wrong = "Wr0ng-" + PASSWORD
    run = run_imgscan("fleet", images, "--db", postgresql_server.url("postgres", wrong))
    assert run.code == 2 and run.stderr.count("\n") == 1, run.stderr
    assert "password authentication failed" in run.stderr
    assert wrong not in run.stderr and PASSWORD not in run.stderr


def test_url_without_a_database_is_a_usage_error_with_the_password_masked():
    run = run_imgscan("fleet", "--db", f"postgresql://imgscan:{PASSWORD}@127.0.0.1", "--report")
    assert run.code == 2 and "needs a host and a database" in run.stderr
    assert PASSWORD not in run.stderr


def test_two_fleet_runs_at_once_share_one_store(tmp_path, fleet_db):
    """Both start on an empty store (creating the schema at once) and judge the same images: both finish, each
    is a run of its own with one row per host and its findings once, and the reports they share (the same
    judgement, written by both at once) are stored once."""
    images = tmp_path / "images"
    for n in range(3):
        host("ws-acc-0417", f"WS-{n:04d}", images)
    command = [sys.executable, "-m", "imgscan", "fleet", str(images), "--db", fleet_db.arg, "--jobs", "1"]
    command += ["--as-of", "2013-07-05", "--format", "json"]
    runs = [subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(2)]
    outputs = [run.communicate(timeout=600) for run in runs]
    for run, (stdout, stderr) in zip(runs, outputs, strict=True):
        assert run.returncode == 1, stderr  # every host fails (ws-acc-0417): a finished run, not a crash
        assert len(json.loads(stdout)) == 3
    assert len(fleet_db.query("SELECT id FROM runs WHERE finished_at IS NOT NULL")) == 2
    scans = fleet_db.query("SELECT id, run_id, path, report_digest FROM scans")
    assert len(scans) == 6 and all(len({r["path"] for r in scans if r["run_id"] == run}) == 3 for run in (1, 2))
    reports = {r["digest"] for r in fleet_db.query("SELECT digest FROM reports")}
    assert len(reports) == 3 and reports == {r["report_digest"] for r in scans}  # same image, same report: once
    findings = fleet_db.query("SELECT scan_id, rule, path FROM findings")
    assert {r["scan_id"] for r in findings} == {r["id"] for r in scans}
    per_scan = {r["id"]: sorted((f["rule"], f["path"]) for f in findings if f["scan_id"] == r["id"]) for r in scans}
    for first in (r for r in scans if r["run_id"] == 1):
        (second,) = [r for r in scans if r["run_id"] == 2 and r["path"] == first["path"]]
        assert per_scan[first["id"]] and per_scan[first["id"]] == per_scan[second["id"]]  # one copy each, the same


def test_the_hosts_of_one_image_are_committed_together_or_not_at_all(fleet_db):
    """An image's hosts arrive together and are committed in one transaction (a commit per host was most of
    the parent's CPU at 10,000 hosts): a host whose rows the database refuses, after its image's other rows
    went in, leaves none of them; hosts judged alike store their shared report once; each host keeps its own
    row and findings."""
    from dataclasses import replace

    import pytest

    from imgscan.fleet.store import Store
    from imgscan.fleet.stored_report import stored_report

    finding = {"rule": "qfe-empty", "severity": "critical", "starts": None, "hresult": None, "evidence": []}
    report = stored_report({"image": {"sha256": "ab" * 32}, "as_of": "2013-07-01", "host": {"name": None}, "findings": [finding]})
    hosts = [{"key": f"PC-{n}", "host": f"PC-{n}", "path": "/images/a.vhdx", "report": report} for n in range(3)]
    refused = replace(report, digest="cd" * 32, findings=[("qfe-empty",)])  # a findings row with too few values
    broken = {"key": "PC-9", "path": "/images/a.vhdx", "report": refused}
    store = Store(fleet_db.arg)
    try:
        run = store.start_run("2013-07-01", 365, {}, "options", "test")
        origins = {h["key"]: "new" for h in [*hosts, broken]}
        with pytest.raises(Exception, match="bindings|placeholders"):  # sqlite3's and psycopg's words for it
            store.record_all(run, [*hosts, broken], "test", "options", origins)
        assert fleet_db.query("SELECT id FROM scans") == [] and fleet_db.query("SELECT digest FROM reports") == []
        rows = store.record_all(run, hosts, "test", "options", origins)
    finally:
        store.close()
    assert [r["host"] for r in rows] == ["PC-0", "PC-1", "PC-2"] and {r["worst"] for r in rows} == {"critical"}
    scans = fleet_db.query("SELECT id, host_key, report_digest FROM scans ORDER BY host_key")
    assert [s["host_key"] for s in scans] == ["PC-0", "PC-1", "PC-2"] and len({s["report_digest"] for s in scans}) == 1
    assert len(fleet_db.query("SELECT digest FROM reports")) == 1
    findings = fleet_db.query("SELECT scan_id, rule FROM findings")
    assert sorted(f["scan_id"] for f in findings) == sorted(s["id"] for s in scans)


def test_hosts_labels_and_facts_are_encoded_once_per_distinct_value(fleet_db, monkeypatch):
    """Ten thousand hosts share a few sites, rings and deployment days: their labels and facts are encoded once
    per distinct value of an image's batch (per host it was a good part of the parent's commit CPU, issue 24),
    and values that compare equal but encode differently (True and 1) each keep their own JSON."""
    import imgscan.fleet.store as store_module
    from imgscan.fleet.store import Store
    from imgscan.fleet.stored_report import stored_report

    report = stored_report({"image": {"sha256": "ab" * 32}, "as_of": "2013-07-01", "host": {"name": None}, "findings": []})
    labels = [{"site": "north"}, {"site": "north"}, {"site": "north"}, {"site": "south"}]  # separate objects
    facts = [{"recovery_free": True}, {"recovery_free": 1}, {"recovery_free": True}, {"recovery_free": 1}]
    hosts = [
        {"key": f"PC-{n}", "host": f"PC-{n}", "path": "/images/a.vhdx", "report": report, "labels": labels[n], "facts": facts[n]}
        for n in range(4)
    ]
    encoded: list[object] = []
    original = json.dumps

    def dumps(value: object, **kwargs: object) -> str:
        encoded.append(value)
        return original(value, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(store_module.json, "dumps", dumps)
    store = Store(fleet_db.arg)
    try:
        run = store.start_run("2013-07-01", 365, {}, "options", "test")
        encoded.clear()
        store.record_all(run, hosts, "test", "options", {h["key"]: "new" for h in hosts})
    finally:
        store.close()
    assert sorted(map(str, encoded)) == sorted(
        map(str, [{"site": "north"}, {"site": "south"}, {"recovery_free": True}, {"recovery_free": 1}])
    )
    rows = fleet_db.query("SELECT host_key, labels, facts FROM scans ORDER BY host_key")
    assert [(r["labels"], r["facts"]) for r in rows] == [
        ('{"site": "north"}', '{"recovery_free": true}'),
        ('{"site": "north"}', '{"recovery_free": 1}'),
        ('{"site": "north"}', '{"recovery_free": true}'),
        ('{"site": "south"}', '{"recovery_free": 1}'),
    ]


def test_hosts_sharing_a_report_keep_their_own_first_failing_day(fleet_db):
    """Hosts judged alike share one stored report, summed up once by the worker that judged them (work.scan_image),
    while each host's first failing day still starts no earlier than its own deployment."""
    from imgscan.fleet.store import Store
    from imgscan.fleet.stored_report import stored_report

    finding = {"rule": "qfe-empty", "severity": "critical", "starts": "2013-03-01", "hresult": None, "evidence": []}
    report = stored_report({"image": {"sha256": "ab" * 32}, "as_of": "2013-07-01", "host": {"name": None}, "findings": [finding]})
    days = ["2013-01-01", "2013-05-01", None]
    hosts = [
        {
            "key": f"PC-{n}",
            "host": f"PC-{n}",
            "path": "/images/a.vhdx",
            "report": report,
            "facts": {"deployed": day} if day else {},
        }
        for n, day in enumerate(days)
    ]
    store = Store(fleet_db.arg)
    try:
        run = store.start_run("2013-07-01", 365, {}, "options", "test")
        rows = store.record_all(run, hosts, "test", "options", {h["key"]: "new" for h in hosts})
    finally:
        store.close()
    assert [(r["worst"], r["first_failure"]) for r in rows] == [
        ("critical", "2013-03-01"),
        ("critical", "2013-05-01"),
        ("critical", "2013-03-01"),
    ]
    scans = fleet_db.query("SELECT id, rules FROM scans ORDER BY host_key")
    assert [s["rules"] for s in scans] == ["qfe-empty"] * 3
    assert sorted(f["scan_id"] for f in fleet_db.query("SELECT scan_id FROM findings")) == sorted(s["id"] for s in scans)


OLD_FINDINGS = """CREATE TABLE findings (
    scan_id INTEGER NOT NULL REFERENCES scans(id) ON DELETE CASCADE,
    rule TEXT NOT NULL, severity TEXT NOT NULL, starts TEXT, hresult TEXT, path TEXT,
    suppressed INTEGER NOT NULL, id TEXT, caused_by TEXT
)"""


def test_a_store_with_findings_per_host_gets_them_per_report(fleet_db):
    """A store written when each host kept its own copy of its report's findings: opened now, each report keeps
    one copy, and the `findings` view still lists every host's findings, as the table did."""
    from imgscan.fleet.database import open_database
    from imgscan.fleet.store import SCHEMA, Store

    before = SCHEMA[: SCHEMA.index("CREATE TABLE IF NOT EXISTS report_findings")]
    db = open_database(fleet_db.arg)
    try:
        db.create(before + ";" + OLD_FINDINGS)
        with db.transaction():
            run = db.insert(
                "INSERT INTO runs (as_of, horizon_days, options, fingerprint, version, started_at) VALUES (?, ?, ?, ?, ?, ?)",
                ("2013-07-01", 365, "{}", "f", "old", "2013-07-01T00:00:00"),
            )
            db.execute("INSERT INTO reports (digest, report) VALUES (?, ?)", ("ab" * 32, "{}"))
            for host in ("PC-1", "PC-2"):
                scan = db.insert(
                    "INSERT INTO scans (run_id, host_key, path, host, labels, facts, version, options, status, rules,"
                    " report_digest, scanned_at, origin) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (run, host, "/images/a.vhdx", host, "{}", "{}", "old", "f", "ok", "qfe-empty", "ab" * 32, "now", "new"),
                )
                for rule in ("qfe-empty", "catalog-expired"):
                    db.execute(
                        "INSERT INTO findings (scan_id, rule, severity, suppressed) VALUES (?, ?, ?, ?)", (scan, rule, "high", 0)
                    )
    finally:
        db.close()
    Store(fleet_db.arg).close()
    stored = fleet_db.query("SELECT report_digest, rule FROM report_findings ORDER BY rule")
    assert [(r["report_digest"], r["rule"]) for r in stored] == [("ab" * 32, "catalog-expired"), ("ab" * 32, "qfe-empty")]
    listed = fleet_db.query("SELECT s.host, f.rule FROM findings f JOIN scans s ON s.id = f.scan_id ORDER BY s.host, f.rule")
    assert [(r["host"], r["rule"]) for r in listed] == [
        ("PC-1", "catalog-expired"),
        ("PC-1", "qfe-empty"),
        ("PC-2", "catalog-expired"),
        ("PC-2", "qfe-empty"),
    ]


def test_a_hosts_first_failing_day_is_that_of_a_finding_at_or_above_fail_on(fleet_db):
    """A host fails from the first day of a finding that fails the gate, not from the day a lesser one starts:
    an info finding a log dated 2012 does not make a host whose high finding starts in 2013 "failing since 2012".
    A logged consequence dates its root cause, and no day falls before the host's deployment."""
    from imgscan.fleet.store import Store
    from imgscan.fleet.stored_report import stored_report
    from imgscan.fleet.summary import summarize
    from imgscan.severity import Severity

    cause = {"rule": "catalog-expiry", "severity": "high", "starts": "2013-06-30", "id": "catalog-expiry:a"}
    consequence = {"rule": "cbs-log-error", "severity": "medium", "starts": None, "observed": "2013-05-01T08:00:00Z"}
    lesser = {"rule": "update-event-error", "severity": "info", "starts": None, "observed": "2012-04-24T10:00:00Z"}
    findings = [
        f | {"hresult": None, "evidence": []}
        for f in (cause | {"gating_severity": "high"}, consequence | {"caused_by": cause["id"]}, lesser)
    ]
    report = stored_report({"image": {"sha256": "ab" * 32}, "as_of": "2013-07-01", "host": {"name": None}, "findings": findings})
    assert report.failing_days == ((Severity.HIGH, "2013-05-01"), (Severity.INFO, "2012-04-24"))
    hosts = [
        {"key": key, "host": key, "path": "/images/a.vhdx", "report": report, "facts": {"deployed": day} if day else {}}
        for key, day in (("PC-EARLY", None), ("PC-LATE", "2013-06-01"))
    ]
    store = Store(fleet_db.arg)
    try:
        run = store.start_run("2013-07-01", 365, {}, "options", "test")
        recorded = store.record_all(run, hosts, "test", "options", {h["key"]: "new" for h in hosts})
        rows = store.rows(run)
    finally:
        store.close()
    assert [r["failing_days"] for r in recorded] == ["high=2013-05-01;info=2012-04-24", "high=2013-06-01;info=2013-06-01"]
    days = {
        fail_on: {r["host"]: (r["verdict"], r["first_failure"]) for r in summarize(rows, Severity.parse(fail_on))}
        for fail_on in ("critical", "high", "info")
    }
    assert days["high"] == {"PC-EARLY": ("fail", "2013-05-01"), "PC-LATE": ("fail", "2013-06-01")}
    assert days["info"] == {"PC-EARLY": ("fail", "2012-04-24"), "PC-LATE": ("fail", "2013-06-01")}
    assert days["critical"] == {"PC-EARLY": ("pass", ""), "PC-LATE": ("pass", "")}


def test_a_store_without_failing_days_gets_the_column_and_its_rows_their_first_day(fleet_db):
    """A store written before imgscan kept each host's failing days by severity: opened now it gets the column
    (as several runs may open it at once, under the schema lock), and its rows show the first day they had."""
    from imgscan.fleet.database import open_database
    from imgscan.fleet.store import SCHEMA, Store
    from imgscan.fleet.summary import summarize
    from imgscan.severity import Severity

    old = SCHEMA.replace("    failing_days TEXT,\n", "")
    assert old != SCHEMA
    db = open_database(fleet_db.arg)
    try:
        db.create(old)
        with db.transaction():
            run = db.insert(
                "INSERT INTO runs (as_of, horizon_days, options, fingerprint, version, started_at) VALUES (?, ?, ?, ?, ?, ?)",
                ("2013-07-01", 365, "{}", "f", "old", "2013-07-01T00:00:00"),
            )
            db.execute(
                "INSERT INTO scans (run_id, host_key, path, host, labels, facts, version, options, status, worst,"
                " first_failure, rules, scanned_at, origin) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    run,
                    "PC-1",
                    "/images/a.vhdx",
                    "PC-1",
                    "{}",
                    "{}",
                    "old",
                    "f",
                    "ok",
                    "critical",
                    "2013-06-30",
                    "qfe-empty",
                    "now",
                    "new",
                ),
            )
        assert "failing_days" not in db.columns("scans")
    finally:
        db.close()
    store = Store(fleet_db.arg)
    try:
        (row,) = store.rows(run)
    finally:
        store.close()
    assert row["failing_days"] is None
    (summary,) = summarize([row], Severity.HIGH)
    assert (summary["verdict"], summary["first_failure"]) == ("fail", "2013-06-30")
