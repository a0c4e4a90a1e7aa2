"""Offline registry hives, read with python-registry straight from the image's file objects.

A hive that is damaged becomes a `HiveError` (a one-line reason), which the
scan turns into an `errors` entry and a `hive-unreadable` finding; nothing is
extracted to disk.
"""

from __future__ import annotations

import functools
import io
import operator
import struct
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from Registry import Registry
from Registry.RegistryParse import RegistryException

from imgscan.image.volume import WindowsVolume
from imgscan.utc import utc_text

BASE_BLOCK = 4096
# what python-registry raises on a damaged cell (a bad "vk"/"nk" record id, a cell pointing past the
# hive's end, a name that does not decode) while it reads keys and values lazily
CELL_ERRORS = (RegistryException, struct.error, UnicodeDecodeError, IndexError, ValueError, OverflowError)


class HiveError(Exception):
    """A hive that cannot be used; `str()` says what is wrong with it."""


@dataclass
class Hive:
    """One loaded hive. `dirty` says why Windows would recover it from its transaction logs before using
    it (its base block's two sequence numbers differ, or the base block's checksum is wrong: captured
    mid-write), or is None; imgscan reads it as is, without the logs, and says so."""

    path: str
    registry: Registry.Registry
    dirty: str | None
    # damaged cells met while reading: each loses only its key, and becomes an `errors` entry
    problems: list[dict[str, str]] = field(default_factory=list)
    # keys found by path (None: absent or damaged). A machine hive is read once and judged for every host
    # setting of a fleet; walking the path from the root again in each judgement (SYSTEM's Services key has
    # hundreds of subkeys) was a fifth of a worker's judging CPU (bench/fleet.py, issue 24)
    _keys: dict[str, Registry.RegistryKey | None] = field(default_factory=dict, init=False, repr=False, compare=False)
    # values found likewise, those whose data cannot be changed by a caller (numbers, text, bytes, absent)
    _values: dict[tuple[str, str], object] = field(default_factory=dict, init=False, repr=False, compare=False)

    def key(self, key_path: str) -> Registry.RegistryKey | None:
        """The key at `key_path`, or None when it is absent or damaged (a damaged one is a problem, kept)."""
        if key_path in self._keys:
            return self._keys[key_path]
        found = self._keys[key_path] = self._open(key_path)
        return found

    def _open(self, key_path: str) -> Registry.RegistryKey | None:
        try:
            return self.registry.open(key_path)
        except Registry.RegistryKeyNotFoundException:
            return None
        except CELL_ERRORS as exc:
            self._damaged(key_path, exc)
            return None

    def value(self, key_path: str, name: str) -> Any:
        """The data of a value, or None when the key or value is absent or damaged."""
        if (key_path, name) in self._values:
            return self._values[key_path, name]
        data = self._value(key_path, name)
        if data is None or isinstance(data, int | str | bytes):
            self._values[key_path, name] = data
        return data

    def _value(self, key_path: str, name: str) -> Any:
        key = self.key(key_path)
        if key is None:
            return None
        try:
            return key.value(name).value()
        except Registry.RegistryValueNotFoundException:
            return None
        except CELL_ERRORS as exc:
            self._damaged(f"{key_path}\\{name}", exc)
            return None

    def control_set(self) -> str | None:
        """The SYSTEM hive's current control set (`ControlSet001`), as `Select\\Current` names it offline
        (CurrentControlSet is a link that only exists on a running system); None when it does not say."""
        current = self.value("Select", "Current")
        return f"ControlSet{current:03d}" if isinstance(current, int) else None

    def subkeys(self, key: Registry.RegistryKey | None) -> list[Registry.RegistryKey]:
        """A key's subkeys, or none when its subkey list is damaged. A subkey whose name or last-write
        time cannot be read is left out (and is a problem): callers sort and match subkeys by name."""
        if key is None:
            return []
        try:
            found = list(key.subkeys())
        except CELL_ERRORS as exc:
            self._damaged(_key_path(key), exc)
            return []
        readable = []
        for sub in found:
            try:
                sub.name()
                sub.timestamp()
            except CELL_ERRORS as exc:
                self._damaged(f"{_key_path(key)}\\(a subkey whose name or time is damaged)", exc)
                continue
            readable.append(sub)
        return readable

    def values(self, key: Registry.RegistryKey) -> dict[str, Any] | None:
        """A key's values by lower-case name; None when a value cell of the key is damaged (the key is lost)."""
        try:
            return {v.name().lower(): v.value() for v in key.values()}
        except CELL_ERRORS as exc:
            self._damaged(_key_path(key), exc)
            return None

    def _damaged(self, key_path: str, exc: BaseException) -> None:
        problem = {"path": f"{self.path}\\{key_path}", "message": f"damaged registry cell, key skipped: {cell_damage(exc)}"}
        if problem not in self.problems:  # met again by another check, or by another judgement of the same read
            self.problems.append(problem)


def cell_damage(exc: BaseException) -> str:
    """What a CELL_ERRORS exception says of the hive, in its words, not Python's (a codec, a buffer size)."""
    if isinstance(exc, struct.error | IndexError):  # reading past the data
        return "a cell points outside the hive's data"
    if isinstance(exc, UnicodeDecodeError):
        return "a key or value name is not valid text"
    if isinstance(exc, ValueError | OverflowError):  # a time or size no hive can hold
        return f"a cell holds an impossible value ({str(exc).splitlines()[0] if str(exc) else 'out of range'})"
    return str(exc).splitlines()[0] if str(exc) else type(exc).__name__  # python-registry's own words


def _key_path(key: Registry.RegistryKey) -> str:
    try:
        path: str = key.path()  # python-registry ships no types
        return path.split("\\", 1)[-1]  # without the hive's root key name
    except CELL_ERRORS:
        return "(a key whose name is damaged)"


def load_hive(volume: WindowsVolume, path: str) -> Hive:
    """Read and sanity-check a hive; raises FileNotFoundError or HiveError."""
    with volume.open(path) as fh:
        data = fh.read()
    return parse_hive(path, data)


def parse_hive(path: str, data: bytes) -> Hive:
    """The hive in `data`; raises HiveError (one line) for one that cannot be read at all. Damage found
    later, while keys are read, goes to the Hive's `problems` instead (fuzz/fuzz_hive.py checks both)."""
    if data[:4] != b"regf":
        raise HiveError("not a registry hive (no 'regf' signature)")
    if len(data) < 48:
        raise HiveError(f"truncated: only {len(data)} bytes")
    (bins_size,) = struct.unpack_from("<I", data, 40)
    if BASE_BLOCK + bins_size > len(data):
        raise HiveError(f"truncated: header promises {BASE_BLOCK + bins_size} bytes, file has {len(data)}")
    if data[BASE_BLOCK : BASE_BLOCK + 4] != b"hbin":
        raise HiveError("damaged: no hive bin after the base block")
    try:
        registry = Registry.Registry(io.BytesIO(data))
        registry.root().subkeys()  # python-registry parses lazily; touch the root so damage shows now
    except CELL_ERRORS as exc:
        raise HiveError(f"damaged: {cell_damage(exc)}") from exc
    return Hive(path=path, registry=registry, dirty=_needs_recovery(data))


def _needs_recovery(data: bytes) -> str | None:
    """Why Windows counts the hive dirty, after the REGF format's rules: a primary sequence number other
    than the secondary, or a base-block checksum (the XOR of its first 127 double words, 0 and
    0xFFFFFFFF excepted) other than the one stored at offset 508 (hivex refuses a hive with that one outright)."""
    primary, secondary = struct.unpack_from("<II", data, 4)
    reasons = ["sequence numbers differ"] if primary != secondary else []
    if struct.unpack_from("<I", data, 508)[0] != _base_block_checksum(data):
        reasons.append("its base block's checksum is wrong")
    return " and ".join(reasons) or None


def _base_block_checksum(data: bytes) -> int:
    total: int = functools.reduce(operator.xor, struct.unpack_from("<127I", data))
    return {0: 1, 0xFFFFFFFF: 0xFFFFFFFE}.get(total, total)


def key_last_written(key: Registry.RegistryKey) -> str | None:
    """A key's last-write time in ISO 8601 UTC; None when the time in the key cell is damaged."""
    try:
        stamp: datetime = key.timestamp()
    except CELL_ERRORS:
        return None
    return utc_text(stamp)
