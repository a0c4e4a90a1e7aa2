"""Issue 14, part 4: a fleet judges each distinct catalog once (the verdict cache in the fleet
database), and a host's report is the same whether its verdicts came from the cache or not."""

from __future__ import annotations

import json
import pickle
import shutil
import sqlite3

from imgscan.fleet.database import open_database
from imgscan.signing.certs import CertCache
from imgscan.signing.trust_store import build_store
from imgscan.signing.validity import Judge
from imgscan.signing.verdict_cache import SCHEMA, VerdictCache
from tests.conftest import REPO, run_imgscan

REF_W7_2012Q3 = REPO / "sample_images" / "built" / "ref-w7-2012q3.vhdx"


def _without_path(report: dict) -> dict:
    return report | {"image": {k: v for k, v in report["image"].items() if k != "path"}}


def test_captures_of_one_image_judge_each_catalog_once(tmp_path):
    images = tmp_path / "captures"
    images.mkdir()
    for n in range(3):  # three captures of hosts built from one golden image
        shutil.copy(REF_W7_2012Q3, images / f"WS-{n:04d}.vhdx")
    db = tmp_path / "fleet.sqlite"
    run = run_imgscan("fleet", images, "--as-of", "2013-07-01", "--db", db, "--jobs", "1", "-f", "json")
    assert run.code == 1, run.stderr
    assert len(json.loads(run.stdout)) == 3
    with sqlite3.connect(db) as connection:  # run statistics: per host in the database, in the text with -v
        counts = connection.execute("SELECT verdicts_judged, verdicts_reused FROM scans").fetchall()
    judged = sorted(j for j, _ in counts)
    reused = sorted(r for _, r in counts)
    assert judged[0] == judged[1] == 0 and judged[2] > 0  # the first host judged them all...
    assert reused == [0, judged[2], judged[2]]  # ...and the other two reused every one
    assert "verdict cache" not in run_imgscan("fleet", "--report", "--db", db).stdout  # statistics only with -v
    table = run_imgscan("fleet", "--report", "--db", db, "-v").stdout
    assert f"verdict cache: {2 * judged[2]} catalog verdict(s) reused, {judged[2]} judged (67% hits)" in table
    alone = run_imgscan("scan", images / "WS-0002.vhdx", "--as-of", "2013-07-01", "-f", "json").report
    with sqlite3.connect(db) as connection:
        stored = {
            path: json.loads(text)
            for path, text in connection.execute(
                "SELECT s.path, r.report FROM scans s JOIN reports r ON r.digest = s.report_digest"
            )
        }
    for report in stored.values():
        assert _without_path(report) == _without_path(alone)


def _judge(mitigation: str | None = None) -> Judge:
    cache = CertCache()
    return Judge(build_store(cache, None), cache, mitigation)


def test_what_changes_a_verdict_changes_the_key():
    plain, mitigated = _judge(), _judge("KB2749655")
    assert plain.fingerprint() == _judge().fingerprint()
    assert plain.fingerprint() != mitigated.fingerprint()
    assert VerdictCache.key(plain, "ab" * 32, True) != VerdictCache.key(plain, "ab" * 32, False)


class _Payload:
    def __reduce__(self):
        return (print, ("code ran from the cache",))


def test_a_tampered_entry_runs_no_code_and_is_judged_again(fleet_db, capsys):
    db = open_database(fleet_db.arg)
    try:
        db.create(SCHEMA)
        with db.transaction():
            db.execute("INSERT INTO verdicts (key, result) VALUES (?, ?)", ("k", pickle.dumps(_Payload())))
        cache = VerdictCache(db)
        assert cache.get("k", r"Windows\servicing\Packages\x.cat") is None
        assert (cache.hits, cache.misses) == (0, 1)
        assert "code ran" not in capsys.readouterr().out
    finally:
        db.close()
