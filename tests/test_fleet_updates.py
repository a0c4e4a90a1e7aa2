"""Issue 25 part 5: `fleet --updates` judges each update on each host with the host's own day (its
deployment day where later than the as-of), reads each package once per run and each image's preflight
facts once, stores the verdicts with the host's row (SQLite and PostgreSQL) and says, per update, how many
hosts it fails on and from when; exit 1 when an update will not install on a host."""

from __future__ import annotations

import csv
import io
import json
import sqlite3
from typing import Any

import pytest

import imgscan.fleet.work as work
import imgscan.preflight.package as package
from imgscan import cli
from imgscan.fleet.manifest import read
from imgscan.fleet.work import FleetOptions, scan_image
from sample_images.build import build
from sample_images.pki import make_pki
from sample_images.scenario import load
from sample_images.updates import SAMPLES, build_samples

AS_OF = "2020-03-01"
# PC-A and PC-B are judged on the as-of (PC-B was deployed before it); PC-C comes up on 2021-02-01, after
# the certificate of the sample update signed without a timestamp ended (2020-12-31)
HOSTS = "path,host,deployed\n{image},PC-A,\n{image},PC-B,2019-11-01\n{image},PC-C,2021-02-01\n"
SHA2_ONLY, EXPIRES, SSU = (SAMPLES[name].kb for name in ("sha2-only", "expires", "ssu"))


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The preflight sample image and the sample updates under one test PKI, and a host list of three hosts."""
    out = tmp_path_factory.mktemp("fleet-updates")
    pki = make_pki()
    scenario = load("preflight")
    scenario.pki = pki
    image = build(scenario, out / "image", ("vhdx",))["vhdx"]
    build_samples(pki, out / "updates")
    hosts = out / "hosts.csv"
    hosts.write_text(HOSTS.format(image=image), encoding="utf-8")
    return {"image": image, "updates": out / "updates", "hosts": hosts, "out": out}


def fleet(lab: dict[str, Any], db: str, fmt: str, capsys: pytest.CaptureFixture[str], *extra: str) -> tuple[int, str]:
    """A run of the lab's hosts with its updates, or with --report in `extra` the stored run rendered (which takes
    neither hosts, updates nor a day)."""
    judged = [str(lab["hosts"]), "--updates", str(lab["updates"]), "--as-of", AS_OF, "--jobs", "1"]
    code = cli.main(["fleet", *([] if "--report" in extra else judged), "--db", db, "-f", fmt, *extra])
    return code, capsys.readouterr().out


def test_fleet_judges_each_update_on_each_host_and_stores_it(lab, fleet_db, capsys, monkeypatch, tmp_path):
    reads = tmp_path / "reads.log"  # a file: a worker process (forked with the patch) that read would show too
    real_read = package.read_update

    def counting_read(path):
        with reads.open("a") as log:
            log.write(f"{path.name}\n")
        return real_read(path)

    monkeypatch.setattr(package, "read_update", counting_read)
    code, out = fleet(lab, fleet_db.arg, "json", capsys)
    assert code == 1  # the SHA-2-only update will not install on any host
    read_names = reads.read_text().split()
    assert sorted(read_names) == sorted(p.name for p in lab["updates"].iterdir())  # each package read once, not per host
    rows = {r["host"]: {u["kb"]: u for u in r["updates"]} for r in json.loads(out)}
    assert set(rows) == {"PC-A", "PC-B", "PC-C"} and all(len(v) == len(SAMPLES) for v in rows.values())
    for host in rows.values():
        assert (host[SHA2_ONLY]["status"], host[SHA2_ONLY]["hresult"]) == ("will-not-install", "0x80092004")
        assert host[SSU]["status"] == "installs" and host[SSU]["fails_from"] is None
    # the host's own day: judged on the as-of, the update without a timestamp installs and fails from the day
    # after its certificate ends; PC-C, deployed after that day, is judged on its deployment day and it fails there
    for name in ("PC-A", "PC-B"):
        assert rows[name][EXPIRES]["status"] == "installs" and rows[name][EXPIRES]["judged_on"] == AS_OF
        assert rows[name][EXPIRES]["fails_from"] and AS_OF < rows[name][EXPIRES]["fails_from"] <= "2021-01-01"
        assert rows[name][SHA2_ONLY]["fails_from"] == AS_OF
    pc_c = rows["PC-C"][EXPIRES]
    assert (pc_c["status"], pc_c["judged_on"], pc_c["fails_from"]) == ("will-not-install", "2021-02-01", "2021-02-01")
    assert pc_c["hresult"] in ("0x800B0101", "0x800B0109") and rows["PC-C"][SHA2_ONLY]["fails_from"] == "2021-02-01"

    stored = fleet_db.query("SELECT s.host, u.kb, u.status, u.fails_from FROM update_verdicts u JOIN scans s ON s.id = u.scan_id")
    assert len(stored) == 3 * len(SAMPLES)
    assert {(r["host"], r["kb"], r["status"], r["fails_from"]) for r in stored} == {
        (h, kb, u["status"], u["fails_from"]) for h, v in rows.items() for kb, u in v.items()
    }

    # the other views, from the store alone: the table counts per update, the CSV carries each host's verdicts
    code, table = fleet(lab, fleet_db.arg, "table", capsys, "--report")
    assert code == 1
    lines = table.splitlines()
    sha2_line = next(line for line in lines if line.startswith(f"  {SHA2_ONLY} "))
    assert sha2_line.endswith(f"fails on 3 of 3 host(s): 2 from {AS_OF}, 1 from 2021-02-01")
    expires_line = next(line for line in lines if line.startswith(f"  {EXPIRES} "))
    fails_a = rows["PC-A"][EXPIRES]["fails_from"]
    assert expires_line.endswith(f"fails on 3 of 3 host(s): 2 from {fails_a}, 1 from 2021-02-01")
    ssu_line = next(line for line in lines if line.startswith(f"  {SSU} "))
    assert ssu_line.endswith("fails on 0 of 3 host(s)")
    assert f"    will-not-install {pc_c['hresult']}: 1 host(s): PC-C" in lines
    code, text = fleet(lab, fleet_db.arg, "csv", capsys, "--report")
    by_host = {r["host"]: r["updates"] for r in csv.DictReader(io.StringIO(text))}
    assert f"{EXPIRES}=will-not-install {pc_c['hresult']} from 2021-02-01" in by_host["PC-C"].split("; ")
    assert f"{SSU}=installs" in by_host["PC-A"].split("; ")


def test_each_image_facts_are_built_once_and_shared_by_its_hosts(lab, monkeypatch):
    built = []
    real = work.image_facts
    monkeypatch.setattr(work, "image_facts", lambda loaded: built.append(1) or real(loaded))
    updates = tuple(package.read_update(p) for p in sorted(lab["updates"].iterdir()))
    results = scan_image(read(lab["hosts"]), FleetOptions(AS_OF, 365, (), updates))
    assert len(built) == 1 and all(len(r["updates"]) == len(updates) for r in results)
    # hosts judged on the same day share their verdicts; the one deployed later has its own
    a, b, c = (r["updates"] for r in results)
    assert a is b and c != a


def test_exit_1_comes_from_an_update_that_will_not_install_and_a_resume_with_other_updates_is_refused(lab, tmp_path, capsys):
    ssu_only = tmp_path / "ssu"
    ssu_only.mkdir()
    source = next(p for p in lab["updates"].iterdir() if SSU in p.name)
    (ssu_only / source.name).write_bytes(source.read_bytes())
    db = str(tmp_path / "fleet.sqlite")
    common = [str(lab["hosts"]), "--db", db, "--as-of", AS_OF, "--jobs", "1", "-f", "json", "--fail-on", "critical"]
    # the hosts' own findings are high at worst: with --fail-on critical only an update can fail the run
    assert cli.main(["fleet", *common, "--updates", str(ssu_only)]) == 0
    assert all(r["updates"][0]["status"] == "installs" for r in json.loads(capsys.readouterr().out))
    assert cli.main(["fleet", *common, "--updates", str(lab["updates"])]) == 1
    capsys.readouterr()
    assert cli.main(["fleet", *common, "--updates", str(ssu_only), "--resume"]) == 2
    assert "was made with other --updates" in capsys.readouterr().err


def test_an_unreadable_update_or_an_unfinished_run_never_passes_and_report_keeps_the_runs_fail_on(lab, tmp_path, capsys):
    """As preflight: an update that cannot be read cannot be said to install, so the run exits 2 (not 0) when no
    host fails; --report shows a run by its own --fail-on, and says a run that did not finish is not whole."""
    updates = tmp_path / "updates"
    updates.mkdir()
    source = next(p for p in lab["updates"].iterdir() if SSU in p.name)
    (updates / source.name).write_bytes(source.read_bytes())
    (updates / "cut.msu").write_bytes(source.read_bytes()[:4000])
    (updates / "WSUSSCAN.cab").write_bytes(b"scan metadata, never an update")  # beside an expanded .msu: skipped
    db = str(tmp_path / "fleet.sqlite")
    common = [str(lab["hosts"]), "--db", db, "--as-of", AS_OF, "--jobs", "1", "-f", "json", "--fail-on", "critical"]
    assert cli.main(["fleet", *common, "--updates", str(updates)]) == 2
    out, err = capsys.readouterr()
    (line,) = err.splitlines()
    assert line.startswith(f"imgscan: error: {updates / 'cut.msu'}: ") and line.endswith("; the other updates are judged")
    assert all([u["status"] for u in r["updates"]] == ["installs"] for r in json.loads(out))
    report = ["fleet", "--db", db, "--report", "-f", "json"]
    assert cli.main(report) == 2  # the run's --fail-on critical: no host fails, and an update was not read
    assert f"1 update(s) of --updates could not be read ({updates / 'cut.msu'})" in capsys.readouterr().err
    assert cli.main([*report, "--fail-on", "high"]) == 1  # asked for: the hosts' high findings fail them
    capsys.readouterr()
    with sqlite3.connect(db) as store:  # as a run interrupted (or still running) leaves it
        store.execute("UPDATE runs SET finished_at = NULL, options = json_set(options, '$.unreadable_updates', json('[]'))")
    assert cli.main(["fleet", "--db", db, "--report"]) == 2
    out, err = capsys.readouterr()
    assert "(not finished: only the hosts judged so far)" in out
    assert "run 1 is not finished: only the 3 host(s) judged so far are shown; run the command again with --resume" in err
