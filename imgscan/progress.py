"""Progress bars for long work: tqdm on stderr, and silent when stderr is not a terminal."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from typing import TypeVar

from tqdm import tqdm

T = TypeVar("T")

# --no-progress / -q turn every bar off (they are already off when stderr is not a terminal)
ENABLED = {"progress": True}


def _disabled() -> bool:
    return not ENABLED["progress"] or not sys.stderr.isatty()


def byte_bar(description: str, total: int | None) -> tqdm:
    """A byte-counting bar (for hashing large images; total None when unknown); update it with the bytes done."""
    return tqdm(
        desc=description,
        total=total,
        unit="B",
        unit_scale=True,
        file=sys.stderr,
        disable=_disabled(),
        leave=False,
    )


def item_bar(items: list[T], description: str, unit: str) -> Iterator[T]:
    """Iterate `items` behind a counting bar."""
    return iter(tqdm(items, desc=description, unit=unit, file=sys.stderr, disable=_disabled(), leave=False))
