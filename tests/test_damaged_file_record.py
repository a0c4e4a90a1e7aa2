"""A file whose NTFS file record is damaged (its "FILE" signature broken) is listed in its directory
but cannot be read: that file becomes an `errors` entry or its `*-unreadable` finding, never an
internal error, and the other findings are still reported."""

from __future__ import annotations

from sample_images.build import build
from sample_images.scenario import load
from tests.conftest import run_imgscan

# the user hives' name, in UTF-16 as $FILE_NAME holds it: their file records are the ones to damage
NAME = "NTUSER.DAT".encode("utf-16-le")
RECORD = 1024


def test_damaged_file_record_is_a_finding_not_a_crash(tmp_path):
    raw = build(load("ws-acc-0417"), tmp_path, ("raw",))["raw"]
    disk = bytearray(raw.read_bytes())
    records = [
        at
        for at in range(0, len(disk), RECORD)
        if disk[at : at + 4] == b"FILE" and not disk[at + 0x16] & 0x02 and NAME in disk[at : at + RECORD]
    ]  # file records (flag 0x02 at 0x16: a directory, whose index also names its files) of that name
    assert len(records) == 3  # the Default template's and the two profiles' hives
    for at in records:
        disk[at : at + 4] = b"\x1cILE"
    raw.write_bytes(bytes(disk))
    run = run_imgscan("scan", raw, "--as-of", "2013-07-01", "--format", "json")
    assert run.code == 1 and "internal error" not in run.stderr, run.stderr
    unreadable = [f for f in run.report["findings"] if f["rule"] == "hive-unreadable"]
    assert {f["evidence"][0]["path"] for f in unreadable} == {
        r"Users\Default\NTUSER.DAT",
        r"Users\nfury\NTUSER.DAT",
        r"Users\pcoulson\NTUSER.DAT",
    }
    assert all("Invalid MFT record" in f["message"] for f in unreadable)
    # the system hive still tells of the .NET update's failure
    assert "setup-log-error" in {f["rule"] for f in run.report["findings"]}
