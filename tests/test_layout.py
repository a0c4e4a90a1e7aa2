"""The layout stays readable: no module of imgscan/ or plugins/ grows past 400 lines (split it by job
first), and no two types share a name (a reader, a traceback or a `from ... import` must never have to
guess which `Inventory` is meant)."""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

from tests.conftest import REPO

MAX_LINES = 400


def sources(root: Path) -> list[Path]:
    return sorted([*(root / "imgscan").rglob("*.py"), *(root / "plugins").glob("*.py")])


def long_modules(root: Path) -> dict[str, int]:
    """Modules over MAX_LINES lines, with their length."""
    lengths = {str(p.relative_to(root)): len(p.read_text(encoding="utf-8").splitlines()) for p in sources(root)}
    return {name: lines for name, lines in lengths.items() if lines > MAX_LINES}


def shared_type_names(root: Path) -> dict[str, list[str]]:
    """Class names defined more than once (at any depth), with where each is defined."""
    defined: dict[str, list[str]] = defaultdict(list)
    for path in sources(root):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ClassDef):
                defined[node.name].append(f"{path.relative_to(root)}:{node.lineno}")
    return {name: places for name, places in defined.items() if len(places) > 1}


def test_no_module_is_over_400_lines():
    assert not long_modules(REPO), "split these modules by job"


def test_no_two_types_share_a_name():
    assert not shared_type_names(REPO)


def test_the_checks_see_what_they_are_for(tmp_path):
    (tmp_path / "imgscan" / "views").mkdir(parents=True)
    (tmp_path / "plugins").mkdir()
    (tmp_path / "imgscan" / "views" / "big.py").write_text("\n".join(f"x{i} = {i}" for i in range(401)) + "\n")
    (tmp_path / "imgscan" / "report.py").write_text("class Inventory:\n    pass\n")
    (tmp_path / "plugins" / "check.py").write_text("class Outer:\n    class Inventory:\n        pass\n")
    assert long_modules(tmp_path) == {"imgscan/views/big.py": 401}
    assert shared_type_names(tmp_path) == {"Inventory": ["imgscan/report.py:1", "plugins/check.py:2"]}
