"""The registry hive reader (`imgscan.hives`: parse_hive, the Hive methods that read keys and values
lazily through python-registry) and the WinTrust State decoder (`imgscan.wintrust`).

Input: a hive file's bytes.

Contract (the docstrings of imgscan.hives and imgscan.wintrust):
- parse_hive returns a Hive or raises HiveError (one line);
- Hive.key/value/subkeys/values/control_set never raise: a damaged cell loses its key or value and
  becomes one line in `problems`; the keys they return answer name() (checks sort and match by it),
  and key_last_written() gives a time or None;
- as_dword gives an int in 0..0xFFFFFFFF or None, and TrustState decodes any DWORD;
- the walk below visits at most 300 keys: memory and time per input bounded (1 GB, 10 s).
"""

from __future__ import annotations

from collections.abc import Iterator

from fuzz.engine import Limits, fuzz, instrumented

with instrumented(__name__, "Registry"):
    from imgscan.hives import Hive, HiveError, key_last_written, parse_hive
    from imgscan.wintrust import KEY_PATH, VALUE_NAME, TrustState, as_dword

LIMITS = Limits(rss_mb=1024, seconds=10, max_len=16384, ci_runs=800)
MAX_KEYS = 300
# key paths the checks read (SOFTWARE, SYSTEM, COMPONENTS, user hives)
PATHS = (
    KEY_PATH,
    r"Microsoft\Windows\CurrentVersion\Component Based Servicing\Packages",
    r"Microsoft\Windows NT\CurrentVersion\ProfileList",
    r"Microsoft\SystemCertificates\ROOT\Certificates",
    "Select",
)


def _walk(hive: Hive) -> None:
    """From the root (whose name no check reads) and the keys the checks open, through subkeys."""
    root = hive.key("")
    pending = [hive.key(path) for path in PATHS] + (hive.subkeys(root) if root is not None else [])
    seen = 0
    while pending and seen < MAX_KEYS:
        key = pending.pop()
        if key is None:
            continue
        seen += 1
        assert isinstance(key.name(), str)
        assert key_last_written(key) is None or isinstance(key_last_written(key), str)
        values = hive.values(key)
        assert values is None or all(isinstance(name, str) for name in values)
        for data in (values or {}).values():
            dword = as_dword(data)
            assert dword is None or 0 <= dword <= 0xFFFFFFFF
        pending += hive.subkeys(key)


def check(data: bytes) -> None:
    try:
        hive = parse_hive("NTUSER.DAT", data)
    except HiveError as exc:
        assert str(exc) and "\n" not in str(exc)
        return
    _walk(hive)
    state = as_dword(hive.value(KEY_PATH, VALUE_NAME))
    if state is not None:
        decoded = TrustState(state)
        assert isinstance(decoded.options, list) and isinstance(decoded.weakenings, list) and decoded.hex
        assert isinstance(decoded.rejects_offline_revocation, bool)
    assert hive.control_set() is None or hive.control_set().startswith("ControlSet")  # type: ignore[union-attr]
    assert all(set(p) == {"path", "message"} and "\n" not in p["message"] for p in hive.problems)


def seeds() -> Iterator[bytes]:
    """The sample scenarios' hives (SOFTWARE, SYSTEM, COMPONENTS, DEFAULT, profiles)."""
    from fuzz.sources import SCENARIOS, scenario_files

    for name in SCENARIOS:
        for path, data in sorted(scenario_files(name).items()):
            if "/config/" in path or path.upper().endswith("NTUSER.DAT"):
                yield data


if __name__ == "__main__":
    fuzz(check, LIMITS)
