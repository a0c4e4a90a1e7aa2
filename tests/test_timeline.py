"""Issue 5: the timeline of seed 001 reads in order: install, signer expiry, logged failures."""

from __future__ import annotations

import csv
import io
import json

from sample_images.build import build
from sample_images.scenario import load
from tests.conftest import run_imgscan


def test_seed001_story_in_order(tmp_path):
    image = build(load("seed001"), tmp_path, ("vhdx",))["vhdx"]
    run = run_imgscan("timeline", image, "--as-of", "2013-07-05", "--format", "json")
    assert run.code == 0
    events = json.loads(run.stdout)
    times = [e["time"] for e in events]
    assert times == sorted(times, key=lambda t: t.replace("Z", ""))

    def first(kind, text=""):
        return next(i for i, e in enumerate(events) if e["kind"] == kind and text in e["subject"] + e["detail"])

    installed = first("package installed", "KB2705219")
    expires = first("catalog signer expires", "Package_2_for_KB2705219")
    predicted = first("predicted: qfe-empty")
    logged = first("first cbs failure", "Package_2_for_KB2705219")
    event = first("first events failure", "KB2705219")
    assert installed < predicted < expires < logged < event
    assert events[expires]["time"] == "2013-06-30T10:00:00Z"
    assert any(e["kind"] == "WinTrust key written" for e in events)

    rows = list(csv.DictReader(io.StringIO(run_imgscan("timeline", image, "--as-of", "2013-07-05", "--format", "csv").stdout)))
    assert rows == events
    table = run_imgscan("timeline", image, "--as-of", "2013-07-05").stdout
    assert table.splitlines()[0].split() == ["TIME", "EVENT", "SUBJECT", "DETAIL"]
