"""Issue 5: CBS/CheckSUR/setup/event logs, correlation with predictions, and bad log input."""

from __future__ import annotations

import io
import shutil
import tracemalloc
from datetime import date

import Evtx.Evtx as python_evtx
import pytest

from imgscan.logs.cbs import read_cbs, read_checksur
from imgscan.logs.events import read_events
from imgscan.logs.text import MAX_LINE, lines
from sample_images.build import build
from sample_images.evtx_writer import Event, write_evtx
from sample_images.scenario import load
from tests.conftest import REALDATA, run_imgscan
from tests.realdata import needs_realdata

REAL_CBS = REALDATA / "cbslogs" / "ones24074586_offline_19041_cbs.log"
VSS_SYSTEM = REALDATA / "evtx" / "omerbenamram_2-vss_7-System.evtx"
PLASO_SYSTEM = REALDATA / "evtx" / "plaso_System.evtx"


@pytest.fixture(scope="module")
def trees(tmp_path_factory):
    out = tmp_path_factory.mktemp("logs")
    return {name: build(load(name), out, ("dir",))["dir"] for name in ("ws-acc-0417", "ref-w7-2012q3", "healthy")}


def scan(image, *args):
    return run_imgscan("scan", image, "--format", "json", *args)


def by_rule(report, rule):
    return [f for f in report["findings"] if f["rule"] == rule]


@needs_realdata
def test_real_cbs_log_parses_every_line_without_failures():
    raw_lines = REAL_CBS.read_text(encoding="utf-8-sig").splitlines()
    entries = list(read_cbs(REAL_CBS.open("rb"), "CBS.log"))
    # every line is an entry or a continuation of the entry above it
    assert sum(1 + e.text.count("\n") for e in entries) == len(raw_lines)
    assert entries[0].time.isoformat() == "2024-03-11T07:18:53" and entries[0].source == "DISM"
    continued = next(e for e in entries if "FIOReadFileIntoBuffer" in e.text)
    assert continued.text.startswith("DISM Provider Store")  # attached to its entry, not an entry of its own
    assert [e.hresult for e in entries if e.hresult] == ["0x80070490", "0x80070490"]  # Info level only
    assert not [e for e in entries if e.failed]


@needs_realdata
def test_real_cbs_log_in_an_image_gives_no_finding(trees, tmp_path):
    tree = tmp_path / "host"
    shutil.copytree(trees["healthy"], tree)
    (tree / "Windows" / "Logs" / "CBS").mkdir(parents=True)
    shutil.copyfile(REAL_CBS, tree / "Windows" / "Logs" / "CBS" / "CBS.log")
    run = scan(tree)
    assert run.code == 0 and run.report["findings"] == []
    assert run.report["inventory"]["logs"]["read"] == [r"Windows\Logs\CBS\CBS.log"]


@needs_realdata
def test_real_event_logs_parse_fully():
    with python_evtx.Evtx(str(PLASO_SYSTEM)) as log:
        independent = sum(1 for _ in log.records())
    problems: list[str] = []
    list(read_events(PLASO_SYSTEM.open("rb"), "System.evtx", problems))
    from imgscan.logs.events import _records

    assert sum(1 for _ in _records(PLASO_SYSTEM.open("rb"), problems)) == independent == 5009
    assert problems == []


@needs_realdata
def test_vss_event_log_recovered_chunks_hold_update_failures():
    """python-evtx stops at the header's chunk count (records 1-457); the chunks after it hold older
    records a responder wants, among them two Windows Update Agent event-20 failures."""
    from imgscan.logs.events import _records

    with python_evtx.Evtx(str(VSS_SYSTEM)) as log:
        declared = {r.record_num() for r in log.records()}
    problems: list[str] = []
    ids = {int(r["EventRecordID"]) for r in _records(VSS_SYSTEM.open("rb"), problems)}
    assert declared == set(range(1, 458)) and declared < ids
    failures = list(read_events(VSS_SYSTEM.open("rb"), "System.evtx", problems))
    assert [(f.hresult, f.source) for f in failures] == [("0x8024001E", "Microsoft-Windows-WindowsUpdateClient 20")] * 2
    assert failures[0].subjects == ("9NBLGGH3FL3T-Microsoft.VCLibs.120.00.Universal",)


def test_kb2705219_cbs_log_error_correlated_with_catalog_expiry(trees):
    report = scan(trees["ref-w7-2012q3"], "--as-of", "2013-07-05").report
    package = "Package_2_for_KB2705219~31bf3856ad364e35~amd64~~6.1.1.1"
    (logged,) = [f for f in by_rule(report, "cbs-log-error") if package in f["message"]]
    assert logged["hresult"] == "0x800B0101" and logged["severity"] == "high"
    assert "CERT_E_EXPIRED" in logged["message"] and "8 time(s)" in logged["message"]
    assert "CheckSUR" in logged["message"] and "CBS" in logged["message"]
    first = logged["evidence"][0]
    assert first["path"] == r"Windows\Logs\CBS\CBS.log" and "Failed to verify if catalog file" in first["text"]
    assert logged["explained_by"] == ["catalog-expiry", "qfe-empty"]
    (predicted,) = [f for f in by_rule(report, "catalog-expiry") if package in f["message"]]
    link = {"rule": "cbs-log-error", "path": r"Windows\Logs\CBS\CBS.log", "line": first["line"]}
    assert link in predicted["confirmed_by"]
    # the rotated log inside the MSZIP cabinet is read too
    cab = ".cab|CbsPersist_20130630120031.log"
    rotated = [f for f in by_rule(report, "cbs-log-error") if f["evidence"][0]["path"].endswith(cab)]
    assert rotated and "Package_for_KB2705219" in rotated[0]["message"]
    # WUSA event 3 logs the code in decimal
    (event,) = by_rule(report, "update-event-error")
    assert event["hresult"] == "0x800B0101" and "decimal 2148204801" in event["message"]
    assert "catalog-expiry" in event["explained_by"]


def test_ref_w7_2012q3_logs_after_as_of_have_not_happened(trees):
    report = scan(trees["ref-w7-2012q3"], "--as-of", "2013-06-01").report
    assert not [f for f in report["findings"] if f["rule"] in ("cbs-log-error", "update-event-error")]


def test_ws_acc_0417_setup_log_error_correlated_with_wintrust(trees):
    run = scan(trees["ws-acc-0417"])
    report = run.report
    (setup,) = by_rule(report, "setup-log-error")
    assert setup["hresult"] == "0x800B010B"
    assert "KB2656368" in setup["message"] and "NDP40-KB2656368.msp" in setup["message"]
    assert "0x800B010E" in setup["message"] and "final result 0x800B010B" in setup["message"]
    assert setup["evidence"][0]["verification_error"] == "0x800B010E"
    assert setup["evidence"][0]["failing_file"] == "NDP40-KB2656368.msp"
    assert setup["explained_by"] == ["wintrust-offline-revocation"]
    (wintrust,) = by_rule(report, "wintrust-offline-revocation")
    assert {"rule": "setup-log-error", "path": r"Windows\Temp\KB2656368.html", "line": 5} in wintrust["confirmed_by"]
    (event,) = by_rule(report, "update-event-error")
    assert event["hresult"] == "0x80070643" and event["explained_by"] == ["wintrust-offline-revocation"]
    table = run_imgscan("scan", trees["ws-acc-0417"]).stdout
    assert r"confirmed by setup-log-error: Windows\Temp\KB2656368.html line 5" in table
    assert "predicted by: wintrust-offline-revocation" in table


def test_sample_evtx_read_by_both_parsers(tmp_path):
    events = [
        Event(
            "Microsoft-Windows-WUSA",
            3,
            2,
            __import__("datetime").datetime(2013, 7, 3, 9, 37, 45),
            7,
            "Setup",
            "HOST",
            {"UpdateTitle": "Security Update for Windows (KB2705219)", "ErrorCode": "2148204801"},
        ),
    ]
    path = tmp_path / "Setup.evtx"
    path.write_bytes(write_evtx(events))
    with python_evtx.Evtx(str(path)) as log:
        assert log.get_file_header().verify() and all(c.verify() for c in log.chunks())
        xml = next(log.records()).xml()
    assert "<EventID>3</EventID>" in xml and '<Data Name="ErrorCode">2148204801</Data>' in xml
    (entry,) = read_events(path.open("rb"), "Setup.evtx", [])
    assert entry.hresult == "0x800B0101" and entry.subjects == ("KB2705219",) and entry.line == 7


@needs_realdata
def test_damaged_event_chunk_is_reported_and_other_records_kept(tmp_path):
    data = bytearray(VSS_SYSTEM.read_bytes())
    _damage_records(data, 1)
    problems: list[str] = []
    from imgscan.logs.events import _records

    records = list(_records(io.BytesIO(bytes(data)), problems))
    assert problems and "chunk 1" in problems[0]
    assert len(records) > 457  # the first chunk and the recovered ones are still read


def _damage_records(data: bytearray, chunk: int) -> None:
    start = 4096 + chunk * 0x10000
    data[start + 600 : start + 5000] = b"\xff" * 4400


@pytest.mark.parametrize("log", [VSS_SYSTEM, PLASO_SYSTEM], ids=["vss", "plaso"])
@pytest.mark.parametrize("damaged", [None, 1, 3], ids=["intact", "chunk1", "chunk3"])
@needs_realdata
def test_skipping_chunks_changes_no_failure_and_no_damage_note(log, damaged):
    """Update failures and damage notes are the same whether every chunk is parsed or only those that
    can hold a wanted record; damage in a chunk without one is still found (its checksums fail)."""
    from imgscan.logs import events

    data = bytearray(log.read_bytes())
    if damaged is not None:
        _damage_records(data, damaged)
    skipped: list[str] = []
    fast = list(events.read_events(io.BytesIO(bytes(data)), "System.evtx", skipped))
    everything: list[str] = []
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(events, "_worth_parsing", lambda chunk: True)
        full = list(events.read_events(io.BytesIO(bytes(data)), "System.evtx", everything))
    assert fast == full and skipped == everything
    assert bool(everything) is (damaged is not None)


@needs_realdata
def test_only_chunks_naming_a_wanted_provider_are_parsed():
    """The plaso System log (5,009 records) names no update provider: none of its chunks is parsed.
    Of the VSS log, exactly the chunks holding WindowsUpdateClient records are, as python-evtx sees them."""
    from imgscan.logs import events

    with python_evtx.Evtx(str(VSS_SYSTEM)) as log:
        independent = {
            r.record_num()
            for r in log.records()
            if "Microsoft-Windows-WindowsUpdateClient" in r.xml() or "Microsoft-Windows-Servicing" in r.xml()
        }
    data = VSS_SYSTEM.read_bytes()
    chunks = [data[4096 + i * 0x10000 : 4096 + (i + 1) * 0x10000] for i in range((len(data) - 4096) // 0x10000)]
    parsed_ids = {int(r["EventRecordID"]) for r in events._records(io.BytesIO(data), [], events._worth_parsing)}
    assert independent <= parsed_ids  # every wanted record python-evtx sees is in a parsed chunk
    assert 0 < sum(map(events._worth_parsing, chunks)) < len(chunks)
    plaso = PLASO_SYSTEM.read_bytes()
    assert list(events._records(io.BytesIO(plaso), [], events._worth_parsing)) == []
    assert all(events._intact(plaso[4096 + i * 0x10000 : 4096 + (i + 1) * 0x10000]) for i in range(27))


def test_checksur_utf16(trees):
    path = trees["ref-w7-2012q3"] / "Windows" / "Logs" / "CBS" / "CheckSUR.log"
    entries = list(read_checksur(path.open("rb"), "CheckSUR.log"))
    assert [(e.hresult, e.time.isoformat(), e.failed) for e in entries] == [("0x800B0101", "2013-07-01T10:10:00", True)] * 2


class _Endless(io.RawIOBase):
    """A stream of `size` bytes of one character and no newline, never held in memory."""

    def __init__(self, size: int) -> None:
        self.left = size

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        n = min(len(buffer), self.left)
        buffer[:n] = b"A" * n
        self.left -= n
        return n


def test_single_huge_line_costs_bounded_memory():
    tracemalloc.start()
    result = list(lines(_Endless(300 * 1024 * 1024)))
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert [(n, len(text), cut) for n, text, cut in result] == [(1, MAX_LINE, True)]
    assert peak < 16 * 1024 * 1024


def test_garbage_and_invalid_encodings_do_not_crash():
    garbage = bytes(range(256)) * 100 + b"\n2013-07-01 09:04:27, Error CBS broken \xff\xfe [HRESULT = 0x800b0101 - X]\n"
    entries = list(read_cbs(io.BytesIO(garbage), "CBS.log"))
    assert entries[-1].hresult == "0x800B0101" and "\ufffd" in entries[-1].text
    odd_utf16 = "\ufeff2013-07-01 09:04:27, Error CBS x [HRESULT = 0x800f081f - CBS_E_SOURCE_MISSING]\n".encode("utf-16-le")
    assert [e.hresult for e in read_cbs(io.BytesIO(odd_utf16 + b"\x00"), "CBS.log")] == ["0x800F081F"]


def test_truncated_cab_is_an_error_entry(trees, tmp_path):
    tree = tmp_path / "host"
    shutil.copytree(trees["ref-w7-2012q3"], tree)
    cab = tree / "Windows" / "Logs" / "CBS" / "CbsPersist_20130630120031.cab"
    cab.write_bytes(cab.read_bytes()[: cab.stat().st_size // 2])
    run = scan(tree, "--as-of", "2013-07-05")
    assert run.code == 1 and "Traceback" not in run.stderr
    (error,) = [e for e in run.report["errors"] if e["path"].endswith(".cab")]
    assert "cabinet unreadable" in error["message"]
    assert by_rule(run.report, "cbs-log-error")  # CBS.log itself still read


def test_as_of_today_default_date_is_used(trees):
    assert scan(trees["ref-w7-2012q3"]).report["as_of"] == date.today().isoformat()
