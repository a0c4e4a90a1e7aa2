"""The fleet database (SQLite): one row per scanned image with its full JSON report, and its findings.

Each result is committed on its own as it arrives (WAL journal), so a run that
is interrupted, killed or whose worker crashed loses no finished image; a row
is keyed by image path, image SHA-256, imgscan version and scan options, which
is what `--resume` skips.
"""

from __future__ import annotations

import json
import sqlite3
from datetime import datetime, timezone
from pathlib import Path

from imgscan.gate import gating_severity

SCHEMA = """
CREATE TABLE IF NOT EXISTS scans (
    id INTEGER PRIMARY KEY,
    path TEXT NOT NULL,
    host TEXT NOT NULL,
    labels TEXT NOT NULL,
    sha256 TEXT,
    version TEXT NOT NULL,
    options TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('ok', 'error')),
    worst TEXT,
    first_failure TEXT,
    rules TEXT NOT NULL,
    error TEXT,
    report TEXT,
    scanned_at TEXT NOT NULL,
    verdicts_reused INTEGER,
    verdicts_judged INTEGER,
    settings TEXT,
    UNIQUE (path, version, options)
);
CREATE TABLE IF NOT EXISTS findings (
    scan_id INTEGER NOT NULL REFERENCES scans(id) ON DELETE CASCADE,
    rule TEXT NOT NULL,
    severity TEXT NOT NULL,
    starts TEXT,
    hresult TEXT,
    path TEXT,
    suppressed INTEGER NOT NULL,
    id TEXT,
    caused_by TEXT
);
CREATE INDEX IF NOT EXISTS findings_rule ON findings (rule);
"""
SEVERITY_ORDER = ("critical", "high", "medium", "low", "info")
# columns added after the first release: a database written before them gains them on open
ADDED_COLUMNS = {
    "scans": {"verdicts_reused": "INTEGER", "verdicts_judged": "INTEGER", "settings": "TEXT"},
    # a finding's identity (check.identity) and its root cause's: the same across images, runs and formats
    "findings": {"id": "TEXT", "caused_by": "TEXT"},
}


class Store:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.db = sqlite3.connect(path, timeout=60)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA foreign_keys=ON")
        self.db.executescript(SCHEMA)
        for table, added in ADDED_COLUMNS.items():
            present = {row[1] for row in self.db.execute(f"PRAGMA table_info({table})")}
            for name, kind in added.items():
                if name not in present:
                    self.db.execute(f"ALTER TABLE {table} ADD COLUMN {name} {kind}")

    def close(self) -> None:
        self.db.close()

    def done(self, version: str, options: str) -> dict[str, tuple[str | None, str | None]]:
        """{path: (sha256, host settings)} of the images already scanned with this version and these options."""
        rows = self.db.execute("SELECT path, sha256, settings FROM scans WHERE version = ? AND options = ?", (version, options))
        return {path: (sha256, settings) for path, sha256, settings in rows.fetchall()}

    def record(self, result: dict, version: str, options: str) -> None:
        """Commit one image's result (replacing an older row for the same path, version and options)."""
        report = result.get("report")
        findings = [f for f in (report or {}).get("findings", []) if not f.get("suppressed")]
        levels = {str(level) for f in (report or {}).get("findings", []) if (level := gating_severity(f)) is not None}
        worst = next((s for s in SEVERITY_ORDER if s in levels), None)
        # a prediction's first day, or the day a log first shows an observed failure
        starts = sorted(day for f in findings if (day := f["starts"] or (f.get("observed") or "")[:10]))
        cache = result.get("verdict_cache") or {}
        host = result.get("host") or ((report or {}).get("host") or {}).get("name") or Path(result["path"]).name
        with self.db:
            self.db.execute(
                "DELETE FROM scans WHERE path = ? AND version = ? AND options = ?", (result["path"], version, options)
            )
            cursor = self.db.execute(
                "INSERT INTO scans (path, host, labels, sha256, version, options, status, worst, first_failure, rules,"
                " error, report, scanned_at, verdicts_reused, verdicts_judged, settings)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    result["path"],
                    host,
                    json.dumps(result.get("labels") or {}, sort_keys=True),
                    (report or {}).get("image", {}).get("sha256") or result.get("sha256"),
                    version,
                    options,
                    "ok" if report else "error",
                    worst,
                    starts[0] if starts else None,
                    ",".join(sorted({f["rule"] for f in findings})),
                    result.get("error"),
                    json.dumps(report, ensure_ascii=False) if report else None,
                    datetime.now(timezone.utc).isoformat(timespec="seconds"),
                    cache.get("reused"),
                    cache.get("judged"),
                    result.get("settings"),
                ),
            )
            self.db.executemany(
                "INSERT INTO findings (scan_id, rule, severity, starts, hresult, path, suppressed, id, caused_by)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    (
                        cursor.lastrowid,
                        f["rule"],
                        f["severity"],
                        f["starts"],
                        f["hresult"],
                        str(f["evidence"][0].get("path", "")) if f["evidence"] else None,
                        int(bool(f.get("suppressed"))),
                        f.get("id"),
                        f.get("caused_by"),
                    )
                    for f in (report or {}).get("findings", [])
                ],
            )

    def rows(self) -> list[dict[str, object]]:
        cursor = self.db.execute(
            "SELECT path, host, labels, sha256, status, worst, first_failure, rules, error,"
            " json_extract(report, '$.as_of') AS as_of, verdicts_reused, verdicts_judged FROM scans ORDER BY path"
        )
        names = [d[0] for d in cursor.description]
        return [dict(zip(names, row, strict=True)) | {"labels": json.loads(row[2])} for row in cursor.fetchall()]
