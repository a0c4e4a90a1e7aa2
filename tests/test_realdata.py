"""Parsers against real files written by Windows (read from ../shared/realdata, never copied)."""

from __future__ import annotations

import lzma

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
    assert hive.dirty is False
    assert hive.value("Select", "Current") == 1


def test_real_dirty_system_hive_is_read_as_is_and_flagged():
    hive = parse_hive("SYSTEM", lzma.decompress((HIVES / "regipy_SYSTEM_B.xz").read_bytes()))
    assert hive.dirty is True
    assert hive.key("Select") is not None


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
