"""Issue 24 part 8: on a real Dask cluster (a `dask scheduler` and two `dask worker` processes on loopback,
tests/servers.py), each distinct catalog is judged once across the cluster, the hosts are assembled from the
shared verdicts with the same findings as a local run, and a second run on the same images judges nothing:
the verdict cache lives in the store, SQLite or PostgreSQL."""

from __future__ import annotations

import json
import shutil

import pytest

from tests.conftest import run_imgscan
from tests.servers import PASSWORD, FleetDatabase
from tests.test_fleet import host, rows

LATEST = "(SELECT MAX(id) FROM runs)"
FINDINGS = (
    "SELECT s.path, f.rule, f.severity, f.starts, f.hresult, f.path AS evidence FROM findings f JOIN scans s ON s.id = f.scan_id"
    f" WHERE s.run_id = {LATEST}"
)


def findings(db: FleetDatabase) -> list[tuple]:
    """The findings of the latest run."""
    return sorted(tuple(r.values()) for r in db.query(FINDINGS))


def counts(db: FleetDatabase) -> dict[str, tuple[int, int]]:
    """{image: (catalog verdicts reused, judged)} of the latest run's hosts."""
    query = f"SELECT path, verdicts_reused, verdicts_judged FROM scans WHERE status = 'ok' AND run_id = {LATEST}"
    return {r["path"]: (r["verdicts_reused"] or 0, r["verdicts_judged"] or 0) for r in db.query(query)}


@pytest.fixture(scope="module")
def images(tmp_path_factory):
    """Captures of two golden images, two hosts each (byte copies: the same catalogs and trust stores, as
    hosts deployed from one image), and one unreadable file."""
    images = tmp_path_factory.mktemp("cluster")
    for name, computer in (("ws-acc-0417", "WS-0001"), ("healthy", "WS-0004")):
        golden = host(name, computer, tmp_path_factory.mktemp("golden"))
        for copy in ("a", "b"):
            shutil.copyfile(golden, images / f"{computer}-{copy}.vhdx")
    (images / "WS-0006.vhdx").write_bytes((images / "WS-0004-a.vhdx").read_bytes()[:1_000_000])
    return images


def test_cluster_judges_each_catalog_once_and_a_second_run_none(images, tmp_path, fleet_db, dask_cluster):
    local = FleetDatabase("sqlite", str(tmp_path / "local.sqlite"))
    args = ("fleet", images, "--as-of", "2013-07-05")
    assert run_imgscan(*args, "--db", local.arg, "--jobs", "2").code == 1

    first = run_imgscan(*args, "--db", fleet_db.arg, "--scheduler", dask_cluster)
    assert first.code == 1, first.stderr
    assert PASSWORD not in first.stdout + first.stderr
    assert findings(fleet_db) == findings(local) and findings(fleet_db)
    assert sorted((r["path"], r["status"]) for r in rows(local)) == sorted((r["path"], r["status"]) for r in rows(fleet_db))

    verdicts = {r["key"] for r in fleet_db.query("SELECT key FROM verdicts")}
    judged = counts(fleet_db)
    # each distinct catalog judged once across the cluster, and the rest of every host's catalogs reused
    assert verdicts and sum(j for _, j in judged.values()) == len(verdicts)
    assert sum(r for r, _ in judged.values()) > 0
    # the judging was spread: over the images that hold a catalog, so over the workers
    assert sum(1 for _, j in judged.values() if j) >= 2

    second = run_imgscan(*args, "--db", fleet_db.arg, "--scheduler", dask_cluster)  # a second run in the store
    assert second.code == 1, second.stderr
    assert len(fleet_db.query("SELECT id FROM runs")) == 2
    again = counts(fleet_db)
    assert sum(j for _, j in again.values()) == 0  # every verdict came from the store
    assert {path: r for path, (r, _) in again.items()} == {path: r + j for path, (r, j) in judged.items()}
    assert {r["key"] for r in fleet_db.query("SELECT key FROM verdicts")} == verdicts
    assert findings(fleet_db) == findings(local)


def test_cluster_judges_the_hosts_of_one_image_each_from_one_survey(images, tmp_path, fleet_db, dask_cluster):
    """Two hosts on one image with different networks: two rows with their own findings, the image's
    catalogs judged once (counted on its first host's row, whose judgement comes with the image's one read)
    and none looked up again for the second host, judged on the same read."""
    hosts = tmp_path / "hosts.csv"
    image = images / "WS-0001-a.vhdx"
    hosts.write_text(f"path,host,network\n{image},PC-ONLINE,online\n{image},PC-OFFLINE,offline\n", encoding="utf-8")
    run = run_imgscan("fleet", hosts, "--as-of", "2013-07-05", "--db", fleet_db.arg, "--scheduler", dask_cluster, "-f", "json")
    assert run.code == 1, run.stderr
    by_host = {r["host"]: r for r in json.loads(run.stdout)}
    assert set(by_host) == {"PC-ONLINE", "PC-OFFLINE"}
    severity = {
        r["host"]: r["severity"]
        for r in fleet_db.query(
            "SELECT s.host, f.severity FROM findings f JOIN scans s ON s.id = f.scan_id WHERE f.rule = ?",
            ("wintrust-offline-revocation",),
        )
    }
    assert severity == {"PC-ONLINE": "info", "PC-OFFLINE": "high"}
    verdicts = fleet_db.query("SELECT key FROM verdicts")
    stored = {r["host"]: (r["verdicts_reused"], r["verdicts_judged"]) for r in fleet_db.query("SELECT * FROM scans")}
    assert verdicts and stored["PC-ONLINE"] == (0, len(verdicts))  # the first host's judgement read them all
    assert stored["PC-OFFLINE"] == (None, None)  # its judgement read no catalog: the image was read once


def test_the_hosts_of_one_image_come_back_from_a_worker_sharing_one_report(images, dask_cluster):
    """Hosts judged alike share one report object (work.scan_image); it must come back from the worker still
    shared, so it crosses the network once and the store encodes it once (Dask sends a bare list element by
    element: every host brought its own copy, most of a 10,000-host Dask run's extra CPU)."""
    from dask.distributed import Client

    from imgscan.fleet.cluster import scan
    from imgscan.fleet.host import FleetHost
    from imgscan.fleet.work import FleetOptions

    image = str(images / "WS-0001-a.vhdx")
    hosts = [FleetHost(image, name=f"PC-{n}") for n in range(3)]
    with Client(dask_cluster, timeout="30s") as client:
        rows = client.submit(scan, hosts, FleetOptions("2013-07-05", 30), None, pure=False).result().rows
    assert [r["host"] for r in rows] == ["PC-0", "PC-1", "PC-2"] and "error" not in rows[0], rows[0].get("error")
    assert rows[0]["report"] is rows[1]["report"] is rows[2]["report"]
