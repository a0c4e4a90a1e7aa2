"""Reports of the bundled sample images are byte-identical to the saved ones (tests/data/golden): a change
that moves any finding, evidence or inventory entry shows up here, and is either a bug or is
re-saved with `python -m tests.golden` and reviewed in the diff."""

from __future__ import annotations

import pytest

from tests.golden import CASES, SAVED, report


@pytest.mark.parametrize("name", sorted(CASES))
def test_report_is_byte_identical_to_the_saved_one(name):
    image, as_of = CASES[name]
    saved = (SAVED / name).read_text(encoding="utf-8")
    assert report(image, as_of) == saved
