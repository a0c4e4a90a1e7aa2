"""Find the checks and the kinds they read: the built-in ones, modules named by `imgscan.plugins` entry
points, and third-party files from `--plugins DIR`.

A `Kind` defined at module level in a plugin module is registered (after the built-in kinds, in the
order the modules load), so a plugin can add a kind of artefact and a check that reads it. A
third-party module that fails to import, a check that reuses a rule id, names a kind no module
registers or names kinds by string, is an `errors` entry and is skipped; it never stops the built-in
checks. The CLI refuses such plugins before it scans (a usage error, exit 2): a gate must not pass
because a check it was given never ran.
"""

from __future__ import annotations

import importlib
import importlib.util
import inspect
import pkgutil
from dataclasses import dataclass, field
from importlib.metadata import entry_points
from pathlib import Path
from types import ModuleType
from typing import Any

from imgscan.artefacts import builtin_registry
from imgscan.check import Check, Rule
from imgscan.interrupt import doing
from imgscan.kinds import Kind, KindRegistry

ENTRY_POINTS = "imgscan.plugins"  # the group a package names its plugin modules in


@dataclass
class LoadedChecks:
    checks: list[Check] = field(default_factory=list)
    errors: list[dict[str, str]] = field(default_factory=list)
    kinds: KindRegistry = field(default_factory=builtin_registry)

    @property
    def rules(self) -> list[Rule]:
        return [rule for check in self.checks for rule in check.rules]

    def reads(self) -> list[Kind[Any]]:
        """Every kind the checks read, with the kinds those require: what a scan running them loads."""
        return self.kinds.closure(kind for check in self.checks for kind in check.reads())

    def within(self, kinds: tuple[Kind[Any], ...]) -> LoadedChecks:
        """The checks that read nothing beyond these kinds and those they require (a listing's checks)."""
        allowed = set(self.kinds.closure(kinds))
        return LoadedChecks([c for c in self.checks if set(c.reads()) <= allowed], list(self.errors), self.kinds)

    def add_module(self, module: ModuleType, origin: str) -> None:
        for kind in [value for value in vars(module).values() if isinstance(value, Kind)]:  # in the order defined
            try:
                self.kinds.register(kind)
            except ValueError as exc:
                self.errors.append({"path": origin, "message": f"{exc}; skipped"})
        known = {rule.id for rule in self.rules}
        for _, cls in sorted(inspect.getmembers(module, inspect.isclass)):
            if not issubclass(cls, Check) or cls is Check or cls.__module__ != module.__name__:
                continue
            problem = self._problem(cls, known)
            if problem:
                self.errors.append({"path": origin, "message": f"check {cls.__name__} {problem}; skipped"})
                continue
            self.checks.append(cls())
            known |= {rule.id for rule in cls.rules}

    def _problem(self, cls: type[Check], known: set[str]) -> str | None:
        clashes = sorted(known & {rule.id for rule in cls.rules})
        if clashes:
            return f"reuses rule id(s) {', '.join(clashes)}"
        named = cls.needs + cls.uses
        strings = [repr(k) for k in named if not isinstance(k, Kind)]
        if strings:
            return f"names kinds by string ({', '.join(strings)}): name the Kind objects (imgscan.artefacts or a plugin's)"
        unknown = sorted({k.name for k in named if k not in self.kinds})
        if unknown:
            return f"needs kind(s) no module registers: {', '.join(unknown)}"
        return None


def load_checks(extra_dirs: list[Path] | None = None) -> LoadedChecks:
    with doing("loading the checks"):
        return _load(extra_dirs or [])


def _load(extra_dirs: list[Path]) -> LoadedChecks:
    loaded = LoadedChecks()
    package = importlib.import_module("imgscan.plugins")
    for info in sorted(pkgutil.iter_modules(package.__path__), key=lambda i: i.name):
        loaded.add_module(importlib.import_module(f"imgscan.plugins.{info.name}"), f"imgscan.plugins.{info.name}")
    for point in sorted(entry_points(group=ENTRY_POINTS), key=lambda p: p.name):
        origin = f"entry point {point.name} ({point.value})"
        try:
            found = point.load()  # the plugin's module, or anything defined in it
            module = found if isinstance(found, ModuleType) else importlib.import_module(found.__module__)
        except Exception as exc:  # a third-party module may raise anything on import
            loaded.errors.append({"path": origin, "message": f"plugin failed to load: {type(exc).__name__}: {exc}"})
            continue
        loaded.add_module(module, origin)
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
