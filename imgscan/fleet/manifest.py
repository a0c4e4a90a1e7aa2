"""A host list: one row per host, the image it was built from and its own facts, as CSV or YAML.

CSV has a header row; YAML is a list of mappings (or a mapping with a `hosts:` list) with the same keys,
for lists with many facts. Columns (only `path` is required):

- `path`: the image the host was built from (relative to the manifest), `index` or `image_name`: which
  image of a multi-image WIM;
- `host`: its name (else the image's ComputerName, else the file name);
- `target_firmware`, `target_dbx`: its Secure Boot db and dbx, as `--target-firmware` / `--target-dbx`;
- `network` (online, offline, proxy), `deployed` (YYYY-MM-DD), `model`, `recovery_free_mb`: see
  imgscan.hosts for what each changes;
- `site`, `ring`, `owner`: free labels the summary can filter on.

Every mistake is one line naming the manifest and its line: an unknown column (a typo would otherwise
silently drop a fact), a host listed twice, an image that is missing, a WIM index or name it lacks.
"""

from __future__ import annotations

import csv
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import yaml

from imgscan.errors import ImgscanError
from imgscan.fleet.host import FleetHost
from imgscan.hosts import LABELS, NETWORKS, HostFacts
from imgscan.image.sniff import HOST_LIST_SUFFIXES, read_header
from imgscan.signing.firmware_db import UNKNOWN, firmware_target, read_dbx
from imgscan.yaml_safe import TextDatesLoader, day

T = TypeVar("T")
COLUMNS = (
    "path",
    "host",
    "index",
    "image_name",
    "target_firmware",
    "target_dbx",
    "network",
    "deployed",
    "model",
    "recovery_free_mb",
    *LABELS,
)


def is_manifest(path: Path) -> bool:
    return path.is_file() and path.suffix.lower() in HOST_LIST_SUFFIXES


Values = dict[tuple[str, str], Any]  # (column, text as written): its value, read once per host list


def read(path: Path) -> list[FleetHost]:
    """The hosts `path` lists, each checked; raises ImgscanError naming the line of the first mistake."""
    rows = _yaml_rows(path) if path.suffix.lower() in (".yaml", ".yml") else _csv_rows(path)
    hosts: list[FleetHost] = []
    first_line: dict[str, int] = {}
    wims: dict[str, tuple[int, ...] | tuple[str, ...]] = {}
    images: dict[str, str] = {}  # each image path as written, resolved: thousands of hosts name a few images
    values: Values = {}  # each (column, text) read: hosts share a few firmware files, days...
    for line, row in rows:
        where = f"{path} line {line}"
        unknown = sorted(k for k in row if k not in COLUMNS)
        if unknown:
            raise ImgscanError(where, f"unknown column {unknown[0]!r}", f"known: {', '.join(COLUMNS)}")
        host = _host(path, where, row, images, values)
        _check_wim(host, where, wims)
        key = host.key
        if key in first_line:
            what = f"host {host.name}" if host.name else f"image {host.path} (no host name)"
            raise ImgscanError(where, f"{what} is listed twice (first on line {first_line[key]})")
        first_line[key] = line
        hosts.append(host)
    if not hosts:  # a list a broken export left with its header alone must not let the gate pass on zero hosts
        raise ImgscanError(str(path), "lists no hosts", "a host list names each host's image, one row or entry per host")
    return hosts


def _csv_rows(path: Path) -> Iterator[tuple[int, dict[str, str]]]:
    with path.open(newline="", encoding="utf-8-sig") as fh:
        reader = csv.DictReader(fh)
        if not reader.fieldnames or "path" not in reader.fieldnames:
            raise ImgscanError(str(path), "a host list needs a header row with a 'path' column (and optionally 'host')")
        unknown = sorted(name for name in reader.fieldnames if name not in COLUMNS)
        if unknown:  # the header's own line, and also when no row fills the column
            raise ImgscanError(f"{path} line 1", f"unknown column {unknown[0]!r}", f"known: {', '.join(COLUMNS)}")
        for row in reader:
            extra = row.pop(None, None)  # DictReader files surplus cells under None
            if extra:
                raise ImgscanError(f"{path} line {reader.line_num}", f"{len(extra)} cell(s) more than the header names")
            yield reader.line_num, {k: v.strip() for k, v in row.items() if v and v.strip()}


def _yaml_rows(path: Path) -> Iterator[tuple[int, dict[str, str]]]:
    try:  # by yaml_safe.TextDatesLoader: dates stay text, judged by their column as in a CSV list
        loader = TextDatesLoader(path.read_text(encoding="utf-8-sig"))
        try:
            root = loader.get_single_node()
        finally:
            loader.dispose()
    except yaml.YAMLError as exc:
        raise ImgscanError(str(path), f"not valid YAML ({' '.join(str(exc).split())})") from None
    if isinstance(root, yaml.MappingNode):
        root = next((v for k, v in root.value if k.value == "hosts"), None)
    if not isinstance(root, yaml.SequenceNode):
        raise ImgscanError(str(path), "a YAML host list is a list of hosts (or a mapping with a 'hosts:' list)")
    for node in root.value:
        line = node.start_mark.line + 1
        try:
            value = TextDatesLoader("").construct_object(node, deep=True) if isinstance(node, yaml.MappingNode) else None
        except yaml.MarkedYAMLError as exc:  # a value its explicit tag cannot make: `!!int ten`
            at = exc.problem_mark.line + 1 if exc.problem_mark else line
            raise ImgscanError(f"{path} line {at}", f"not valid YAML ({exc.problem})") from None
        if not isinstance(value, dict):
            raise ImgscanError(f"{path} line {line}", "a host is a mapping (path: ..., host: ...)")
        yield line, {str(k): str(v).strip() for k, v in value.items() if v is not None and str(v).strip()}


def _host(manifest: Path, where: str, row: dict[str, str], images: dict[str, str], values: Values) -> FleetHost:
    if "path" not in row:
        raise ImgscanError(where, "no path: every host names the image it was built from")
    if row["path"] not in images:
        image = Path(row["path"])
        if not image.is_absolute():
            image = manifest.parent / image
        if not image.exists():
            raise ImgscanError(where, f"image {row['path']}: no such file or directory")
        images[row["path"]] = os.path.realpath(image)

    def column(name: str, read: Callable[[str], T], default: Any) -> Any:
        return _column(row, name, where, read, default, values)

    facts = HostFacts(
        network=column("network", _network, "unknown"),
        deployed=column("deployed", day, None),
        model=row.get("model"),
        recovery_free_bytes=column("recovery_free_mb", _megabytes, None),
    )
    return FleetHost(
        path=images[row["path"]],
        name=row.get("host"),
        index=column("index", _index, None),
        image_name=row.get("image_name"),
        labels={k: row[k] for k in LABELS if k in row},
        target_firmware=column("target_firmware", lambda t: firmware_target(t, manifest.parent), UNKNOWN),
        target_dbx=column("target_dbx", lambda t: read_dbx(t, manifest.parent), None),
        facts=facts,
    )


def _column(row: dict[str, str], name: str, where: str, read: Callable[[str], T], default: Any, values: Values) -> Any:
    """One optional column, read once per distinct text of the list (a firmware db file is read once, not
    once per host); a bad value is an error naming the (first) line and the column."""
    if name not in row:
        return default
    key = (name, row[name])
    if key in values:
        return values[key]
    try:
        value = values[key] = read(row[name])
        return value
    except ImgscanError as exc:  # its path and problem: str(exc) holds the advice too, given once below
        raise ImgscanError(where, f"{name} {exc.path}: {exc.problem}", exc.advice) from None
    except ValueError as exc:
        raise ImgscanError(where, f"{name} {row[name]!r}: {exc}") from None


def _network(text: str) -> str:
    if text.lower() not in NETWORKS[1:]:
        raise ValueError(f"use one of {', '.join(NETWORKS[1:])}")
    return text.lower()


def _index(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise ValueError("a WIM index is a whole number from 1")
    return int(text)


def _megabytes(text: str) -> int:
    if not text.isdigit():
        raise ValueError("free space in MB, a whole number")
    return int(text) * 1024 * 1024


def _check_wim(host: FleetHost, where: str, seen: dict[str, Any]) -> None:
    """A host's index or image name must exist in its WIM (wimlib lists them once per file)."""
    if host.index is None and host.image_name is None:
        return
    path = Path(host.path)
    if path.is_dir() or read_header(path).format != "wim":
        raise ImgscanError(where, f"index/image_name given, but {path.name} is not a WIM")
    if host.path not in seen:
        from imgscan.image.wim import read_info

        images = read_info(path).images
        seen[host.path] = ({i.index for i in images}, {i.name.lower() for i in images})
    indexes, names = seen[host.path]
    if host.index is not None and host.index not in indexes:
        raise ImgscanError(
            where, f"{path.name} has no image with index {host.index} (it has {', '.join(map(str, sorted(indexes)))})"
        )
    if host.image_name is not None and host.image_name.lower() not in names:
        raise ImgscanError(where, f"{path.name} has no image named {host.image_name!r}")
