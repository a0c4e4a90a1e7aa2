"""Imports point down the layers of the design (DESIGN-23, lowest first), never up, and form no cycle: at
module level, inside functions and under TYPE_CHECKING alike. Data flows one way: image -> artefacts ->
checks -> scan -> report -> renderers; the renderers (views, timeline, diff, fleet summary, fix scripts)
work on the report alone and import no image, artefact, parser or dissect code."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from tests.conftest import REPO

# lowest first; a module belongs to the longest name it starts with (`imgscan.fleet.summary` before `imgscan.fleet`)
LAYERS: dict[int, tuple[str, ...]] = {
    0: ("imgscan.report",),  # the report's types: a leaf, so every layer may use them
    1: ("imgscan", "imgscan.errors", "imgscan.progress", "imgscan.interrupt", "imgscan.data", "imgscan.hashing",
        "imgscan.errorcodes", "imgscan.severity", "imgscan.undecodable", "imgscan.external", "imgscan.numerals",
        "imgscan.collector", "imgscan.utc", "imgscan.yaml_safe"),
    2: ("imgscan.image",),
    3: ("imgscan.hives", "imgscan.accounts", "imgscan.wintrust", "imgscan.servicing", "imgscan.servicing_levels",
        "imgscan.os_version", "imgscan.logs", "imgscan.signing"),
    4: ("imgscan.context", "imgscan.timing", "imgscan.hosts"),
    5: ("imgscan.kinds", "imgscan.artefacts"),
    6: ("imgscan.check", "imgscan.check_reuse", "imgscan.logcheck"),
    7: ("imgscan.plugins", "imgscan.loader"),
    8: ("imgscan.scan", "imgscan.correlate", "imgscan.gate", "imgscan.ignore", "imgscan.preflight"),
    9: ("imgscan.views", "imgscan.timeline", "imgscan.diff", "imgscan.fixes", "imgscan.explain", "imgscan.fleet.summary"),
    10: ("imgscan.fleet", "imgscan.cli", "imgscan.__main__", "imgscan.launch", "imgscan.dissect_plugin"),
}  # fmt: skip

PREFLIGHT_CONTRACT = "imgscan.preflight.report"
RENDERERS = (
    sorted((REPO / "imgscan" / "views").glob("*.py"))
    + [REPO / "imgscan" / name for name in ("timeline.py", "diff.py", "fixes.py", "correlate.py", "explain.py", "gate.py")]
    + [REPO / "imgscan" / "fleet" / "summary.py"]
)
BELOW_THE_REPORT = (
    "imgscan.image",
    "imgscan.artefacts",
    "imgscan.hives",
    "imgscan.accounts",
    "imgscan.wintrust",
    "imgscan.signing",
    "imgscan.servicing",
    "imgscan.os_version",
    "imgscan.logs",
    "imgscan.scan",
    "imgscan.preflight",
    "imgscan.loader",
    "imgscan.plugins",
    "dissect",
    "Registry",
    "asn1crypto",
    "cryptography",
)


def modules(root: Path) -> dict[str, Path]:
    """Every module of imgscan/ and plugins/ (installed as imgscan.plugins) by its dotted name."""
    found = {}
    for path in [*(root / "imgscan").rglob("*.py"), *(root / "plugins").glob("*.py")]:
        relative = path.relative_to(root).with_suffix("")
        parts = ("imgscan", *relative.parts) if relative.parts[0] == "plugins" else relative.parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        found[name] = path
    return found


def layer(name: str) -> int | None:
    best: tuple[int, int] | None = None  # (length of the matching name, layer)
    for number, names in LAYERS.items():
        for declared in names:
            if name == declared or (declared != "imgscan" and name.startswith(declared + ".")):
                if best is None or len(declared) > best[0]:
                    best = (len(declared), number)
    return best[1] if best else None


def imports(name: str, path: Path, known: dict[str, Path]) -> set[str]:
    """The imgscan modules `name` imports anywhere in its file (a submodule named in `from package import
    submodule` is the module imported), and the names of other packages it imports."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative: from the package, one level up per dot after the first
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            submodules = {f"{base}.{alias.name}" for alias in node.names} & known.keys()
            found |= submodules or {base}
        elif isinstance(node, ast.Call) and getattr(node.func, "attr", getattr(node.func, "id", "")) == "import_module":
            if node.args and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str):
                found.add(node.args[0].value)
    return {_known(target, known) for target in found} - {name}


def _known(target: str, known: dict[str, Path]) -> str:
    """The module an import names: the longest known imgscan module it is or lies in (other packages as named)."""
    parts = target.split(".")
    for end in range(len(parts), 0, -1):
        if ".".join(parts[:end]) in known:
            return ".".join(parts[:end])
    return target


def graph(root: Path) -> dict[str, set[str]]:
    known = modules(root)
    return {name: {t for t in imports(name, path, known) if t in known} for name, path in known.items()}


def upward(root: Path) -> list[str]:
    """Imports that point to a higher layer, and modules no layer declares."""
    problems = []
    for name, targets in sorted(graph(root).items()):
        own = layer(name)
        if own is None:
            problems.append(f"{name} is in no layer: add it to LAYERS")
            continue
        for target in sorted(targets):
            theirs = layer(target)
            if theirs is not None and theirs > own:
                problems.append(f"{name} (layer {own}) imports {target} (layer {theirs})")
        outside = sorted(t for t in targets if layer(t) != 0)  # the report's modules may use one another
        if own == 0 and outside:
            problems.append(f"{name} is the report's leaf module but imports {outside}")
    return problems


def cycles(root: Path) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan, iterative)."""
    edges = graph(root)
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found = []
    for start in sorted(edges):
        if start in index:
            continue
        work = [(start, iter(sorted(edges[start])))]
        index[start] = low[start] = len(index)
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(edges[child]))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(sorted(component))
    return found


def test_imports_point_down_the_layers():
    assert upward(REPO) == []


def test_no_import_cycle():
    assert cycles(REPO) == []


@pytest.mark.parametrize("path", RENDERERS, ids=lambda p: str(p.relative_to(REPO)))
def test_renderers_depend_only_on_the_report(path):
    known = modules(REPO)
    name = next(n for n, p in known.items() if p == path)
    # the preflight report's contract is types only, like imgscan.report: what the preflight views render
    wrong = sorted(n for n in imports(name, path, known) if n.startswith(BELOW_THE_REPORT) and n != PREFLIGHT_CONTRACT)
    assert not wrong, f"{path.name} imports {wrong}"


def test_the_checks_see_what_they_are_for(tmp_path):
    """Upward imports hidden in a function or under TYPE_CHECKING, a cycle, a module in no layer and a
    report module that imports are all caught."""
    files = {
        "imgscan/__init__.py": "",
        "imgscan/image/__init__.py": "def later():\n    from imgscan.scan import scan\n",
        "imgscan/scan.py": "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from imgscan import views\n",
        "imgscan/views/__init__.py": "",
        "imgscan/views/a.py": "from imgscan.views import b\n",
        "imgscan/views/b.py": "import imgscan.views.a\n",
        "imgscan/report.py": "from imgscan.errors import ImgscanError\n",
        "imgscan/errors.py": "",
        "imgscan/stray.py": "",
        "plugins/check_x.py": "from .other import y\n",
        "plugins/other.py": "from imgscan.cli import main\n",
        "imgscan/cli/__init__.py": "",
    }
    for relative, text in files.items():
        (tmp_path / relative).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / relative).write_text(text)
    assert upward(tmp_path) == [
        "imgscan.image (layer 2) imports imgscan.scan (layer 8)",
        "imgscan.plugins.other (layer 7) imports imgscan.cli (layer 10)",
        "imgscan.report (layer 0) imports imgscan.errors (layer 1)",
        "imgscan.report is the report's leaf module but imports ['imgscan.errors']",
        "imgscan.scan (layer 8) imports imgscan.views (layer 9)",
        "imgscan.stray is in no layer: add it to LAYERS",
    ]
    assert cycles(tmp_path) == [["imgscan.views.a", "imgscan.views.b"]]
    assert graph(tmp_path)["imgscan.plugins.check_x"] == {"imgscan.plugins.other"}


def test_every_declared_name_is_in_one_layer():
    declared = [name for names in LAYERS.values() for name in names]
    assert len(declared) == len(set(declared))
    assert all(layer(name) == number for number, names in LAYERS.items() for name in names)
