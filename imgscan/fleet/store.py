"""The fleet database: runs, one row per host of each run, the reports with their findings, and the fleet's
catalog verdict cache; an embedded SQLite file, or a shared PostgreSQL server (see database.py).

A run is one `imgscan fleet` invocation (or its continuations with `--resume`): its as-of, horizon, options,
imgscan version, start and end. The results of an image's hosts, which arrive together, are committed together
as they arrive, so a run that is interrupted, killed or whose worker crashed loses no finished image. A host
row is keyed by run and host; it keeps the image's SHA-256 and the host's settings, which is what `--resume`
compares, and how it got into the run (`origin`: new, rescanned, retried (unreadable or incomplete before) or reused by a
resumed run). Hosts that share a judgement share one stored report (`reports`, by the SHA-256 of its JSON), so
ten thousand hosts of one image store its report once, and its findings once (`report_findings`; the
`findings` view lists them per host). With `--updates`, each host's verdict on each update (`update_verdicts`)
is written with its row, in the same transaction. Several processes may write one database at once (a resumed
run and another run, or the workers of a cluster): a host's row is replaced under a lock on its key, so the
last to finish it keeps it and none fails on the unique key; a report is stored under a lock on its digest, so
it is stored once.

The schema is plain SQL (SCHEMA, the one place it is written); a database written before runs existed is
refused with a one-line message rather than mixed with rows of unknown date, and one written when findings
were stored per host is moved to findings per report when it is opened.
"""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from imgscan.errors import ImgscanError
from imgscan.fleet.database import SCHEMA_LOCK, open_database
from imgscan.fleet.stored_report import StoredReport, encode_failing_days
from imgscan.signing import verdict_cache

SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    id INTEGER PRIMARY KEY,
    as_of TEXT NOT NULL,
    horizon_days INTEGER NOT NULL,
    options TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    version TEXT NOT NULL,
    started_at TEXT NOT NULL,
    finished_at TEXT
);
CREATE TABLE IF NOT EXISTS reports (
    digest TEXT PRIMARY KEY,
    report TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS scans (
    id INTEGER PRIMARY KEY,
    run_id INTEGER NOT NULL REFERENCES runs(id),
    host_key TEXT NOT NULL,
    path TEXT NOT NULL,
    image_index INTEGER,
    image_name TEXT,
    host TEXT NOT NULL,
    labels TEXT NOT NULL,
    facts TEXT NOT NULL,
    sha256 TEXT,
    version TEXT NOT NULL,
    options TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('ok', 'error')),
    worst TEXT,
    first_failure TEXT,
    failing_days TEXT,
    judged_on TEXT,
    rules TEXT NOT NULL,
    error TEXT,
    report_digest TEXT REFERENCES reports(digest),
    scanned_at TEXT NOT NULL,
    verdicts_reused INTEGER,
    verdicts_judged INTEGER,
    settings TEXT,
    origin TEXT NOT NULL,
    UNIQUE (run_id, host_key)
);
CREATE TABLE IF NOT EXISTS report_findings (
    report_digest TEXT NOT NULL REFERENCES reports(digest),
    rule TEXT NOT NULL,
    severity TEXT NOT NULL,
    starts TEXT,
    hresult TEXT,
    path TEXT,
    suppressed INTEGER NOT NULL,
    id TEXT,
    caused_by TEXT
);
CREATE INDEX IF NOT EXISTS report_findings_digest ON report_findings (report_digest);
CREATE INDEX IF NOT EXISTS report_findings_rule ON report_findings (rule);
CREATE VIEW IF NOT EXISTS findings AS
    SELECT s.id AS scan_id, f.rule, f.severity, f.starts, f.hresult, f.path, f.suppressed, f.id, f.caused_by
    FROM scans s JOIN report_findings f ON f.report_digest = s.report_digest;
CREATE TABLE IF NOT EXISTS update_verdicts (
    scan_id INTEGER NOT NULL REFERENCES scans(id) ON DELETE CASCADE,
    file TEXT NOT NULL,
    sha256 TEXT NOT NULL,
    kb TEXT,
    status TEXT NOT NULL,
    hresult TEXT,
    fails_from TEXT,
    judged_on TEXT NOT NULL,
    summary TEXT NOT NULL,
    reasons TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS update_verdicts_scan ON update_verdicts (scan_id);
"""
ROW_COLUMNS = (
    "host_key, path, image_index, image_name, host, labels, facts, sha256, status, worst, first_failure, failing_days,"
    " judged_on, rules, error, verdicts_reused, verdicts_judged, origin"
)
SCAN_COLUMNS = (  # a `scans` row after its run_id, in the order Store._row gives them
    "host_key, path, image_index, image_name, host, labels, facts, sha256, version, options, status, worst, first_failure,"
    " failing_days, judged_on, rules, error, report_digest, scanned_at, verdicts_reused, verdicts_judged, settings, origin"
)
UPSERT_SCAN = (  # a host's row of a run, replacing the row it had (its id kept)
    f"INSERT INTO scans (run_id, {SCAN_COLUMNS}) VALUES (?{', ?' * len(SCAN_COLUMNS.split(', '))})"
    f" ON CONFLICT (run_id, host_key) DO UPDATE SET {', '.join(f'{c} = excluded.{c}' for c in SCAN_COLUMNS.split(', '))}"
)
# columns a store written by an earlier imgscan lacks, added when it is opened (its rows keep NULL there)
ADDED_COLUMNS = {"scans": {"failing_days": "TEXT"}}
FINDING_COLUMNS = "rule, severity, starts, hresult, path, suppressed, id, caused_by"
UPDATE_COLUMNS = ("file", "sha256", "kb", "status", "hresult", "fails_from", "judged_on", "summary", "reasons")


class Store:
    def __init__(self, location: str | Path) -> None:
        self.db = open_database(location)
        self.location = self.db.location  # what a worker process opens to share the verdict cache
        self.name = self.db.name  # what messages show (a URL's password masked)
        scans = self.db.columns("scans")
        if scans and "run_id" not in scans:
            self.db.close()
            raise ImgscanError(
                self.name, "written by an older imgscan, before fleet runs were recorded", "give a new database with --db"
            )
        if self.db.columns("findings") and not self.db.columns("report_findings"):
            self._findings_by_report()
        self.db.create(SCHEMA + ";" + verdict_cache.SCHEMA)
        self._add_columns()
        self._stored: set[str] = set()  # digests of the reports this store committed (rows are never deleted)

    def _add_columns(self) -> None:
        """Add what `ADDED_COLUMNS` names to a store an earlier imgscan wrote, under the schema lock: several
        runs may open it at once."""
        if all(set(added) <= self.db.columns(table) for table, added in ADDED_COLUMNS.items()):
            return
        with self.db.transaction():
            self.db.lock(SCHEMA_LOCK)
            for table, added in ADDED_COLUMNS.items():
                present = self.db.columns(table)
                for name, kind in added.items():
                    if name not in present:
                        self.db.add_column(table, name, kind)

    def _findings_by_report(self) -> None:
        """A store written before findings were kept per report (one copy per host): each report keeps the
        findings of one of its hosts, and `findings` becomes the view that lists them per host again."""
        with self.db.transaction():
            self.db.lock(SCHEMA_LOCK)
            if self.db.columns("report_findings"):  # another run moved them meanwhile
                return
            self.db.execute(self.db.ddl(SCHEMA[SCHEMA.index("CREATE TABLE IF NOT EXISTS report_findings") :].split(";")[0]))
            self.db.execute(
                f"INSERT INTO report_findings (report_digest, {FINDING_COLUMNS}) SELECT s.report_digest,"
                f" {', '.join('f.' + c for c in FINDING_COLUMNS.split(', '))} FROM findings f JOIN scans s ON s.id = f.scan_id"
                " WHERE s.id = (SELECT MIN(o.id) FROM scans o WHERE o.report_digest = s.report_digest)"
            )
            self.db.execute("DROP TABLE findings")

    def close(self) -> None:
        self.db.close()

    def start_run(self, as_of: str, horizon_days: int, options: dict[str, Any], fingerprint: str, version: str) -> int:
        with self.db.transaction():
            return self.db.insert(
                "INSERT INTO runs (as_of, horizon_days, options, fingerprint, version, started_at) VALUES (?, ?, ?, ?, ?, ?)",
                (as_of, horizon_days, json.dumps(options, sort_keys=True), fingerprint, version, _now()),
            )

    def finish_run(self, run_id: int) -> None:
        with self.db.transaction():
            self.db.execute("UPDATE runs SET finished_at = ? WHERE id = ?", (_now(), run_id))

    def run(self, run_id: int | None = None) -> dict[str, Any] | None:
        """A run by its id, or the latest; None when there is none."""
        query = "SELECT id, as_of, horizon_days, options, fingerprint, version, started_at, finished_at FROM runs"
        cursor = self.db.execute(
            query + (" WHERE id = ?" if run_id is not None else " ORDER BY id DESC LIMIT 1"),
            (run_id,) if run_id is not None else (),
        )
        row = cursor.fetchone()
        if row is None:
            return None
        found = dict(zip([d[0] for d in cursor.description], row, strict=True))
        return found | {"options": json.loads(found["options"])}

    def done(self, run_id: int) -> dict[str, tuple[str | None, str | None, bool]]:
        """{host key: (image sha256, host settings, whether it was judged whole)} of the hosts a run already holds:
        a host that could not be read, or whose judgement lost a crashed check's findings, is judged again."""
        rows = self.db.execute("SELECT host_key, sha256, settings, status, error FROM scans WHERE run_id = ?", (run_id,))
        return {key: (sha256, settings, status == "ok" and not error) for key, sha256, settings, status, error in rows.fetchall()}

    def record(self, run_id: int, result: dict[str, Any], version: str, options: str, origin: str) -> dict[str, Any]:
        """Commit one host's result to a run (replacing the host's older row of that run); returns the row's
        summary fields (host, status, worst, error, first_failure, failing_days) for progress lines."""
        return self.record_all(run_id, [result], version, options, {result["key"]: origin})[0]

    def record_all(
        self, run_id: int, results: list[dict[str, Any]], version: str, options: str, origins: dict[str, str]
    ) -> list[dict[str, Any]]:
        """Commit the results of hosts that arrive together (one image's) in one transaction: a commit per host
        was most of the parent's CPU in a 10,000-host run (bench/fleet.py). `origins`: {host key: origin}.
        The hosts' locks are taken in key order, so two writers of the same hosts take turns, never deadlock.
        Each table gets one batched statement per image, not one per host, and a host's labels and facts are
        encoded once per distinct value: hosts of an image mostly share them (bench/fleet.py, issue 24)."""
        now = _now()
        texts: dict[object, str] = {}  # labels or facts content: its JSON, for this batch
        reports: dict[str, StoredReport] = {}  # by digest: the reports this transaction may be the first to store
        rows = [self._row(run_id, result, version, options, origins[result["key"]], now, texts, reports) for result in results]
        keys = sorted({result["key"] for result in results})
        with self.db.transaction():
            for key in keys:
                self.db.lock(f"{run_id}|{key}")
            self._add_reports(reports)
            self.db.executemany(UPSERT_SCAN, [row for row, _ in rows])
            updates = [(result["key"], u) for result in results for u in result.get("updates") or []]
            if updates:  # a run judges updates on all its hosts or on none: only then has a host older ones to replace
                ids = self._scan_ids(run_id, keys)
                self.db.executemany("DELETE FROM update_verdicts WHERE scan_id = ?", [(ids[key],) for key in keys])
                self.db.executemany(
                    f"INSERT INTO update_verdicts (scan_id, {', '.join(UPDATE_COLUMNS)}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    [(ids[key], *(",".join(u[c]) if c == "reasons" else u[c] for c in UPDATE_COLUMNS)) for key, u in updates],
                )
        self._stored |= reports.keys()  # committed
        return [summary for _, summary in rows]

    def _add_reports(self, reports: dict[str, StoredReport]) -> None:
        """Store the reports the database does not hold yet, each with its findings, once: several runs (or a
        cluster's workers) may commit hosts judged alike at once, so each report is locked, then looked for."""
        digests = sorted(reports)
        for digest in digests:
            self.db.lock(f"report|{digest}")  # after every host key, in order: no writer waits on another in a cycle
        held = {digest for (digest,) in self._rows_in("SELECT digest FROM reports WHERE digest IN ({})", digests)}
        new = [reports[digest] for digest in digests if digest not in held]
        self.db.executemany("INSERT INTO reports (digest, report) VALUES (?, ?)", [(r.digest, r.text) for r in new])
        self.db.executemany(
            f"INSERT INTO report_findings (report_digest, {FINDING_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [(r.digest, *finding) for r in new for finding in r.findings],
        )

    def _scan_ids(self, run_id: int, keys: list[str]) -> dict[str, int]:
        """{host key: its new row's id}."""
        rows = self._rows_in("SELECT host_key, id FROM scans WHERE run_id = ? AND host_key IN ({})", keys, (run_id,))
        return {key: int(scan_id) for key, scan_id in rows}

    def _rows_in(self, query: str, values: list[str], params: tuple[object, ...] = ()) -> list[Any]:
        """The rows of `query` (after `params`, its `IN ({})` takes values) for every one of `values`, asked in
        chunks that stay under SQLite's oldest limit of 999 bound parameters."""
        rows: list[Any] = []
        for at in range(0, len(values), 900):
            chunk = values[at : at + 900]
            rows += self.db.execute(query.format(", ".join("?" * len(chunk))), (*params, *chunk)).fetchall()
        return rows

    def _row(
        self,
        run_id: int,
        result: dict[str, Any],
        version: str,
        options: str,
        origin: str,
        now: str,
        texts: dict[object, str],
        reports: dict[str, StoredReport],
    ) -> tuple[tuple[object, ...], dict[str, Any]]:
        """One host's `scans` row and its summary fields; a report this store has not stored yet goes to `reports`."""
        report: StoredReport | None = result.get("report")
        worst = report.worst if report else None
        # never before the host was deployed (what the reference machine's logs show happened before it)
        deployed = (result.get("facts") or {}).get("deployed")
        first = report.earliest if report else None
        if deployed and report and report.fails:  # an undated failure hits it from the day it comes up
            first = max(first or deployed, deployed)
        failing = encode_failing_days(report.failing_days, deployed) if report else None
        cache = result.get("verdict_cache") or {}
        host = result.get("host") or (report.host if report else None) or _image_label(result)
        if report and report.digest not in self._stored:  # hosts judged alike: sent once
            reports[report.digest] = report
        status = "ok" if report else "error"
        error = result.get("error") or (incomplete(report.crashed) if report and report.crashed else None)
        row = (
            run_id,
            result["key"],
            result["path"],
            result.get("index"),
            result.get("image_name"),
            host,
            _json_once(result.get("labels") or {}, texts),
            _json_once(result.get("facts") or {}, texts),
            (report.sha256 if report else None) or result.get("sha256"),
            version,
            options,
            status,
            worst,
            first,
            failing,
            report.as_of if report else None,
            report.rules if report else "",
            error,
            report.digest if report else None,
            now,
            cache.get("reused"),
            cache.get("judged"),
            result.get("settings"),
            origin,
        )
        # a host the host list does not name is named by its image's ComputerName, which copies of an image share:
        # its progress line names the image too, by its path (copies in two folders share a file name)
        image = None if result.get("host") else str(result["key"])
        return row, {
            "host": host,
            "image": image,
            "status": status,
            "worst": worst,
            "error": error,
            "first_failure": first,
            "failing_days": failing,
        }

    def mark(self, run_id: int, keys: list[str], origin: str) -> None:
        """Say how hosts a resumed run kept got into it (reused: judged before, nothing changed)."""
        with self.db.transaction():
            self.db.executemany(
                "UPDATE scans SET origin = ? WHERE run_id = ? AND host_key = ?", [(origin, run_id, k) for k in keys]
            )

    def rows(self, run_id: int) -> list[dict[str, Any]]:
        cursor = self.db.execute(f"SELECT {ROW_COLUMNS} FROM scans WHERE run_id = ? ORDER BY host_key", (run_id,))
        names = [d[0] for d in cursor.description]
        found = [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
        updates = self.update_verdicts(run_id)
        decoded: dict[str, Any] = {}  # labels or facts JSON: its value; hosts share a few (decoding each was a third of this)
        for text in {r[column] for r in found for column in ("labels", "facts")}:
            decoded[text] = json.loads(text)
        return [
            r | {"labels": decoded[r["labels"]], "facts": decoded[r["facts"]], "updates": updates.get(r["host_key"], [])}
            for r in found
        ]

    def update_verdicts(self, run_id: int) -> dict[str, list[dict[str, Any]]]:
        """{host key: its verdict on each update of the run, by file}."""
        cursor = self.db.execute(
            f"SELECT s.host_key, {', '.join('u.' + c for c in UPDATE_COLUMNS)} FROM update_verdicts u"
            " JOIN scans s ON s.id = u.scan_id WHERE s.run_id = ? ORDER BY s.host_key, u.file",
            (run_id,),
        )
        found: dict[str, list[dict[str, Any]]] = {}
        for key, *values in cursor.fetchall():
            verdict = dict(zip(UPDATE_COLUMNS, values, strict=True))
            found.setdefault(key, []).append(verdict | {"reasons": [r for r in verdict["reasons"].split(",") if r]})
        return found

    def report(self, run_id: int, host_key: str) -> dict[str, Any] | None:
        """One host's full report in a run."""
        row = self.db.execute(
            "SELECT r.report FROM scans s JOIN reports r ON r.digest = s.report_digest WHERE s.run_id = ? AND s.host_key = ?",
            (run_id, host_key),
        ).fetchone()
        return json.loads(row[0]) if row else None


def _json_once(value: dict[str, Any], texts: dict[object, str]) -> str:
    """`value`'s JSON, encoded once per distinct content in a batch: hosts share few distinct labels and facts
    (a site, a ring, a deployment day), and encoding them per host was a good part of a 10,000-host commit
    (bench/fleet.py). A value with an unhashable part (a list) is encoded each time."""
    try:
        content: object = tuple(sorted((key, type(item), item) for key, item in value.items()))  # True is not 1
        text = texts.get(content)
    except TypeError:
        return json.dumps(value, sort_keys=True)
    if text is None:
        text = texts[content] = json.dumps(value, sort_keys=True)
    return text


def incomplete(checks: tuple[str, ...]) -> str:
    """The `error` of a host that was judged but not whole (its status stays `ok`: the report is stored)."""
    return f"check {', '.join(checks)} crashed (a bug), so its findings are missing"


def _image_label(result: dict[str, Any]) -> str:
    """A host named by nothing but its image: the file name, and which image of a WIM."""
    name = Path(result["path"]).name
    which = result.get("index") or result.get("image_name")
    return f"{name} image {which}" if which else name


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")
