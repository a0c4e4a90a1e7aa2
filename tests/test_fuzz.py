"""The fuzz harnesses (fuzz/): each runs a short, seeded, fixed number of executions without a crash,
every crash the fuzzers found stays fixed (fuzz/regressions/<harness>/ replayed), and the independent
reference the PE harness compares with agrees with pesign.

The long runs are one command: `python -m fuzz run --minutes 10` (see fuzz/__main__.py)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from fuzz.runner import HARNESSES, REGRESSIONS, harness, regression_files, run, write_seeds
from tests.conftest import REALDATA
from tests.realdata import needs_realdata

REGRESSION_CASES = [pytest.param(name, path, id=f"{name}/{path.name}") for name in HARNESSES for path in regression_files(name)]


@pytest.fixture(scope="module")
def work(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Seed corpora for every harness, built once from the sample images and the real files."""
    work = tmp_path_factory.mktemp("fuzz")
    for name in HARNESSES:
        assert write_seeds(name, work / "seeds" / name) > 0, f"{name} has no seeds"
    return work


@pytest.mark.parametrize("name", HARNESSES)
def test_a_short_seeded_run_finds_nothing(name: str, work: Path) -> None:
    runs = harness(name).LIMITS.ci_runs
    outcome = run(name, work, seed=1, runs=runs, timeout=120)
    assert outcome.returncode == 0 and not outcome.crashes, outcome.log[-4000:]
    assert outcome.executions == runs and outcome.coverage, outcome.log[-2000:]


@pytest.mark.parametrize(("name", "path"), REGRESSION_CASES)
def test_every_crash_found_stays_fixed(name: str, path: Path) -> None:
    harness(name).check(path.read_bytes())


def test_regression_folders_belong_to_harnesses() -> None:
    assert {p.name for p in REGRESSIONS.iterdir() if p.is_dir()} <= set(HARNESSES)
    assert len(REGRESSION_CASES) >= 20


def _programs(count: int) -> list[bytes]:
    """The structure-aware harness' seeds and `count` random programs (a fixed draw)."""
    import random

    draw = random.Random(1)
    return [*harness("lean_tree").seeds(), *(draw.randbytes(draw.randrange(1, 40)) for _ in range(count))]


@needs_realdata
def test_the_structure_aware_harness_reaches_the_lean_reader_with_every_timestamp() -> None:
    """fuzz_lean_tree exists because byte mutations rarely reached the lean catalog reader: most of its
    inputs must reach it, RFC 3161, Authenticode, dual-signed and unsigned catalogs among them (the
    unsigned ones are real catalogs of ../shared/realdata)."""
    lean_tree = harness("lean_tree")
    lean_tree.STATS.clear()
    for program in _programs(300):
        lean_tree.check(program)
    stats = lean_tree.STATS
    assert stats["lean"] >= stats["executions"] // 3, dict(stats)
    assert min(stats["rfc3161"], stats["authenticode"], stats["nested"], stats["unsigned"]) > 0, dict(stats)
    assert stats["asn1crypto"] > 0 and stats["refused"] > 0, dict(stats)  # the mutations do change the shape


def test_a_mutated_tree_is_written_back_as_well_formed_der() -> None:
    """Lengths are recomputed: whatever the steps (other than a length form or tag asked for on purpose),
    the mutated catalog reads back as the same tree, every element's length matching its contents."""
    from fuzz.der_tree import encode, parse
    from fuzz.fuzz_lean_tree import catalogs, mutate_oid
    from fuzz.tree_mutations import Program, apply

    built, _ = catalogs()
    changed = 0
    for program in _programs(200):
        tree = parse(built[program[0] % len(built)])
        steps = apply(tree, Program(program[1:]), mutate_oid)
        data = encode(tree)
        if not {"length", "retag"} & set(steps):  # a retag may pick the high-tag-number form, which the walker refuses
            assert encode(parse(data)) == data
            changed += data != built[program[0] % len(built)]
    assert changed > 100


def _pe_files() -> list[bytes]:
    from fuzz.sources import sample_files

    real = sorted((REALDATA / "boot").glob("*.efi")) if (REALDATA / "boot").is_dir() else []
    return [*sample_files(".efi"), *(p.read_bytes() for p in real)]


@needs_realdata
def test_the_specification_reference_agrees_with_pesign(tmp_path: Path) -> None:
    """The PE harness judges imgscan's image hash by `reference_hash`: that reading of the specification
    must give what pesign gives, on the sample boot managers and the real ones."""
    from fuzz.fuzz_authenticode import reference_hash

    files = _pe_files()
    assert len(files) >= 3
    for number, data in enumerate(files):
        path = tmp_path / f"{number}.efi"
        path.write_bytes(data)
        out = subprocess.run(["pesign", "--hash", "--in", str(path)], capture_output=True, text=True, check=True).stdout
        assert out.split()[-1] == reference_hash(data, "sha256").hex()  # type: ignore[union-attr]
