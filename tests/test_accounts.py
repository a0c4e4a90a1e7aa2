"""Which user hives are found, and how Windows paths map onto the volume."""

from __future__ import annotations

import pytest

from imgscan.accounts import volume_path
from tests.conftest import run_imgscan


@pytest.mark.parametrize(
    ("stored", "expected"),
    [
        (r"%SystemDrive%\Users\nfury", r"Users\nfury"),
        (r"C:\Users\nfury", r"Users\nfury"),
        (r"c:\Documents and Settings\Default User", r"Documents and Settings\Default User"),
        (r"%systemroot%\system32\config\systemprofile", r"Windows\system32\config\systemprofile"),
        (r"D:\Users\nfury", None),
        ("not a path", None),
    ],
)
def test_volume_path(stored, expected):
    assert volume_path(stored) == expected


def test_unlisted_profile_is_still_checked(variant):
    def unlist(s):
        s.profiles[0].listed = False

    report = run_imgscan("scan", variant("ws-acc-0417", unlist), "--format", "json").report
    hives = {h["path"]: h for h in report["inventory"]["hives"]}
    nfury = hives[r"Users\nfury\NTUSER.DAT"]
    assert nfury["listed_in_profile_list"] is False and nfury["sid"] is None
    (finding,) = [f for f in report["findings"] if f["rule"] == "wintrust-offline-revocation"]
    # no SID: the fix loads the hive offline
    assert "reg load HKU\\imgscan-offline" in finding["remediation"]


def test_template_and_default_messages_name_who_is_affected(variant):
    def spread(s):
        s.system_default.wintrust_state = 0xC9
        s.default_template.wintrust_state = 0xC9

    report = run_imgscan("scan", variant("healthy", spread), "--format", "json").report
    messages = {f["evidence"][0]["path"]: f["message"] for f in report["findings"] if f["rule"] == "wintrust-offline-revocation"}
    assert "running as SYSTEM" in messages[r"Windows\System32\config\DEFAULT"]
    assert "every user profile created after deployment" in messages[r"Users\Default\NTUSER.DAT"]
    remediation = {f["evidence"][0]["path"]: f["remediation"] for f in report["findings"]}
    assert r"[HKEY_USERS\.DEFAULT\Software" in remediation[r"Windows\System32\config\DEFAULT"]
