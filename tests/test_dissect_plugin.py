"""Issue 26 part 3: imgscan inside dissect.target. dissect's own `target-query` executable loads the plugin
from its folder (`--plugin-path` or `DISSECT_PLUGINS`), opens the bundled sample image with its own loader,
and its records, read back by dissect's own `rdump`, are the findings and catalogs of `imgscan scan -f json`
on the same image and day."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from imgscan.dissect_plugin import PLUGIN_DIR
from imgscan.views.records import FINDING_FIELDS
from tests.conftest import REPO, run_imgscan

BIN = Path(sys.executable).parent
BUILT = REPO / "sample_images" / "built"
META = {"_source", "_classification", "_generated", "_version"}  # flow.record's own fields of every record


def target_query(function: str, image: Path, *args: str, env_var: bool = False) -> list[dict]:
    """`target-query -f FUNCTION IMAGE ARGS | rdump -J`: the records as JSON, through both real executables."""
    env = {k: v for k, v in os.environ.items() if k != "DISSECT_PLUGINS"}
    if env_var:
        env["DISSECT_PLUGINS"] = str(PLUGIN_DIR)
    path_args = [] if env_var else ["--plugin-path", str(PLUGIN_DIR)]
    query = subprocess.run(
        [BIN / "target-query", *path_args, "-f", function, str(image), *args],
        capture_output=True, env=env, timeout=300, check=False,
    )  # fmt: skip
    assert query.returncode == 0, query.stderr.decode()
    assert query.stdout.startswith(b"\x00\x00\x00\x0f\xc4\x0dRECORDSTREAM"), query.stderr.decode()  # binary records
    dump = subprocess.run([BIN / "rdump", "-J"], input=query.stdout, capture_output=True, timeout=120, check=True)
    return [json.loads(line) for line in dump.stdout.decode().splitlines()]


def _scan(image: Path, as_of: str) -> dict:
    run = run_imgscan("scan", image, "--as-of", as_of, "-f", "json")
    assert run.code in (0, 1), run.stderr
    return run.report


@pytest.mark.parametrize(
    ("sample", "as_of", "env_var"),
    [("ws-acc-0417", "2013-07-01", False), ("ref-w7-2012q3", "2012-12-01", True)],
)
def test_target_query_prints_the_findings_of_imgscan_scan(sample, as_of, env_var):
    image = BUILT / f"{sample}.vhdx"
    records = target_query("imgscan.findings", image, "--as-of", as_of, env_var=env_var)
    report = _scan(image, as_of)
    fields = {"hostname", "domain", *(name for _, name in FINDING_FIELDS)}
    assert records and all(r.keys() - META == fields for r in records)
    assert [(r["rule"], r["id"], r["severity"]) for r in records] == [
        (f["rule"], f["id"], f["severity"]) for f in report["findings"]
    ]
    by_id = {f["id"]: f for f in report["findings"]}
    for record in records:
        finding = by_id[record["id"]]
        assert record["subject"] == finding["id"].partition(":")[2]  # qfe-empty, one per image, has none
        assert record["observed"] == finding.get("observed")
        assert record["starts"] == (f"{finding['starts']}T00:00:00+00:00" if finding["starts"] else None)
        assert (record["hresult"], record["message"], record["evidence_path"], record["caused_by"]) == (
            finding["hresult"], finding["message"], finding["evidence"][0]["path"], finding.get("caused_by"),
        )  # fmt: skip
        assert record["as_of"] == f"{as_of}T00:00:00+00:00"
        assert record["hostname"] == report["host"]["name"]  # dissect's own record field, from the target


def test_a_prediction_keeps_its_start_day_and_a_confirmed_cause_its_log_lines():
    """The sample images' distinct stories survive the record form: a start day ahead of --as-of, and the
    log lines that confirm a prediction."""
    future = target_query("imgscan.findings", BUILT / "ref-w7-2012q3.vhdx", "--as-of", "2012-12-01")
    assert {r["starts"] for r in future if r["rule"] == "catalog-expiry"} >= {"2013-06-30T00:00:00+00:00"}
    past = target_query("imgscan.findings", BUILT / "ws-acc-0417.vhdx", "--as-of", "2013-07-01")
    cause = next(r for r in past if r["rule"] == "wintrust-offline-revocation")
    assert "Windows\\Temp\\KB2656368.html line 5" in cause["confirmed_by"]


def test_target_query_lists_the_catalogs_of_imgscan_catalogs():
    image = BUILT / "ref-w7-2012q3.vhdx"
    records = target_query("imgscan.catalogs", image, "--as-of", "2013-07-01")
    catalogs = _scan(image, "2013-07-01")["inventory"]["catalogs"]
    assert [(r["path"], r["sha256"], r["status_as_of"]) for r in records] == [
        (c["path"], c["sha256"], c["status_as_of"]) for c in catalogs
    ]
    expiring = {r["path"]: r["valid_until"] for r in records if r["valid_until"]}
    assert expiring == {c["path"]: c["valid_until"].replace("Z", "+00:00") for c in catalogs if c["valid_until"]}
    assert expiring  # the sample holds catalogs whose signature expires


def test_the_plugin_is_listed_only_with_its_folder():
    listed = subprocess.run(
        [BIN / "target-query", "--plugin-path", str(PLUGIN_DIR), "-l", "imgscan"], capture_output=True, text=True, timeout=120
    )
    assert "imgscan.findings" in listed.stdout and "imgscan.catalogs" in listed.stdout, listed.stderr
    env = {k: v for k, v in os.environ.items() if k != "DISSECT_PLUGINS"}
    bare = subprocess.run([BIN / "target-query", "-l", "imgscan"], capture_output=True, text=True, env=env, timeout=120)
    assert "imgscan.findings" not in bare.stdout
