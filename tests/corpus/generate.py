"""A corpus of damaged inputs built from the sample scenarios, as evidence may arrive at a new user.

Every case is one input (a directory tree, a container file or a WIM) plus the imgscan arguments to
scan it. Classes:
- odd-artefact: a file the scan reads (hive, .cat, .mum, CBS/setup log, event log, CatRoot file,
  profile hive) replaced by a directory, a symlink loop, a dangling symlink, a symlink to a file
  outside the tree or to a device (/dev/zero, /proc/kcore), a FIFO, or a file nobody may read;
- tree: deep nesting, non-UTF-8 names, unreadable entries in a directory input;
- hive-cells: damaged cells inside SOFTWARE's CBS keys;
- container: truncation and bit flips of each container format at several offsets;
- hostile-wim: the hostile WIMs of sample_images/hostile_wim.py;
- xml-bomb: entity expansion in a .mum and in a WIM's XML;
- long-line: a CBS.log and a setup log with a line of tens of megabytes.

    python -m tests.corpus.generate OUTDIR     writes the corpus and prints one line per case
"""

from __future__ import annotations

import os
import re
import shutil
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from sample_images.scenario import load, write_tree

ODDITIES = (
    "directory",
    "symlink-loop",
    "dangling-symlink",
    "symlink-outside",
    "symlink-dev-zero",
    "symlink-proc-kcore",
    "fifo",
    "unreadable",
)

# (scenario, path) of every kind of artefact the scan reads
TARGETS = (
    ("ref-w7-2012q3", "Windows/System32/config/SOFTWARE"),
    ("ref-w7-2012q3", "Windows/System32/config/SYSTEM"),
    ("ref-w7-2012q3", "Windows/System32/config/COMPONENTS"),
    ("ref-w7-2012q3", "Windows/System32/config/DEFAULT"),
    ("ref-w7-2012q3", "Users/Default/NTUSER.DAT"),
    ("ref-w7-2012q3", "Users/imageadmin/NTUSER.DAT"),
    ("ref-w7-2012q3", "Windows/servicing/Packages/Package_for_KB2705219~31bf3856ad364e35~amd64~~6.1.1.1.cat"),
    ("ref-w7-2012q3", "Windows/servicing/Packages/Package_for_KB2705219~31bf3856ad364e35~amd64~~6.1.1.1.mum"),
    ("ref-w7-2012q3", "Windows/winsxs/Catalogs/*.cat"),
    ("ref-w7-2012q3", "Windows/System32/CatRoot/{F750E6C3-38EE-11D1-85E5-00C04FC295EE}/*KB2506212*.cat"),
    ("ref-w7-2012q3", "Windows/Logs/CBS/CBS.log"),
    ("ref-w7-2012q3", "Windows/Logs/CBS/CbsPersist_20130630120031.cab"),
    ("ref-w7-2012q3", "Windows/Logs/CBS/CheckSUR.log"),
    ("ref-w7-2012q3", "Windows/System32/winevt/Logs/Setup.evtx"),
    ("ws-acc-0417", "Windows/Temp/KB2656368.html"),
    ("ws-acc-0417", "Windows/System32/winevt/Logs/System.evtx"),
    ("ws-acc-0417", "Users/nfury/NTUSER.DAT"),
    ("ws-acc-0417", "Users/pcoulson/NTUSER.DAT"),
)


@dataclass
class Case:
    """One damaged input: `path` is scanned with `args`; `slow` cases run only in the full corpus."""

    name: str
    klass: str
    path: Path
    args: list[str] = field(default_factory=list)
    slow: bool = False
    # True: either a report (damage the readers tolerate) or a one-line exit 2 (the whole input is
    # unusable) is right; False: the input is readable, a report is expected
    may_be_unreadable: bool = False


def _tree(out: Path, scenario: str, name: str) -> Path:
    base = out / "_base" / scenario
    if not base.exists():
        write_tree(load(scenario), base)
    tree = out / name
    shutil.copytree(base, tree, symlinks=True)
    return tree


def _resolve(tree: Path, pattern: str) -> Path:
    if "*" not in pattern:
        return tree / pattern
    return sorted(tree.glob(pattern))[0]


def _make_odd(target: Path, oddity: str) -> None:
    target.unlink()
    if oddity == "directory":
        target.mkdir()
        (target / "inside.txt").write_text("a directory where a file should be\n")
    elif oddity == "symlink-loop":
        os.symlink(target.name, target)
    elif oddity == "dangling-symlink":
        os.symlink("does-not-exist", target)
    elif oddity == "symlink-outside":
        os.symlink("/etc/passwd", target)
    elif oddity == "symlink-dev-zero":
        os.symlink("/dev/zero", target)
    elif oddity == "symlink-proc-kcore":
        os.symlink("/proc/kcore", target)
    elif oddity == "fifo":
        os.mkfifo(target)
    elif oddity == "unreadable":
        target.write_bytes(b"regf" + bytes(8188))
        target.chmod(0)
    else:
        raise ValueError(oddity)


def odd_artefacts(out: Path) -> list[Case]:
    cases = []
    for number, (scenario, pattern) in enumerate(TARGETS):
        parts = Path(pattern).parts
        label = "-".join(parts[-2:]).replace("*", "x").replace("{", "").replace("}", "").replace("~", "")[:40]
        for n, oddity in enumerate(ODDITIES):
            name = f"odd-{number:02d}-{scenario}-{label}-{oddity}"
            tree = _tree(out, scenario, name)
            _make_odd(_resolve(tree, pattern), oddity)
            # CI runs one oddity per target (rotating, so every oddity is covered), the full corpus all eight
            slow = n != number % len(ODDITIES)
            cases.append(Case(name, "odd-artefact", tree, ["--as-of", "2013-07-01"], slow=slow))
    return cases


def trees(out: Path) -> list[Case]:
    """Directory inputs whose shape is odd: deep nesting, non-UTF-8 names, unreadable entries."""
    cases = []
    deep = _tree(out, "ws-acc-0417", "tree-deep")
    fd = os.open(deep / "Windows", os.O_RDONLY)
    for _ in range(3000):  # deeper than PATH_MAX allows as one path string
        os.mkdir("d", dir_fd=fd)
        child = os.open("d", os.O_RDONLY, dir_fd=fd)
        os.close(fd)
        fd = child
    os.close(fd)
    cases.append(Case("tree-deep", "tree", deep, ["--as-of", "2013-07-01"]))
    names = _tree(out, "ws-acc-0417", "tree-non-utf8-names")
    for raw in (b"caf\xe9", b"\xff\xfe", b"line\nbreak", b"tab\tname"):
        (names / "Users" / os.fsdecode(raw)).mkdir()
        (names / "Users" / os.fsdecode(raw) / "NTUSER.DAT").write_bytes(b"regf")
    cases.append(Case("tree-non-utf8-names", "tree", names, ["--as-of", "2013-07-01"]))
    locked = _tree(out, "ws-acc-0417", "tree-unreadable-directory")
    (locked / "Users" / "pcoulson").chmod(0)
    cases.append(Case("tree-unreadable-directory", "tree", locked, ["--as-of", "2013-07-01"]))
    loop = _tree(out, "ws-acc-0417", "tree-directory-loop")
    os.symlink("..", loop / "Windows" / "System32" / "loop")
    os.symlink("../../Users", loop / "Users" / "nfury" / "up")
    cases.append(Case("tree-directory-loop", "tree", loop, ["--as-of", "2013-07-01"]))
    return cases


def hive_cells(out: Path) -> list[Case]:
    """SOFTWARE with damaged cells: a value record, a key record, a subkey list."""
    cases = []
    victim = b"Package_for_KB2731847~31bf3856ad364e35~amd64~~6.1.1.0"
    for name in ("vk", "nk", "subkey-list"):
        tree = _tree(out, "ref-w7-2012q3", f"hive-cell-{name}")
        software = tree / "Windows" / "System32" / "config" / "SOFTWARE"
        data = bytearray(software.read_bytes())
        key_name = data.index(victim)
        if name == "vk":
            at = data.index(b"CurrentState", key_name) - 20  # the package's first value record
        elif name == "nk":
            at = key_name - 0x4C  # the package's own key record
        else:
            at = re.search(rb"l[fh]", data[4096:]).start() + 4096  # the first subkey list of the hive
        assert data[at : at + 2] in (b"vk", b"nk", b"lf", b"lh"), (name, bytes(data[at : at + 2]))
        data[at : at + 2] = b"XX"
        software.write_bytes(bytes(data))
        cases.append(Case(f"hive-cell-{name}", "hive-cells", tree, ["--as-of", "2013-07-01"]))
    return cases


def xml_bombs(out: Path) -> list[Case]:
    bomb = (
        b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
        + b"".join(f'<!ENTITY lol{n} "{("&lol" + (str(n - 1) if n > 1 else "") + ";") * 10}">'.encode() for n in range(1, 10))
        + b']><assembly xmlns="urn:schemas-microsoft-com:asm.v3">&lol9;</assembly>'
    )
    tree = _tree(out, "ref-w7-2012q3", "xml-bomb-mum")
    mum = next((tree / "Windows" / "servicing" / "Packages").glob("*KB2731847*.mum"))
    mum.write_bytes(bomb)
    return [Case("xml-bomb-mum", "xml-bomb", tree, ["--as-of", "2013-07-01"])]


def long_lines(out: Path) -> list[Case]:
    cases = []
    tree = _tree(out, "ref-w7-2012q3", "long-line-cbs")
    with (tree / "Windows" / "Logs" / "CBS" / "CBS.log").open("ab") as fh:
        fh.write(
            b"2013-07-01 09:04:27, Error                 CBS    "
            + b"A" * (64 * 1024 * 1024)
            + b" [HRESULT = 0x800b0101 - CERT_E_EXPIRED]\r\n"
        )
    cases.append(Case("long-line-cbs", "long-line", tree, ["--as-of", "2013-07-01"], slow=True))
    tree = _tree(out, "ws-acc-0417", "long-line-setup")
    with (tree / "Windows" / "Temp" / "KB2656368.html").open("ab") as fh:
        fh.write(b"<p>" + b"B" * (32 * 1024 * 1024) + b" failed with error 0x800b010e</p>\n")
    cases.append(Case("long-line-setup", "long-line", tree, ["--as-of", "2013-07-01"]))
    tree = _tree(out, "ref-w7-2012q3", "no-newline-cbs")
    (tree / "Windows" / "Logs" / "CBS" / "CBS.log").write_bytes(b"\x00" * (8 * 1024 * 1024))
    cases.append(Case("no-newline-cbs", "long-line", tree, ["--as-of", "2013-07-01"]))
    return cases


CONTAINERS = ("vhdx", "vhd", "vhd-fixed", "vmdk", "e01", "raw", "gpt", "wim-lzx", "esd")


def containers(out: Path) -> list[Case]:
    """Truncations and bit flips of every container format at several offsets."""
    from sample_images.build import build

    built = build(load("ws-acc-0417"), out / "_containers", CONTAINERS)
    cases = []
    for fmt, image in built.items():
        data = image.read_bytes()
        size = len(data)
        cuts = {"header": 512, "early": size // 16, "middle": size // 2, "late": size - 4096}
        for n, (where, length) in enumerate(cuts.items()):
            damaged = out / f"container-{fmt}-truncate-{where}{image.suffix}"
            damaged.write_bytes(data[:length])
            cases.append(Case(damaged.stem, "container", damaged, ["--as-of", "2013-07-01"], slow=n != 1, may_be_unreadable=True))
        for n, offset in enumerate((0, 64, 4096, size // 4, size // 2, size - 8192)):
            flipped = bytearray(data)
            for bit in range(8):
                flipped[(offset + bit * 37) % size] ^= 0x5A
            damaged = out / f"container-{fmt}-flip-{offset}{image.suffix}"
            damaged.write_bytes(bytes(flipped))
            cases.append(Case(damaged.stem, "container", damaged, ["--as-of", "2013-07-01"], slow=n != 3, may_be_unreadable=True))
    return cases


def hostile_wims(out: Path) -> list[Case]:
    from sample_images.hostile_wim import capture_uncompressed, corrupt_content, make_cycle, rename_entry

    base = _tree(out, "ws-acc-0417", "_hostile-tree")
    for extra in ("zz", "yy"):
        (base / "Users" / extra).mkdir()
        shutil.copyfile(base / "Users" / "pcoulson" / "NTUSER.DAT", base / "Users" / extra / "NTUSER.DAT")
    system = (base / "Windows" / "System32" / "config" / "SYSTEM").read_bytes()
    damages = {
        "dotdot": lambda w: rename_entry(w, "zz", ".."),
        "absolute": lambda w: rename_entry(w, "yy", "/e"),
        "separator": lambda w: rename_entry(w, "yy", "a/"),
        "duplicate": lambda w: rename_entry(w, "yy", "zz"),
        "cycle": lambda w: make_cycle(w, "zz", "Users"),
        "bad-hash": lambda w: corrupt_content(w, system[4096:4200]),
    }
    cases = []
    for name, damage in damages.items():
        wim = out / f"hostile-{name}.wim"
        capture_uncompressed(base, wim)
        damage(wim)
        cases.append(Case(f"hostile-{name}", "hostile-wim", wim, ["--as-of", "2013-07-01"], may_be_unreadable=True))
    return cases


GENERATORS: tuple[Callable[[Path], list[Case]], ...] = (
    odd_artefacts,
    trees,
    hive_cells,
    xml_bombs,
    long_lines,
    containers,
    hostile_wims,
)


def generate(out: Path) -> list[Case]:
    out.mkdir(parents=True, exist_ok=True)
    return [case for generator in GENERATORS for case in generator(out)]


if __name__ == "__main__":
    for case in generate(Path(sys.argv[1])):
        print(case.klass, case.name, case.path, " ".join(case.args), "slow" if case.slow else "")
