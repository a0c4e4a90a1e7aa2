"""Progress bars for long work: tqdm on stderr, and silent when stderr is not a terminal."""

from __future__ import annotations

import sys
from collections.abc import Iterable, Iterator
from typing import TypeVar

from tqdm import tqdm

T = TypeVar("T")


def progress(items: Iterable[T], description: str, total: int | None = None, unit: str = "it") -> Iterator[T]:
    """Wrap `items` in a progress bar shown only to a person watching a terminal."""
    return iter(
        tqdm(items, desc=description, total=total, unit=unit, file=sys.stderr, disable=not sys.stderr.isatty(), leave=False)
    )


def byte_bar(description: str, total: int) -> tqdm:
    """A byte-counting bar (for hashing large images); update it with the bytes done."""
    return tqdm(
        desc=description, total=total, unit="B", unit_scale=True, file=sys.stderr, disable=not sys.stderr.isatty(), leave=False
    )
