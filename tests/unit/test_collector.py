"""A scan pauses only the cyclic collector's full passes (imgscan.collector), and every way out of it puts
the process' own threshold back: after nested scans, concurrent scans on threads, and a scan that raised."""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator

import pytest

from imgscan.collector import young_collections_only


@pytest.fixture(autouse=True)
def own_threshold() -> Iterator[tuple[int, int, int]]:
    before = gc.get_threshold()
    gc.set_threshold(500, 7, 9)  # the process' own, not the default, so restoring the default would fail
    yield gc.get_threshold()
    gc.set_threshold(*before)


def test_young_passes_stay_and_full_ones_stop(own_threshold: tuple[int, int, int]) -> None:
    with young_collections_only():
        young, middle, oldest = gc.get_threshold()
        assert (young, middle) == own_threshold[:2] and oldest > 10**9
    assert gc.get_threshold() == own_threshold


def test_nested_and_raising_scans_put_the_threshold_back(own_threshold: tuple[int, int, int]) -> None:
    with pytest.raises(ValueError), young_collections_only():
        with young_collections_only():
            pass
        assert gc.get_threshold()[2] > 10**9  # the outer scan still runs
        raise ValueError("a scan failed")
    assert gc.get_threshold() == own_threshold


def test_overlapping_scans_on_threads_restore_once_the_last_ends(own_threshold: tuple[int, int, int]) -> None:
    first_in, second_in, first_out = threading.Event(), threading.Event(), threading.Event()
    seen: list[int] = []

    def first() -> None:
        with young_collections_only():
            first_in.set()
            second_in.wait(5)
        first_out.set()

    def second() -> None:
        first_in.wait(5)
        with young_collections_only():
            second_in.set()
            first_out.wait(5)
            seen.append(gc.get_threshold()[2])  # the first scan ended: this one is still paused

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert seen and seen[0] > 10**9
    assert gc.get_threshold() == own_threshold
