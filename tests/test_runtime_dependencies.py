"""imgscan runs after the README's plain `setup.sh`, which installs only the project's own dependencies: no
module of imgscan or its checks may import, when loaded, a package that only the `test` extra installs
(pydantic once did, and `preflight` and `fleet` stopped with an internal error for every new user)."""

from __future__ import annotations

import subprocess
import sys

if sys.version_info >= (3, 11):
    import tomllib
else:
    import tomli as tomllib

from tests.conftest import REPO

# the import name of each test-only distribution (pytest is loaded by the test run itself, not by imgscan)
IMPORT_NAMES = {"python-evtx": "Evtx", "virt-firmware": "virt", "pillow": "PIL", "types-PyYAML": None, "pytest": "pytest"}

BLOCKED_IMPORT = """
import importlib, pkgutil, sys
for name in sys.argv[1:]:
    sys.modules[name] = None  # `import name` now raises ImportError
import imgscan
failed = []
for module in pkgutil.walk_packages(imgscan.__path__, "imgscan."):
    if module.name.endswith("__main__"):
        continue
    try:
        importlib.import_module(module.name)
    except ImportError as exc:
        failed.append(f"{module.name}: {exc}")
print("\\n".join(failed))
sys.exit(1 if failed else 0)
"""


def _test_only_packages() -> list[str]:
    extras = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]["optional-dependencies"]
    names = []
    for requirement in extras["test"]:
        distribution = requirement.split(">")[0].split("=")[0].split("[")[0].strip()
        name = IMPORT_NAMES.get(distribution, distribution.replace("-", "_"))
        if name:
            names.append(name)
    return names


def test_no_module_needs_a_test_only_package() -> None:
    blocked = _test_only_packages()
    assert {"jsonschema", "pytest"} <= set(blocked)
    run = subprocess.run([sys.executable, "-c", BLOCKED_IMPORT, *blocked], capture_output=True, text=True, cwd=REPO, timeout=300)
    assert run.returncode == 0, run.stdout + run.stderr
