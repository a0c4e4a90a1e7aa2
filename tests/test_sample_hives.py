"""Every hive the sample builder writes is read back by independent readers (hivex, reglookup)."""

from __future__ import annotations

import csv
import io
import subprocess

import pytest

from imgscan.hives import parse_hive
from sample_images.scenario import WINTRUST_KEY, load, volume_files

WS_ACC_0417 = volume_files(load("ws-acc-0417"))
HIVE_FILES = {path: data for path, data in WS_ACC_0417.items() if data[:4] == b"regf"}


def hivexget(path, key, value):
    proc = subprocess.run(["hivexget", str(path), key, value], capture_output=True, text=True, check=True)
    return proc.stdout.strip()


def reglookup(path):
    proc = subprocess.run(["reglookup", "-H", str(path)], capture_output=True, text=True, check=True)
    return list(csv.reader(io.StringIO(proc.stdout)))


@pytest.fixture
def written(tmp_path):
    def write(rel):
        path = tmp_path / rel.replace("/", "_")
        path.write_bytes(WS_ACC_0417[rel])
        return path

    return write


@pytest.mark.parametrize(
    ("rel", "state"),
    [
        ("Windows/System32/config/DEFAULT", 0x23C00),
        ("Users/Default/NTUSER.DAT", 0x23C00),
        ("Users/nfury/NTUSER.DAT", 0xC9),
    ],
)
def test_hivex_reads_wintrust_state(written, rel, state):
    # hivex checks the base-block checksum and the cell structure before answering
    assert int(hivexget(written(rel), "\\" + WINTRUST_KEY, "State")) == state


def test_hivex_reads_software_and_system(written):
    software, system = written("Windows/System32/config/SOFTWARE"), written("Windows/System32/config/SYSTEM")
    profile = r"\Microsoft\Windows NT\CurrentVersion\ProfileList\S-1-5-21-3623811015-3361044348-30300820-1001"
    assert hivexget(software, profile, "ProfileImagePath") == r"C:\Users\nfury"
    assert hivexget(system, r"\ControlSet001\Control\ComputerName\ComputerName", "ComputerName") == "WS-ACC-0417"


@pytest.mark.parametrize("rel", sorted(HIVE_FILES))
def test_reglookup_and_imgscan_agree_on_every_key(written, rel):
    rows = reglookup(written(rel))
    assert rows, "reglookup read nothing"
    keys_reglookup = sorted(r[0].lstrip("/").replace("/", "\\") for r in rows if r[1] == "KEY" and r[0] != "/")
    hive = parse_hive(rel, WS_ACC_0417[rel])

    def walk(key, prefix=""):
        for sub in key.subkeys():
            path = f"{prefix}{sub.name()}"
            yield path
            yield from walk(sub, path + "\\")

    assert sorted(walk(hive.registry.root())) == keys_reglookup
    values = [r for r in rows if r[1] not in ("KEY",)]
    assert len(values) == sum(len(hive.key(k).values()) for k in keys_reglookup) + len(hive.registry.root().values())
