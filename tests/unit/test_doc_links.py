"""Every relative link of the README and the docs leads to a file of the checkout (docs/formats.md once
linked docs/docs/ci.md)."""

from __future__ import annotations

import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
LINK = re.compile(r"\]\(([^)\s]+)\)")


def test_every_relative_link_leads_to_a_file() -> None:
    pages = [REPO / "README.md", REPO / "CONTRIBUTING.md", *sorted((REPO / "docs").glob("*.md"))]
    checked, broken = 0, []
    for page in pages:
        for link in LINK.findall(page.read_text(encoding="utf-8")):
            if link.startswith(("http://", "https://", "#", "mailto:")):
                continue
            checked += 1
            if not (page.parent / link.split("#")[0]).exists():
                broken.append(f"{page.relative_to(REPO)}: {link}")
    assert checked > 10 and not broken, broken
