"""One read of an image judged under several scan contexts (the seam hosts build on): different days and
different firmware give different findings, and judging reads no file of the image again."""

from __future__ import annotations

from collections import Counter
from datetime import date
from io import BytesIO

from imgscan.context import ScanContext
from imgscan.hosts import HostFacts
from imgscan.image import ImageIdentity, OpenedImage
from imgscan.loader import load_checks
from imgscan.scan import Options, judge, read, scan_volume
from imgscan.signing.firmware_db import FirmwareTarget
from sample_images.scenario import load, volume_files
from tests.unit.memory import MemoryVolume

HIVES = ("ntuser.dat", r"config\default", r"config\software", r"config\system", r"config\components")


class CountingVolume(MemoryVolume):
    """Counts every file opened, by path."""

    def __init__(self, files: dict[str, bytes | None]) -> None:
        super().__init__(files)
        self.opened: Counter[str] = Counter()

    def open(self, path: str) -> BytesIO:
        self.opened[path.lower()] += 1
        return super().open(path)


def _opened(files: dict[str, bytes | None]) -> tuple[CountingVolume, OpenedImage]:
    volume = CountingVolume(files)
    return volume, OpenedImage(volume=volume, info=ImageIdentity("memory:image", "0" * 64, "memory"))


def _found(result) -> list[tuple[str, str]]:
    return sorted((f["rule"], f["severity"]) for f in result.report["findings"])


def test_one_read_judged_on_two_days_gives_each_day_its_findings_without_reading_again():
    files = dict(volume_files(load("ref-w7-2012q3")))  # built once: the sample PKI's keys differ on every build
    volume, opened = _opened(files)
    checks = load_checks()
    loaded = read(opened, checks)
    after_read = Counter(volume.opened)
    assert after_read and max(after_read.values()) == 1  # the read opens each file once
    before = judge(loaded, checks, ScanContext(date(2012, 12, 1), horizon_days=30))
    after = judge(loaded, checks, ScanContext(date(2013, 7, 1)))
    assert not volume.opened - after_read  # no hive, catalog or log again
    assert _found(before) == []  # the catalogs fail after a 30-day horizon; the logs are all later
    assert ("catalog-expiry", "high") in _found(after) and ("qfe-empty", "critical") in _found(after)
    assert any(f["rule"] == "cbs-log-error" for f in after.report["findings"])  # the log entries up to 2013-07-01
    assert not before.report["inventory"]["logs"]["failures"] and after.report["inventory"]["logs"]["failures"]
    # the same as reading the image again for each day
    for context, judged in ((ScanContext(date(2012, 12, 1), horizon_days=30), before), (ScanContext(date(2013, 7, 1)), after)):
        assert scan_volume(_opened(files)[1], context, checks, Options()).report == judged.report
    # what judging keeps of a read for the next judgement (the merged logs, the stamped inventory) is kept by
    # day and horizon: judged again on the first day, or on it with a longer horizon, as a fresh read gives
    assert judge(loaded, checks, ScanContext(date(2012, 12, 1), horizon_days=30)).report == before.report
    longer = ScanContext(date(2012, 12, 1), horizon_days=365)
    assert judge(loaded, checks, longer).report == scan_volume(_opened(files)[1], longer, checks, Options()).report


def test_one_read_judged_for_two_firmware_targets_gives_each_host_its_findings():
    volume, opened = _opened(dict(volume_files(load("secureboot-2011"))))
    checks = load_checks()
    loaded = read(opened, checks)
    after_read = Counter(volume.opened)
    old = judge(loaded, checks, ScanContext(date(2026, 12, 1), firmware=FirmwareTarget("2011-only")))
    new = judge(loaded, checks, ScanContext(date(2026, 12, 1), firmware=FirmwareTarget("2023")))
    before_expiry = judge(loaded, checks, ScanContext(date(2026, 1, 1), firmware=FirmwareTarget("2011-only")))
    assert not volume.opened - after_read
    assert ("secureboot-ca-2011-only", "medium") in _found(old)  # the PCA expired on 2026-10-19
    assert ("secureboot-ca-2011-only", "info") in _found(before_expiry)  # its Timing: info before, whatever the horizon
    assert not any(rule == "secureboot-ca-2011-only" for rule, _ in _found(new))  # hosts with the 2023 CA
    assert old.report["target_firmware"]["db"] == "2011-only" and new.report["target_firmware"]["db"] == "2023"


def test_many_hosts_judged_on_one_read_open_each_hive_once_in_all():
    """A fleet judges one read for every distinct host setting (network, firmware, day): the hives (the
    profiles' too, whose WinTrust State each host's network is applied to) are opened by the read, once each,
    and never by a judgement, however many there are."""
    volume, opened = _opened(dict(volume_files(load("ws-acc-0417"))))  # WinTrust State 0xc9 in its profiles
    checks = load_checks()
    loaded = read(opened, checks)
    after_read = Counter(volume.opened)
    hives = {path: n for path, n in after_read.items() if path.endswith(HIVES)}
    assert len(hives) >= 5 and set(hives.values()) == {1}, hives  # machine and user hives, each once
    severity: dict[str, set[str]] = {}
    for network in ("online", "offline", "proxy"):
        for firmware in ("2011-only", "2023", "unknown"):
            for day in (date(2013, 7, 1), date(2013, 8, 1), date(2013, 9, 1)):
                context = ScanContext(day, firmware=FirmwareTarget(firmware), host=HostFacts(network=network))
                report = judge(loaded, checks, context).report
                found = {f["severity"] for f in report["findings"] if f["rule"] == "wintrust-offline-revocation"}
                severity.setdefault(network, set()).update(found)
    assert {path: volume.opened[path] for path in hives} == hives  # 27 judgements opened no hive again
    assert volume.opened == after_read  # nor any other file
    # each host's network still judges the profiles' State read once: informational only where it fetches CRLs
    assert severity["online"] == {"info"} and severity["offline"] == severity["proxy"] == {"high"}, severity


def test_a_damaged_hive_read_once_is_reported_once_by_every_judgement():
    files = dict(volume_files(load("ref-w7-2012q3")))
    software = "Windows/System32/config/SOFTWARE"
    key = next(k for k in files if k.replace("\\", "/").lower() == software.lower())
    data = bytearray(files[key] or b"")
    key_at = data.index(b"Package_for_KB2731847~31bf3856ad364e35~amd64~~6.1.1.0")
    value_at = data.index(b"CurrentState", key_at)  # a value name of that key, in its vk record
    assert data[value_at - 20 : value_at - 18] == b"vk"
    data[value_at - 20 : value_at - 18] = b"XX"  # python-registry: "Invalid VK Record ID"
    files[key] = bytes(data)
    checks = load_checks()
    loaded = read(_opened(files)[1], checks)
    first, second = (judge(loaded, checks, ScanContext(date(2013, 7, 1))) for _ in range(2))
    damaged = [e for e in first.report["errors"] if "damaged registry cell" in e["message"]]
    assert len(damaged) == 1 and "KB2731847" in damaged[0]["path"]
    assert second.report["errors"] == first.report["errors"]


def test_judging_again_walks_no_machine_hive_key_path_again(monkeypatch):
    """A machine hive's keys (and values of plain data) are found once by path and kept: every check that
    reads SYSTEM or SOFTWARE (update services, the control set, servicing) walked each path from the root
    again in each judgement, a fifth of a fleet worker's judging CPU at 10,000 hosts (issue 24)."""
    from Registry import Registry

    from imgscan.artefacts import MACHINE_HIVES

    value = Registry.RegistryKey.value

    def counted_value(self, name):
        walks[f"value {self.path()}|{name}"] += 1
        return value(self, name)

    walks: Counter[str] = Counter()
    monkeypatch.setattr(Registry.RegistryKey, "value", counted_value)

    files = dict(volume_files(load("ref-w7-2012q3")))
    _, opened = _opened(files)
    checks = load_checks()
    loaded = read(opened, checks)
    hives = loaded.artefacts.get(MACHINE_HIVES)
    walks.clear()
    for hive in (hives.system, hives.software):
        assert hive is not None
        walk = hive.registry.open

        def counted(path: str, walk=walk, role=hive.path) -> object:
            walks[f"{role}|{path}"] += 1
            return walk(path)

        hive.registry.open = counted
    first = judge(loaded, checks, ScanContext(date(2013, 7, 1)))
    after_first = Counter(walks)
    second = judge(loaded, checks, ScanContext(date(2013, 7, 1), host=HostFacts(network="offline")))
    assert any("Services" in path for path in after_first)  # the update services check read SYSTEM's keys
    assert any(path.startswith("value ") and path.endswith("|Start") for path in after_first)  # ... and values
    assert walks == after_first  # the second judgement found every key it needed already found
    assert max(after_first.values()) == 1
    assert first.report["inventory"]["update_services"] == second.report["inventory"]["update_services"]


def test_judging_again_builds_no_catalog_or_package_inventory_entry_again(monkeypatch):
    """What the inventory says of each catalog and package whatever the day, and each package's catalogs,
    are built once per read: a fleet judges one read for every host setting, and rebuilding them in each
    judgement was a sixth of a worker's judging CPU (issue 24). The day's words still change with the day."""
    from imgscan.artefacts import CATALOGS
    from imgscan.artefacts.catalog_set import CatalogRecord
    from imgscan.servicing import Package

    built: Counter[str] = Counter()
    for cls in (CatalogRecord, Package):
        as_dict = cls.as_dict

        def counted(self: object, as_dict=as_dict, name=cls.__name__) -> object:
            built[name] += 1
            return as_dict(self)

        monkeypatch.setattr(cls, "as_dict", counted)

    class CountingIndex(dict):
        def get(self, key, default=None):
            built["package look-up"] += 1
            return super().get(key, default)

    files = dict(volume_files(load("ref-w7-2012q3")))
    _, opened = _opened(files)
    checks = load_checks()
    loaded = read(opened, checks)
    catalogs = loaded.artefacts.get(CATALOGS).catalogs
    catalogs._by_name = CountingIndex(catalogs._by_name)
    before = judge(loaded, checks, ScanContext(date(2012, 12, 1), horizon_days=30))
    after_first = Counter(built)
    after = judge(loaded, checks, ScanContext(date(2013, 7, 1)))
    assert after_first["CatalogRecord"] and after_first["Package"] and after_first["package look-up"]
    assert built == after_first  # the second judgement built none of them again
    words = [{c["path"]: c["status_as_of"] for c in r.report["inventory"]["catalogs"]} for r in (before, after)]
    assert words[0] != words[1]  # each day still gets its own words
    for result, day in ((before, date(2012, 12, 1)), (after, date(2013, 7, 1))):
        context = ScanContext(day, horizon_days=30) if day.year == 2012 else ScanContext(day)
        assert scan_volume(_opened(files)[1], context, checks, Options()).report == result.report


def test_a_check_runs_again_only_for_a_context_that_differs_in_what_it_read(monkeypatch):
    """Judgements of one read reuse each check's outcome while every fact of the scan context the check read
    (here: the host's network, the phase of a day) answers the same; the reports are those of fresh reads."""
    files = dict(volume_files(load("ws-acc-0417")))  # WinTrust State 0xc9 in its profiles
    checks = load_checks()
    runs: Counter[str] = Counter()
    for check in checks.checks:
        monkeypatch.setattr(check, "run", lambda context, _run=check.run, _name=check.name: runs.update([_name]) or _run(context))
    loaded = read(_opened(files)[1], checks, judged_often=True)
    contexts = [
        ScanContext(day, firmware=FirmwareTarget(firmware), host=HostFacts(network=network, recovery_free_bytes=free))
        for network in ("online", "offline")
        for firmware in ("2011-only", "2023")
        for free in (None, 100 << 20)
        for day in (date(2013, 7, 1), date(2013, 7, 1), date(2014, 7, 1))
    ]
    reports = [judge(loaded, checks, context).report for context in contexts]
    assert runs["wintrust_state"] == 2  # once per network: neither firmware, recovery space nor day changes it
    assert runs["qfe_empty"] == 2  # once per day: it reads the phase of its catalogs' first failure
    assert runs["hive_health"] == 1  # it reads nothing of the context
    once = read(_opened(files)[1], checks)  # a single scan's read: judged once, it keeps (copies) nothing
    runs.clear()
    assert judge(once, checks, contexts[0]).report == judge(once, checks, contexts[0]).report == reports[0]
    assert runs["hive_health"] == 2 and once.reuse is None
    for context, report in zip(contexts, reports, strict=True):  # stamped, linked, ordered: each its own copy
        fresh = scan_volume(_opened(files)[1], context, checks, Options()).report
        assert report == fresh, context
