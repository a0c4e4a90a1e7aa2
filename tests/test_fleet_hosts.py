"""Issue 24 parts 1 and 2: hosts with their own facts, each image read once and each host judged on it."""

from __future__ import annotations

import json

import pytest

import imgscan.fleet.work as work
import imgscan.image as image_module
from imgscan.artefacts import Artefacts
from imgscan.fleet.manifest import read
from imgscan.fleet.work import FleetOptions, scan_image
from sample_images.build import build
from sample_images.scenario import Profile, load
from tests.conftest import run_imgscan

AS_OF = "2025-06-01"  # the WinRE update (2024-01-09) has come, the 2011 CA (2026-10-19) expires within the horizon
OFFLINE_REVOCATION = "wintrust-offline-revocation"
CA_2023 = "secureboot-ca-2023-required"
WINRE = "winre-partition-too-small"


@pytest.fixture(scope="module")
def golden(tmp_path_factory):
    """A Windows 11 golden image as a WIM (no partitions: the deployment makes them) with a 2023-signed boot
    manager and a profile whose WinTrust State rejects offline revocation servers; no logs."""
    scenario = load("secureboot-2023")
    scenario.name = "golden-w11"
    scenario.profiles.append(Profile(name="nfury", sid="S-1-5-21-3623811015-3361044348-30300820-1001", wintrust_state=0xC9))
    return build(scenario, tmp_path_factory.mktemp("golden"), ("wim-lzx",))["wim-lzx"]


def manifest(tmp_path, golden, rows: str, name: str = "hosts.csv"):
    path = tmp_path / name
    path.write_text(rows.format(image=golden), encoding="utf-8")
    return path


HOSTS = (
    "path,host,target_firmware,network,recovery_free_mb,site\n"
    "{image},PC-A,2011-only,offline,100,BER\n"
    "{image},PC-B,2023,online,500,BER\n"
    "{image},PC-C,,proxy,,HAM\n"
    "{image},PC-D,2011-only,offline,100,HAM\n"
)


def report_of(result: dict) -> dict:
    """A host's report as the worker encoded it for the store."""
    return json.loads(result["report"].text)


def by_rule(result: dict) -> dict[str, str]:
    return {f["rule"]: f["severity"] for f in report_of(result)["findings"]}


def test_hosts_on_one_image_are_read_once_and_judged_each(golden, tmp_path, monkeypatch):
    opened, hashed, judged, loads = [], [], [], []
    real_open, real_hash, real_judge = image_module.open_image, image_module.file_sha256, work.judge_host
    real_get = Artefacts.get

    def counting_get(art, kind):  # a kind is loaded when it is asked for and not yet held
        if kind not in art._values:
            loads.append(kind.name)
        return real_get(art, kind)

    monkeypatch.setattr(image_module, "open_image", lambda *a, **k: opened.append(a[0]) or real_open(*a, **k))
    monkeypatch.setattr(image_module, "file_sha256", lambda p: hashed.append(p) or real_hash(p))
    monkeypatch.setattr(work, "judge_host", lambda o, h, *a: judged.append(h.name) or real_judge(o, h, *a))
    monkeypatch.setattr(Artefacts, "get", counting_get)
    hosts = read(manifest(tmp_path, golden, HOSTS))
    results = {r["host"]: r for r in scan_image(hosts, FleetOptions(AS_OF, 365))}
    assert (len(opened), len(hashed)) == (1, 1)  # one image: opened and hashed once for four hosts
    # and read once: three judgements (below) load no kind again, the catalogs and user hives included
    assert {"catalogs", "user_hives", "machine_hives", "boot"} <= set(loads)
    assert sorted(loads) == sorted(set(loads))
    assert judged == ["PC-A", "PC-B", "PC-C"]  # PC-D has PC-A's facts: it shares PC-A's judgement
    a, b, c, d = (by_rule(results[h]) for h in ("PC-A", "PC-B", "PC-C", "PC-D"))
    assert a == d
    # firmware: a 2011-only db refuses the 2023-signed boot manager; an updated one does not
    assert a[CA_2023] == "high" and CA_2023 not in b and c[CA_2023] == "medium"
    # network: offline and behind a proxy a CRL cannot be fetched; online the setting does not bite
    assert a[OFFLINE_REVOCATION] == "high" and c[OFFLINE_REVOCATION] == "high" and b[OFFLINE_REVOCATION] == "info"
    # recovery partition: 100 MB free is too little for the WinRE update, 500 MB is enough, unknown is skipped
    assert a[WINRE] == "high" and WINRE not in b and WINRE not in c
    skipped = {x["check"]: x.get("skipped") for x in report_of(results["PC-C"])["inventory"]["checks"]}
    assert skipped["winre_partition"] and "WIM has no partitions" in skipped["winre_partition"]


def test_hosts_deployed_by_the_as_of_day_share_one_judgement(golden, tmp_path, monkeypatch):
    judged = []
    real_judge = work.judge_host
    monkeypatch.setattr(work, "judge_host", lambda o, h, *a: judged.append(h.name) or real_judge(o, h, *a))
    rows = (
        "path,host,target_firmware,network,recovery_free_mb,deployed\n"
        "{image},PC-A,2011-only,offline,100,\n"
        "{image},PC-JAN,2011-only,offline,100,2025-01-01\n"
        "{image},PC-DAY,2011-only,offline,100,2025-06-01\n"  # deployed on the as-of day itself
        "{image},PC-LATE,2011-only,offline,100,2026-03-01\n"  # judged on the day it comes up
        "{image},PC-ONLINE,2011-only,online,100,2025-01-01\n"
    )
    results = {r["host"]: r for r in scan_image(read(manifest(tmp_path, golden, rows)), FleetOptions(AS_OF, 365))}
    assert judged == ["PC-A", "PC-LATE", "PC-ONLINE"]
    assert results["PC-JAN"]["report"] is results["PC-A"]["report"] is results["PC-DAY"]["report"]
    assert report_of(results["PC-LATE"])["as_of"] == "2026-03-01" and report_of(results["PC-A"])["as_of"] == AS_OF
    assert by_rule(results["PC-ONLINE"])[OFFLINE_REVOCATION] == "info"
    # each row keeps its own facts: the store takes its first failing day from its deployment
    assert [results[h]["facts"]["deployed"] for h in ("PC-A", "PC-JAN", "PC-DAY")] == [None, "2025-01-01", "2025-06-01"]


def test_manifest_hosts_get_rows_verdicts_and_first_days(golden, tmp_path, fleet_db):
    rows = (
        "path,host,target_firmware,network,recovery_free_mb,site,deployed\n"
        "{image},PC-A,2011-only,offline,100,BER,\n"
        "{image},PC-B,2023,online,500,BER,\n"
        "{image},PC-C,,proxy,,HAM,\n"
        "{image},PC-D,2011-only,offline,100,HAM,\n"
        "{image},PC-LATE,2011-only,offline,100,HAM,2026-03-01\n"  # deployed next spring
    )
    path = manifest(tmp_path, golden, rows)
    db = fleet_db.arg
    run = run_imgscan("fleet", path, "--as-of", AS_OF, "--db", db, "-f", "json")
    assert run.code == 1, run.stderr
    hosts = {r["host"]: r for r in json.loads(run.stdout)}
    assert set(hosts) == {"PC-A", "PC-B", "PC-C", "PC-D", "PC-LATE"}
    assert {h: r["verdict"] for h, r in hosts.items()} == {
        "PC-A": "fail", "PC-B": "pass", "PC-C": "fail", "PC-D": "fail", "PC-LATE": "fail"
    }  # fmt: skip
    assert hosts["PC-A"]["first_failure"] == "2024-01-09"  # the WinRE update, already failing on the as-of day
    assert hosts["PC-A"]["as_of"] == AS_OF and hosts["PC-A"]["labels"] == {"site": "BER"}
    # judged on the day it comes up, and failing from then, not from before it existed
    assert hosts["PC-LATE"]["as_of"] == "2026-03-01" and hosts["PC-LATE"]["first_failure"] == "2026-03-01"
    (stored,) = fleet_db.query("SELECT COUNT(*) AS hosts, COUNT(DISTINCT report_digest) AS reports FROM scans")
    facts = json.loads(fleet_db.query("SELECT facts FROM scans WHERE host = 'PC-B'")[0]["facts"])
    assert (stored["hosts"], stored["reports"]) == (5, 4)  # five host rows; PC-D shares PC-A's stored report
    assert facts["network"] == "online" and facts["recovery_free_bytes"] == 500 * 1024 * 1024
    table = run_imgscan("fleet", "--db", db, "--report").stdout
    assert "run 1: 5 host(s) on 1 image(s), judged as of 2025-06-01, looking ahead to 2026-06-01" in table
    when = table[table.index("which hosts fail when:") :].splitlines()[1:5]
    assert [line.split() for line in when] == [
        ["failing", "since", "2024-01-09", "2", "host(s):", "PC-A,", "PC-D"],
        ["failing", "now,", "undated", "1", "host(s):", "PC-C"],  # the proxy: at every update, no first day
        ["failing", "from", "2026-03-01", "1", "host(s):", "PC-LATE"],
        ["passing", "through", "2026-06-01", "1", "host(s):", "PC-B"],
    ]
    # judged by --fail-on critical, PC-A's high findings pass: their day is no failure, and its row names none
    lenient = {
        r["host"]: r
        for r in json.loads(run_imgscan("fleet", "--db", db, "--report", "--fail-on", "critical", "-f", "json").stdout)
    }
    assert (lenient["PC-A"]["verdict"], lenient["PC-A"]["worst"], lenient["PC-A"]["first_failure"]) == ("pass", "high", "")


def test_yaml_host_list_with_many_facts(golden, tmp_path):
    path = tmp_path / "hosts.yaml"
    path.write_text(
        f"hosts:\n"
        f"  - {{path: {golden}, host: LAB-1, network: online, target_firmware: '2023', model: Latitude 7440, ring: pilot}}\n"
        f"  - path: {golden}\n    host: LAB-2\n    network: offline\n    owner: ops\n",
        encoding="utf-8",
    )
    run = run_imgscan("fleet", path, "--as-of", AS_OF, "--db", tmp_path / "y.sqlite", "-f", "json")
    hosts = {r["host"]: r for r in json.loads(run.stdout)}
    assert hosts["LAB-1"]["facts"]["model"] == "Latitude 7440" and hosts["LAB-1"]["labels"] == {"ring": "pilot"}
    assert hosts["LAB-1"]["verdict"] == "pass" and hosts["LAB-2"]["verdict"] == "fail"


@pytest.mark.parametrize(
    ("rows", "message"),
    [
        ("path,host,sitee\n{image},PC-A,BER\n", "hosts.csv line 1: unknown column 'sitee'"),
        (
            "path,host\n{image},PC-A\n{image},PC-B\n{image},PC-A\n",
            "hosts.csv line 4: host PC-A is listed twice (first on line 2)",
        ),
        ("path,host\n{image},PC-A\nmissing.wim,PC-B\n", "hosts.csv line 3: image missing.wim: no such file or directory"),
        ("path,host,index\n{image},PC-A,3\n", "hosts.csv line 2: golden-w11.lzx.wim has no image with index 3 (it has 1)"),
        ("path,host,network\n{image},PC-A,intranet\n", "hosts.csv line 2: network 'intranet': use one of online, offline, proxy"),
        ("path,host,deployed\n{image},PC-A,next week\n", "hosts.csv line 2: deployed 'next week'"),
    ],
)
def test_manifest_mistakes_are_one_line_errors_naming_the_line(golden, tmp_path, rows, message):
    run = run_imgscan("fleet", manifest(tmp_path, golden, rows), "--db", tmp_path / "bad.sqlite")
    assert run.code == 2 and "Traceback" not in run.stderr
    assert run.stderr.count("\n") == 1 and message in run.stderr, run.stderr
    assert not (tmp_path / "bad.sqlite").exists()  # a refused host list leaves no empty database


def test_yaml_mistake_names_its_line(golden, tmp_path):
    path = tmp_path / "hosts.yaml"
    path.write_text(f"- path: {golden}\n  host: A\n- path: {golden}\n  host: A\n", encoding="utf-8")
    run = run_imgscan("fleet", path, "--db", tmp_path / "bad.sqlite")
    assert run.code == 2 and "hosts.yaml line 3: host A is listed twice (first on line 1)" in run.stderr


def test_one_host_name_in_two_host_lists_is_an_error_not_a_dropped_host(golden, tmp_path):
    """PC-A in two lists with two images: the second was dropped silently (its failing verdict with it)."""
    first = manifest(tmp_path, golden, "path,host\n{image},PC-A\n", "pilot.csv")
    other = tmp_path / "other.wim"
    other.write_bytes(golden.read_bytes())
    second = manifest(tmp_path, other, "path,host\n{image},PC-A\n", "broad.csv")
    run = run_imgscan("fleet", first, second, "--db", tmp_path / "bad.sqlite")
    assert run.code == 2 and run.stderr.count("\n") == 1, run.stderr
    assert f"{second}: host PC-A is also in {first}, with another image or other facts" in run.stderr
    assert not (tmp_path / "bad.sqlite").exists()
    same = run_imgscan("fleet", first, first, "--as-of", AS_OF, "--db", tmp_path / "same.sqlite", "-f", "json")
    assert [r["host"] for r in json.loads(same.stdout)] == ["PC-A"]  # the same list twice names one host


def test_a_report_is_never_written_over_a_hosts_image(golden, tmp_path):
    """-o naming an image that only a host list, a folder or a glob gives wrote the report over it. A real image is
    refused by its header before the hosts are read; one no header names (a damaged capture) once they are
    (tests/test_stale_reports.py)."""
    images = tmp_path / "captures"
    images.mkdir()
    capture = images / "pc-a.wim"
    capture.write_bytes(golden.read_bytes())
    before = capture.read_bytes()
    listed = manifest(tmp_path, capture, "path,host\n{image},PC-A\n")
    for given in (listed, images, images / "*.wim"):
        run = run_imgscan("fleet", given, "--as-of", AS_OF, "--db", tmp_path / "f.sqlite", "-f", "json", "-o", capture)
        assert run.code == 2 and f"{capture} is a disk image (wim): imgscan never writes a report over evidence" in run.stderr
    assert run_imgscan("fleet", listed, "--as-of", AS_OF, "--db", tmp_path / "f.sqlite").code in (0, 1)
    shown = run_imgscan("fleet", "--db", tmp_path / "f.sqlite", "--report", "-f", "json", "-o", capture)
    assert shown.code == 2 and f"{capture} is a disk image (wim)" in shown.stderr
    assert capture.read_bytes() == before


def test_a_host_list_reads_each_firmware_file_once(golden, tmp_path, monkeypatch):
    """Ten thousand hosts name a few firmware db exports: each is read once per host list, not per host."""
    import imgscan.fleet.manifest as manifest_module
    from imgscan.signing.firmware_db import FirmwareTarget

    asked: list[str] = []
    monkeypatch.setattr(manifest_module, "firmware_target", lambda text, base: asked.append(text) or FirmwareTarget("2023"))
    rows = "path,host,target_firmware\n" + "".join(f"{{image}},PC-{n},{'db-a.bin' if n % 3 else 'db-b.bin'}\n" for n in range(9))
    hosts = read(manifest(tmp_path, golden, rows))
    assert len(hosts) == 9 and sorted(asked) == ["db-a.bin", "db-b.bin"]
    assert hosts[1].target_firmware is hosts[2].target_firmware


def test_the_readme_fleet_example_is_what_imgscan_prints(tmp_path):
    """The README's host list and "which hosts fail when" output, run as a new user would (the list's paths are
    relative to it, beside a checkout's sample_images)."""
    from tests.conftest import REPO

    text = (REPO / "README.md").read_text(encoding="utf-8")
    block = text[text.index("$ cat hosts.csv\n") :]
    block = block[: block.index("```")]
    listed, printed = block.removeprefix("$ cat hosts.csv\n").split("$ imgscan fleet hosts.csv --as-of 2013-07-05\n")
    (tmp_path / "sample_images").symlink_to(REPO / "sample_images")
    (tmp_path / "hosts.csv").write_text(listed, encoding="utf-8")
    ran = run_imgscan("fleet", "hosts.csv", "--as-of", "2013-07-05", cwd=tmp_path)
    assert ran.code == 1, ran.stderr
    assert ran.stdout == printed


def test_a_host_deployed_after_the_logs_does_not_inherit_the_failures_they_show(tmp_path):
    """ws-acc-0417's setup log and System event log show .NET updates failing on 2012-04-24. A host deployed from
    that image later did not live those failures (the machine it was captured from did): they stay, at info and
    saying so, and an online host, which the WinTrust State does not hurt, passes. A host deployed before them (the
    image is its own capture) or with no deployment day keeps them as they are."""
    from tests.conftest import REPO

    image = REPO / "sample_images" / "built" / "ws-acc-0417.vhdx"
    rows = (
        "path,host,network,deployed\n"
        "{image},PC-ONLINE,online,\n"
        "{image},PC-EARLY,online,2012-04-01\n"  # before the failures: they are its own
        "{image},PC-LATER,online,2013-01-01\n"
        "{image},PC-LATER-OFFLINE,offline,2013-01-01\n"
    )
    hosts = read(manifest(tmp_path, image, rows))
    results = {r["host"]: r for r in scan_image(hosts, FleetOptions("2013-07-01", 365))}
    logs = ("setup-log-error", "update-event-error")
    later, own = by_rule(results["PC-LATER"]), by_rule(results["PC-ONLINE"])
    assert [later[r] for r in logs] == ["info", "info"] and [own[r] for r in logs] == ["high", "medium"]
    assert results["PC-EARLY"]["report"] is results["PC-ONLINE"]["report"]  # nothing logged before its deployment
    told = next(f for f in report_of(results["PC-LATER"])["findings"] if f["rule"] == "setup-log-error")
    assert told["message"].endswith(
        "This host was deployed on 2013-01-01: the log shows the machine the image was captured from, not this host."
    )
    assert (results["PC-LATER"]["report"].worst, results["PC-ONLINE"]["report"].worst) == ("medium", "high")
    assert results["PC-LATER-OFFLINE"]["report"].worst == "high"  # its own WinTrust State still fails it offline
