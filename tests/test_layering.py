"""Data flows one way: image -> artefacts -> checks -> report -> renderers. The renderers (views, timeline,
diff, fleet summary, fix scripts) work on the report alone: none imports image, artefact, parser or
dissect code, at module level or inside a function."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from tests.conftest import REPO

RENDERERS = (
    sorted((REPO / "imgscan" / "views").glob("*.py"))
    + [REPO / "imgscan" / name for name in ("timeline.py", "diff.py", "fixes.py", "correlate.py", "explain.py", "gate.py")]
    + [REPO / "imgscan" / "fleet" / "summary.py"]
)
LOWER_LAYERS = (
    "imgscan.image",
    "imgscan.artefacts",
    "imgscan.hives",
    "imgscan.accounts",
    "imgscan.signing.catalog",
    "imgscan.signing.certs",
    "imgscan.signing.validity",
    "imgscan.signing.trust_store",
    "imgscan.servicing",
    "imgscan.logs",
    "imgscan.scan",
    "imgscan.plugins",
    "dissect",
    "Registry",
    "asn1crypto",
    "cryptography",
)


def _imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


@pytest.mark.parametrize("path", RENDERERS, ids=lambda p: str(p.relative_to(REPO)))
def test_renderers_depend_only_on_the_report(path):
    wrong = sorted(n for n in _imports(path) if n.startswith(LOWER_LAYERS))
    assert not wrong, f"{path.name} imports {wrong}"
