"""Issue 26 part 4: the timeline in the responders' tools. `--format jsonl` is what Timesketch imports (message,
datetime in ISO 8601, timestamp_desc, plus fields); `--format records` is a flow.record stream that dissect's
own `rdump` executable reads. Times are UTC and say so; a text log's time from an image that records no
time zone says it is the host's local time."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path

import pytest

from tests.conftest import REPO, run_imgscan

IMAGE = REPO / "sample_images" / "built" / "ws-acc-0417.vhdx"
AS_OF = ("--as-of", "2013-07-01")
RDUMP = Path(sys.executable).parent / "rdump"


@pytest.fixture(scope="module")
def events() -> list[dict]:
    run = run_imgscan("timeline", IMAGE, *AS_OF, "-f", "json")
    assert run.code == 0, run.stderr
    assert any(not e["time"].endswith("Z") for e in run.report), "the sample has text-log times in an unknown zone"
    return run.report


def _when(time: str) -> datetime:
    """The timeline's time as Timesketch and rdump must place it: `Z` is UTC, a bare time is placed as UTC."""
    return datetime.fromisoformat(time.removesuffix("Z")).replace(tzinfo=timezone.utc)


def _without_generated(line: bytes) -> dict:
    record = json.loads(line)
    assert record.pop("_generated")
    return record


def test_jsonl_is_what_timesketch_imports(events):
    run = run_imgscan("timeline", IMAGE, *AS_OF, "--format", "jsonl")
    assert run.code == 0, run.stderr
    lines = [json.loads(line) for line in run.stdout.splitlines()]
    assert len(lines) == len(events)
    for line, event in zip(lines, events, strict=True):
        assert {"message", "datetime", "timestamp_desc"} <= line.keys()
        moment = datetime.fromisoformat(line["datetime"])
        assert moment.utcoffset() is not None and moment.utcoffset().total_seconds() == 0  # ISO 8601, UTC offset given
        assert moment == _when(event["time"])
        assert line["timestamp"] == int(moment.timestamp() * 1_000_000)
        assert line["timestamp_desc"] == event["kind"]
        assert event["subject"] in line["message"] and event["detail"] in line["message"]
        assert line["time_zone"] == ("UTC" if event["time"].endswith("Z") else "host local")
    local = [line for line in lines if line["time_zone"] == "host local"]
    assert local and all("host local time" in line["message"] for line in local)


def test_records_are_read_by_rdump(events, tmp_path):
    out = tmp_path / "timeline.rec"
    run = run_imgscan("timeline", IMAGE, *AS_OF, "-o", out)  # the name says the format
    assert run.code == 0, run.stderr
    dump = subprocess.run([RDUMP, "-J", out], capture_output=True, text=True, timeout=120, check=True)
    records = [json.loads(line) for line in dump.stdout.splitlines()]
    assert [(datetime.fromisoformat(r["ts"]), r["ts_description"], r["subject"]) for r in records] == [
        (_when(e["time"]), e["kind"], e["subject"]) for e in events
    ]
    assert {r["time_zone"] for r in records} == {"UTC", "host local"}
    piped = subprocess.run(
        [sys.executable, "-m", "imgscan", "timeline", IMAGE, *AS_OF, "-f", "records"], capture_output=True, timeout=300
    )
    from_pipe = subprocess.run([RDUMP, "-J"], input=piped.stdout, capture_output=True, timeout=120, check=True)
    # stdout carries the same stream, for `| rdump` (flow.record stamps each record with the time it was made)
    assert [_without_generated(line) for line in from_pipe.stdout.splitlines()] == [
        _without_generated(line) for line in dump.stdout.encode().splitlines()
    ]
    selected = subprocess.run(
        [RDUMP, "-s", "r.ts_description.startswith('first failure')", "-J"],
        input=piped.stdout, capture_output=True, timeout=120, check=True,
    )  # fmt: skip
    assert len(selected.stdout.splitlines()) == sum(e["kind"].startswith("first failure") for e in events) > 0
