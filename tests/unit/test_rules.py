"""Each rule on its own: one check run on in-memory kind values (run_check), a case where the rule fires and
one where it does not. Rules whose kind values are signed files (catalogs, boot managers) are in
test_signed_rules."""

from __future__ import annotations

from datetime import datetime, timezone

from imgscan.plugins.cbs_log_errors import CbsLogErrors
from imgscan.plugins.esu_prerequisites import EsuPrerequisites
from imgscan.plugins.hive_health import HiveHealth
from imgscan.plugins.image_state import ImageState
from imgscan.plugins.servicing_pending import ServicingPending
from imgscan.plugins.setup_log_errors import SetupLogErrors
from imgscan.plugins.sha2_support import Sha2Support
from imgscan.plugins.update_events import UpdateEvents
from imgscan.plugins.update_services import UpdateServices
from imgscan.plugins.update_source import UpdateSource
from imgscan.plugins.winre_partition import WinrePartition
from imgscan.plugins.wintrust_state import WinTrustState

from imgscan.accounts import Account
from imgscan.artefacts import UserHive
from imgscan.artefacts.boot import Boot
from imgscan.artefacts.hive_loading import Unreadable
from imgscan.artefacts.machine_hives import MachineHives
from imgscan.artefacts.packages import Packages
from imgscan.artefacts.pending import Pending
from imgscan.artefacts.setup_state import SetupState
from imgscan.artefacts.user_hives import UserHives
from imgscan.hives import Hive, parse_hive
from imgscan.image.partitions import Partition
from imgscan.logs import LogEntry
from imgscan.logs.collect import LogRead, read_family
from imgscan.wintrust import KEY_PATH, VALUE_NAME
from sample_images.regf import Key, Value, build_hive
from tests.unit.helpers import at, run_check
from tests.unit.memory import MemoryVolume

WRITTEN = datetime(2013, 6, 1, tzinfo=timezone.utc)
DAY = at("2013-07-01")
MB = 1024 * 1024


def hive(path: str, values: dict[str, list[Value]], dirty: bool = False) -> Hive:
    root = Key("ROOT")
    for key, listed in values.items():
        for value in listed:
            root.set(key, value)
        root.path(key)
    return parse_hive(path, build_hive(root, path.rsplit("\\", 1)[-1], WRITTEN, dirty=dirty))


def machine(software: dict[str, list[Value]] | None = None, system: dict[str, list[Value]] | None = None) -> MachineHives:
    return MachineHives(
        hive(r"Windows\System32\config\SOFTWARE", software or {"Microsoft": []}),
        hive(r"Windows\System32\config\SYSTEM", {"Select": [Value.dword("Current", 1)], **(system or {})}),
        None,
    )


def windows(version: str, build: int) -> dict[str, list[Value]]:
    key = r"Microsoft\Windows NT\CurrentVersion"
    return {key: [Value.string("CurrentVersion", version), Value.string("CurrentBuildNumber", str(build))]}


def no_users() -> UserHives:
    return UserHives()


# hive-unreadable, hive-dirty


def test_hive_unreadable():
    broken = MachineHives(None, None, None, [Unreadable(r"Windows\System32\config\SOFTWARE", "SOFTWARE", "missing")])
    ran = run_check(HiveHealth, DAY, machine_hives=broken, user_hives=no_users(), packages=Packages())
    assert ran.rules == ["hive-unreadable"] and ran.findings[0].severity is not None
    assert run_check(HiveHealth, DAY, machine_hives=machine(), user_hives=no_users(), packages=Packages()).findings == []


def test_hive_dirty():
    dirty = machine()
    dirty.system = hive(r"Windows\System32\config\SYSTEM", {"Select": [Value.dword("Current", 1)]}, dirty=True)
    ran = run_check(HiveHealth, DAY, machine_hives=dirty, user_hives=no_users(), packages=Packages())
    assert ran.rules == ["hive-dirty"] and ran.findings[0].evidence == [{"path": dirty.system.path, "dirty": True}]
    assert "(sequence numbers differ)" in ran.findings[0].message
    assert run_check(HiveHealth, DAY, machine_hives=machine(), user_hives=no_users(), packages=Packages()).rules == []


def test_hive_with_a_wrong_base_block_checksum_is_dirty():
    """Windows recovers a hive whose base-block checksum is wrong from its logs, as it does one whose sequence
    numbers differ; read as is, it is dirty, and the finding says why."""
    path = r"Windows\System32\config\SYSTEM"
    data = bytearray(build_hive(Key("ROOT"), "SYSTEM", WRITTEN))
    data[508] ^= 0x80  # the stored checksum itself
    broken = machine()
    broken.system = parse_hive(path, bytes(data))
    ran = run_check(HiveHealth, DAY, machine_hives=broken, user_hives=no_users(), packages=Packages())
    assert ran.rules == ["hive-dirty"]
    assert (
        ran.findings[0].message
        == f"{path} is dirty (its base block's checksum is wrong); read as is without its transaction logs."
    )


# image-not-generalized


def test_image_not_generalized():
    source = r"SOFTWARE\Microsoft\Windows\CurrentVersion\Setup\State\ImageState"
    ran = run_check(ImageState, DAY, setup_state=SetupState("IMAGE_STATE_UNDEPLOYABLE", source))
    assert ran.rules == ["image-not-generalized"] and str(ran.findings[0].severity) == "high"
    sealed = run_check(ImageState, DAY, setup_state=SetupState("IMAGE_STATE_GENERALIZE_RESEAL_TO_OOBE", source))
    assert sealed.findings == [] and sealed.inventory[0].item["image_state"] == "IMAGE_STATE_GENERALIZE_RESEAL_TO_OOBE"
    assert run_check(ImageState, DAY, setup_state=SetupState()).skipped == "the image records no Windows Setup image state"


# servicing-pending


def test_servicing_pending():
    marker = {"path": r"Windows\WinSxS\pending.xml", "marker": "pending.xml (CBS transactions not yet committed)"}
    ran = run_check(ServicingPending, DAY, pending=Pending([marker]))
    assert ran.rules == ["servicing-pending"] and ran.findings[0].hresult == "0x800F0806"
    assert run_check(ServicingPending, DAY, pending=Pending()).skipped == "no servicing operation is pending in the image"


# update-service-disabled, update-source-policy


def test_update_service_disabled():
    def services(start: int) -> MachineHives:
        return machine(system={r"ControlSet001\Services\wuauserv": [Value.dword("Start", start)]})

    ran = run_check(UpdateServices, DAY, machine_hives=services(4))
    assert ran.rules == ["update-service-disabled"] and "0x80070422" in ran.findings[0].message
    assert run_check(UpdateServices, DAY, machine_hives=services(3)).rules == []


def test_update_source_policy():
    policy = r"Policies\Microsoft\Windows\WindowsUpdate"
    unset = machine(software={rf"{policy}\AU": [Value.dword("UseWUServer", 1)]})
    ran = run_check(UpdateSource, DAY, machine_hives=unset)
    assert ran.rules == ["update-source-policy"] and ran.findings[0].hresult == "0x8024401C"
    assert run_check(UpdateSource, DAY, machine_hives=machine()).rules == []


# wintrust-offline-revocation, wintrust-weakened


def _user(state: int | None) -> UserHives:
    path = r"Users\nfury\NTUSER.DAT"
    values = {KEY_PATH: [Value.dword(VALUE_NAME, state)] if state is not None else []}
    parsed = hive(path, values)
    account = Account("profile", "nfury", "S-1-5-21-1-2-3-1001", path)
    return UserHives(hives=[UserHive.of(account, parsed)])


def test_wintrust_offline_revocation_and_weakened():
    ran = run_check(WinTrustState, DAY, user_hives=_user(0xC9))  # ws-acc-0417's State: SetReg options 1, 4, 7, 8
    assert set(ran.rules) == {"wintrust-offline-revocation", "wintrust-weakened"}
    assert run_check(WinTrustState, DAY, user_hives=_user(0x23C00)).rules == []
    absent = run_check(WinTrustState, DAY, user_hives=_user(None))
    assert absent.rules == [] and absent.inventory[0].item["effective"] == "0x00023c00"


# cbs-log-error, setup-log-error, update-event-error


def _logs(family: str, failed: bool = True, day: int = 1) -> LogRead:
    """One CBS.log entry naming KB2656368 with 0x800B0101 on 2013-06-<day>, read as `family`."""
    cbs_log = r"Windows\Logs\CBS\CBS.log"
    level = "Error" if failed else "Info"
    text = "Failed [HRESULT = 0x800b0101]"
    entry = LogEntry(cbs_log, 7, datetime(2013, 6, day, 9), level, "CBS", text, "0x800B0101", ("KB2656368",))
    return read_family(MemoryVolume({cbs_log: b""}), family, [cbs_log], lambda fh, path: [entry])


def test_log_rules_each_read_their_own_family():
    for check, family, rule in (
        (CbsLogErrors, "cbs", "cbs-log-error"),
        (SetupLogErrors, "setup", "setup-log-error"),
        (UpdateEvents, "events", "update-event-error"),
    ):
        ran = run_check(check, DAY, logs=_logs(family))
        assert ran.rules == [rule] and ran.findings[0].hresult == "0x800B0101", check
        other = "setup" if family != "setup" else "cbs"
        assert run_check(check, DAY, logs=_logs(other)).skipped == "nothing for it in the image", check


def test_a_log_group_that_did_not_fail_is_no_cbs_finding():
    assert run_check(CbsLogErrors, DAY, logs=_logs("cbs", failed=False)).rules == []


def test_a_log_entry_after_the_as_of_day_has_not_happened_yet():
    logs = _logs("cbs", day=30)  # 2013-06-30
    assert run_check(CbsLogErrors, at("2013-06-30"), logs=logs).rules == ["cbs-log-error"]
    assert run_check(CbsLogErrors, at("2013-06-29"), logs=logs).skipped == "nothing for it in the image"


def test_one_read_judged_on_several_days_gives_each_day_its_own_failures():
    """A fleet judges one read on many days: the groups merged for one set of past days are reused only for
    a day on which exactly those days have happened."""
    logs = _logs("cbs", day=30)
    days = ("2013-06-29", "2013-06-30", "2013-06-29", "2013-07-15", "2013-06-30")
    assert [run_check(CbsLogErrors, at(day), logs=logs).rules for day in days] == [
        [],
        ["cbs-log-error"],
        [],
        ["cbs-log-error"],
        ["cbs-log-error"],
    ]
    assert logs.until(lambda day: True) is logs.until(lambda day: day.day == 30)  # the same days: merged once


# sha2-support-missing, esu-prerequisites-missing


def test_sha2_support_missing():
    win7 = machine(software=windows("6.1", 7601))
    ran = run_check(Sha2Support, DAY, machine_hives=win7, packages=Packages())
    assert ran.rules == ["sha2-support-missing"] and "0x80092004" in ran.findings[0].message
    win10 = run_check(Sha2Support, DAY, machine_hives=machine(software=windows("6.3", 19045)), packages=Packages())
    assert win10.skipped == "nothing for it in the image"


def test_esu_prerequisites_missing():
    win7 = machine(software=windows("6.1", 7601))
    ran = run_check(EsuPrerequisites, at("2020-06-01"), machine_hives=win7, packages=Packages())
    assert ran.rules == ["esu-prerequisites-missing"]
    win10 = run_check(
        EsuPrerequisites, at("2020-06-01"), machine_hives=machine(software=windows("6.3", 19045)), packages=Packages()
    )
    assert win10.skipped == "not a Windows 7 SP1 / Server 2008 R2 SP1 image"


# winre-partition-too-small


def test_winre_partition_too_small():
    def recovery(free: int) -> list[Partition]:
        return [Partition(4, "gpt", "de94bba4-06d1-4d40-a16a-bfd50179d6ac", "recovery", None, 1 << 30, 500 * MB, "ntfs", free)]

    win10 = machine(software=windows("6.3", 19045))
    boot = Boot(winre_offset=1 << 30, winre_version="10.0.19041.1")
    ran = run_check(WinrePartition, at("2024-06-01"), partitions=recovery(50 * MB), machine_hives=win10, boot=boot)
    assert ran.rules == ["winre-partition-too-small"] and ran.findings[0].evidence[0]["free_bytes"] == 50 * MB
    roomy = run_check(WinrePartition, at("2024-06-01"), partitions=recovery(300 * MB), machine_hives=win10, boot=boot)
    assert roomy.rules == []
    assert run_check(WinrePartition, DAY, partitions=[], machine_hives=win10, boot=boot).skipped
