"""Issue 5: the timeline of ref-w7-2012q3 reads in order: install, signer expiry, logged failures."""

from __future__ import annotations

import csv
import io
import json

from sample_images.build import build
from sample_images.scenario import load
from tests.conftest import run_imgscan


def test_ref_w7_2012q3_story_in_order(tmp_path):
    image = build(load("ref-w7-2012q3"), tmp_path, ("vhdx",))["vhdx"]
    run = run_imgscan("timeline", image, "--as-of", "2013-07-05", "--format", "json")
    assert run.code == 0
    events = json.loads(run.stdout)
    times = [e["time"] for e in events]
    assert times == sorted(times, key=lambda t: t.removesuffix("Z"))

    def first(kind, text=""):
        return next(i for i, e in enumerate(events) if e["kind"] == kind and text in e["subject"] + e["detail"])

    installed = first("package installed", "KB2705219")
    expires = first("catalog signer certificate ends", "Package_2_for_KB2705219")
    failing = first("failing since: qfe-empty")  # 2013-06-30 is before --as-of: no "predicted:" on it
    logged = first("first failure in the CBS logs", "Package_2_for_KB2705219")
    event = first("first failure in the event logs", "KB2705219")
    # the failure follows its cause: placed at the second after the signer's expiry, not at the day's midnight
    assert installed < expires < failing < logged < event
    assert (events[expires]["time"], events[failing]["time"]) == ("2013-06-30T10:00:00Z", "2013-06-30T10:00:01Z")
    assert "signature expired as of 2013-07-05" in events[expires]["detail"]
    assert events[first("predicted: catalog-expiry", "KB2731847")]["time"] == "2013-10-15T10:00:01Z"
    assert not any(e["kind"].startswith("predicted:") and e["time"] < "2013-07-05" for e in events)
    # ref-w7-2012q3's image does not record its time zone: CBS.log's local times are shown as written, without Z
    assert events[logged]["time"] == "2013-07-01T09:04:27" and "time zone" in events[logged]["detail"]
    assert events[event]["time"].endswith("Z")  # event logs record UTC
    assert any(e["kind"] == "WinTrust key written" for e in events)

    rows = list(csv.DictReader(io.StringIO(run_imgscan("timeline", image, "--as-of", "2013-07-05", "--format", "csv").stdout)))
    assert rows == events
    table = run_imgscan("timeline", image, "--as-of", "2013-07-05").stdout
    assert table.splitlines()[0].split() == ["TIME", "EVENT", "SUBJECT", "DETAIL"]
