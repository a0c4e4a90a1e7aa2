"""Find the checks: the built-in ones in imgscan.plugins, and third-party files from `--plugins DIR`.

A third-party file that fails to import, or that reuses a rule id, is an
`errors` entry and is skipped; it never stops the built-in checks. The CLI
refuses such a `--plugins DIR` before it scans (a usage error, exit 2): a gate
must not pass because a check it was given never ran.
"""

from __future__ import annotations

import importlib
import importlib.util
import inspect
import pkgutil
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType

from imgscan.check import Check, Rule
from imgscan.interrupt import doing


@dataclass
class LoadedChecks:
    checks: list[Check] = field(default_factory=list)
    errors: list[dict[str, str]] = field(default_factory=list)

    @property
    def rules(self) -> list[Rule]:
        return [rule for check in self.checks for rule in check.rules]

    def add_module(self, module: ModuleType, origin: str) -> None:
        known = {rule.id for rule in self.rules}
        for _, cls in sorted(inspect.getmembers(module, inspect.isclass)):
            if not issubclass(cls, Check) or cls is Check or cls.__module__ != module.__name__:
                continue
            clashes = sorted(known & {rule.id for rule in cls.rules})
            if clashes:
                message = f"check {cls.__name__} reuses rule id(s) {', '.join(clashes)}; skipped"
                self.errors.append({"path": origin, "message": message})
                continue
            self.checks.append(cls())
            known |= {rule.id for rule in cls.rules}


def load_checks(extra_dirs: list[Path] | None = None) -> LoadedChecks:
    with doing("loading the checks"):
        return _load(extra_dirs or [])


def _load(extra_dirs: list[Path]) -> LoadedChecks:
    loaded = LoadedChecks()
    package = importlib.import_module("imgscan.plugins")
    for info in sorted(pkgutil.iter_modules(package.__path__), key=lambda i: i.name):
        loaded.add_module(importlib.import_module(f"imgscan.plugins.{info.name}"), f"imgscan.plugins.{info.name}")
    for directory in extra_dirs:
        for path in sorted(directory.glob("*.py")):
            try:
                module = _import_file(path)
            except Exception as exc:  # a third-party file may raise anything on import
                loaded.errors.append({"path": str(path), "message": f"plugin failed to load: {type(exc).__name__}: {exc}"})
                continue
            loaded.add_module(module, str(path))
    return loaded


def _import_file(path: Path) -> ModuleType:
    name = f"imgscan_external.{path.stem}"
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot import {path}")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
