"""Shared fixtures: sample images built once per session by sample_images/, and a CLI runner.

The CLI runs as a real subprocess (`python -m imgscan`), so exit codes, stderr
and the absence of tracebacks are tested exactly as a user sees them.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import jsonschema
import pytest

from imgscan import interrupt
from sample_images.build import FORMATS, build, missing_tools
from sample_images.scenario import Scenario, load, write_tree

# real PostgreSQL and Dask servers for the fleet tests
pytest_plugins = ("tests.servers",)

REPO = Path(__file__).resolve().parent.parent
# every scan the tests run keeps its verdict cache in a directory of this session, never in the user's
# (whose entries another checkout of the same version may have written)
os.environ["XDG_CACHE_HOME"] = tempfile.mkdtemp(prefix="imgscan-test-cache-")
REALDATA = REPO.parent / "shared" / "realdata"
# real driver catalogs from PyPI packages, put there by scripts/setup.sh --test (tests/registry_catalogs.toml)
REGISTRY_CATALOGS = Path(sys.prefix) / "share" / "imgscan-tests" / "catalogs"


@dataclass
class Run:
    code: int
    stdout: str
    stderr: str

    @property
    def report(self) -> dict:
        parsed = json.loads(self.stdout)
        if isinstance(parsed, dict) and {"findings", "inventory", "target_firmware"} <= parsed.keys():
            _report_contract().validate(parsed)  # every scan report a test reads holds to the closed schema
        return parsed


@functools.cache
def _report_contract() -> jsonschema.Draft202012Validator:
    from imgscan.report import schema

    return jsonschema.Draft202012Validator(schema())


def run_imgscan(*args: object, cwd: Path | None = None) -> Run:
    proc = subprocess.run(
        [sys.executable, "-m", "imgscan", *map(str, args)], capture_output=True, text=True, cwd=cwd, timeout=300
    )
    return Run(proc.returncode, proc.stdout, proc.stderr)


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def rules_by_path(report: dict) -> set[tuple[str, str]]:
    return {(f["rule"], f["evidence"][0]["path"]) for f in report["findings"]}


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """A test marked `realdata` is skipped, with one line saying why, when ../shared is not beside the checkout."""
    if REALDATA.is_dir():
        return
    skip = pytest.mark.skip(reason=f"{REALDATA} is absent: the test reads real files written by Windows kept beside the checkout")
    for item in items:
        if item.get_closest_marker("realdata"):
            item.add_marker(skip)


@pytest.fixture(autouse=True)
def _tools_present(request: pytest.FixtureRequest) -> None:
    """Tests that build images need the Debian tools; tests/unit needs none of them."""
    if "unit" in request.path.parts:
        return
    missing = missing_tools()
    assert not missing, f"missing {missing}: run `bash scripts/setup.sh --test` (the README's test command)"


@pytest.fixture(autouse=True)
def _signal_handlers():
    """imgscan.cli.main owns its process's SIGINT and SIGTERM handling; a test that calls it in-process gets
    pytest's handlers back afterwards."""
    saved = {number: signal.getsignal(number) for number in (signal.SIGINT, signal.SIGTERM)}
    yield
    interrupt.install()  # a signal a test received is forgotten: it belongs to that test's run
    for number, handler in saved.items():
        signal.signal(number, handler)


@pytest.fixture(scope="session")
def images(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, Path]]:
    """{scenario: {format: path}} for the ws-acc-0417 and healthy scenarios in every format."""
    out = tmp_path_factory.mktemp("images")
    return {name: build(load(name), out / name, FORMATS) for name in ("ws-acc-0417", "healthy")}


@pytest.fixture(scope="session")
def tree_copy(tmp_path_factory: pytest.TempPathFactory) -> Callable[[str, Path], Path]:
    """A scenario's volume as a folder, copied into a test's own folder to be damaged there:
    `tree_copy("healthy", tmp_path)`. Each scenario is written once per run."""
    written: dict[str, Path] = {}

    def copy(name: str, into: Path) -> Path:
        if name not in written:
            written[name] = write_tree(load(name), tmp_path_factory.mktemp(name) / name)
        tree = into / "volume"
        shutil.copytree(written[name], tree, symlinks=True)
        return tree

    return copy


@pytest.fixture
def variant(tmp_path: Path) -> Callable[..., Path]:
    """Build a changed copy of a scenario: variant("ws-acc-0417", change, fmt) -> image path."""

    def make(name: str, change: Callable[[Scenario], None], fmt: str = "vhdx") -> Path:
        scenario = load(name)
        change(scenario)
        return build(scenario, tmp_path, (fmt,))[fmt]

    return make
