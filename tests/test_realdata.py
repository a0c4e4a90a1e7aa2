"""Parsers against real files written by Windows (read from ../shared/realdata, never copied)."""

from __future__ import annotations

import lzma
import subprocess
from pathlib import Path

import pytest
from imgscan.plugins.wintrust_state import WinTrustState

from imgscan.accounts import Account
from imgscan.artefacts import UserHive
from imgscan.artefacts.user_hives import UserHives
from imgscan.hives import parse_hive
from tests.conftest import REALDATA
from tests.unit.helpers import at, run_check

HIVES = REALDATA / "hives"


pytestmark = pytest.mark.realdata


@pytest.fixture(scope="module")
def win7_ntuser():
    return parse_hive(r"Users\plaso\NTUSER.DAT", (HIVES / "plaso_NTUSER-WIN7.DAT").read_bytes())


def test_real_win7_ntuser_decodes_to_default_without_finding(win7_ntuser):
    account = Account("profile", "plaso", None, win7_ntuser.path)
    user = UserHive.of(account, win7_ntuser)
    ran = run_check(WinTrustState, at("2013-07-01"), user_hives=UserHives(hives=[user]))
    assert ran.findings == []
    (inventory,) = ran.inventory
    assert inventory.item["state"] == "0x00023c00"


def test_real_clean_system_hive_is_not_dirty():
    hive = parse_hive("SYSTEM", lzma.decompress((HIVES / "regipy_SYSTEM.xz").read_bytes()))
    assert hive.dirty is None
    assert hive.value("Select", "Current") == 1


def test_real_dirty_system_hive_is_read_as_is_and_flagged():
    hive = parse_hive("SYSTEM", lzma.decompress((HIVES / "regipy_SYSTEM_B.xz").read_bytes()))
    assert hive.dirty == "sequence numbers differ"
    assert hive.key("Select") is not None


def _hive_bytes(path: Path) -> bytes:
    return lzma.decompress(path.read_bytes()) if path.suffix == ".xz" else path.read_bytes()


def _hivex_opens(data: bytes, tmp_path: Path) -> tuple[bool, str]:
    """Whether hivex (hivexsh, an independent reader) opens the hive, and what it said."""
    copy = tmp_path / "hive"
    copy.write_bytes(data)
    run = subprocess.run(["hivexsh", "-d", str(copy)], input="ls\n", capture_output=True, text=True)
    return run.returncode == 0 and "failed to open" not in run.stderr, run.stderr


@pytest.mark.parametrize("path", sorted(p for p in HIVES.glob("*") if ".LOG" not in p.name), ids=lambda p: p.name)
def test_real_hive_base_block_checksum_agrees_with_hivex(path, tmp_path):
    """Each real hive's stored base-block checksum is the one imgscan computes (hivex opens it); with one
    byte of its base block changed, hivex refuses it for a bad header checksum and imgscan calls it dirty
    for that reason, as Windows would recover it from its logs."""
    data = _hive_bytes(path)
    opens, said = _hivex_opens(data, tmp_path)
    assert opens, said
    assert "checksum" not in (parse_hive(path.name, data).dirty or "")
    changed = bytearray(data)
    changed[0x30] ^= 0x01  # the first byte of the hive's file name in the base block: no reader needs it
    opens, said = _hivex_opens(bytes(changed), tmp_path)
    assert not opens and "bad checksum in hive header" in said
    assert "its base block's checksum is wrong" in (parse_hive(path.name, bytes(changed)).dirty or "")


def test_real_system_hive_utc_offset_matches_reglookup(tmp_path):
    """The host's UTC offset (for converting text-log times) from a real Windows 7 SYSTEM hive,
    against reglookup's reading of ActiveTimeBias."""
    import subprocess

    from imgscan.artefacts.machine_hives import MachineHives

    data = lzma.decompress((HIVES / "regipy_SYSTEM.xz").read_bytes())
    (tmp_path / "SYSTEM").write_bytes(data)
    listing = subprocess.run(
        ["reglookup", "-p", "/ControlSet001/Control/TimeZoneInformation", str(tmp_path / "SYSTEM")],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    line = next(x for x in listing.splitlines() if x.split(",")[0].endswith("/ActiveTimeBias"))
    bias = int(line.split(",")[2], 16)
    bias = bias - (1 << 32) if bias >= 1 << 31 else bias
    assert MachineHives(None, parse_hive("SYSTEM", data), None).utc_offset == -bias == -240  # US Eastern, daylight saving time


def _walk(hive, key, depth: int = 0) -> None:
    for sub in hive.subkeys(key):
        hive.values(sub)
        if depth < 6:
            _walk(hive, sub, depth + 1)


def test_damage_to_a_real_hive_is_told_in_the_hives_words_not_pythons():
    """Bytes of a real Windows 7 NTUSER.DAT's cells changed at random (seeded): every damaged cell met while
    reading it, and every hive refused outright, is said in words about the hive (a cell pointing outside its
    data, a name that is not valid text), never a codec's or a buffer's."""
    import random

    from imgscan.hives import HiveError

    data = (HIVES / "plaso_NTUSER-WIN7.DAT").read_bytes()
    rng = random.Random(20121203)
    said: set[str] = set()
    for _ in range(50):
        damaged = bytearray(data)
        for _ in range(40):
            damaged[rng.randrange(4096 + 32, len(damaged))] = rng.randrange(256)
        try:
            hive = parse_hive("NTUSER.DAT", bytes(damaged))
        except HiveError as exc:
            said.add(str(exc))
            continue
        _walk(hive, hive.registry.root())
        said |= {p["message"] for p in hive.problems}
    assert any("not valid text" in s for s in said) and any("outside the hive's data" in s for s in said)
    python = ("codec", "unpack", "buffer", "position", "Error", "Traceback")
    assert [s for s in said if any(word in s for word in python)] == []
