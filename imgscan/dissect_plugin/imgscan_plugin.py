"""The `imgscan` namespace of dissect.target plugins: imgscan's findings and catalogs as records.

dissect loads this file by its path (see the package's docstring), for any target its tools open: a disk
image, a VM export, a collection. The plugin hands the target's Windows volume to imgscan's own scan
(imgscan.image.open_target, the volume seam every backend uses), so the records are those of
`imgscan scan -f json` on the same input; their fields are declared once, in imgscan.views.records.
`--as-of` and `--horizon` mean what they mean for `imgscan scan`.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime, timezone
from typing import TYPE_CHECKING, Any

from dissect.target.exceptions import UnsupportedPluginError
from dissect.target.helpers.record import TargetRecordDescriptor
from dissect.target.plugin import Plugin, arg, export

from imgscan.errors import ImgscanError
from imgscan.report import Report
from imgscan.views.records import CATALOG_FIELDS, CATALOG_NAME, FINDING_FIELDS, FINDING_NAME, catalog_values, finding_values

if TYPE_CHECKING:
    from imgscan.loader import LoadedChecks
    from imgscan.scan import Loaded

FindingRecord = TargetRecordDescriptor(FINDING_NAME, FINDING_FIELDS)
CatalogRecord = TargetRecordDescriptor(CATALOG_NAME, CATALOG_FIELDS)


def _day(text: str | None) -> date:
    """--as-of's day (default: today, UTC, as for `imgscan scan`)."""
    return date.fromisoformat(text) if text else datetime.now(timezone.utc).date()


class ImgscanPlugin(Plugin):
    """imgscan's scan of the target's Windows volume: read once per target, judged once per day and horizon."""

    __namespace__ = "imgscan"

    def __init__(self, target: Any) -> None:
        super().__init__(target)
        self._reports: dict[tuple[date, int], Report] = {}
        self._loaded: tuple[Loaded, LoadedChecks] | None = None

    def check_compatible(self) -> None:
        from imgscan.image.volume import windows_filesystem

        if windows_filesystem(self.target)[0] is None:
            raise UnsupportedPluginError("no filesystem of the target holds Windows\\System32\\config")

    def _report(self, as_of: str | None, horizon: int) -> Report:
        from imgscan.context import ScanContext
        from imgscan.image import open_target
        from imgscan.loader import load_checks
        from imgscan.scan import judge, read

        key = (_day(as_of), horizon)
        if key not in self._reports:
            try:
                if self._loaded is None:
                    checks = load_checks()
                    self._loaded = (read(open_target(self.target), checks), checks)
                loaded, checks = self._loaded
                result = judge(loaded, checks, ScanContext(as_of=key[0], horizon_days=horizon))
            except ImgscanError as exc:  # one line in target-query's log, as imgscan itself says it
                raise UnsupportedPluginError(str(exc)) from exc
            self._reports[key] = result.report
        return self._reports[key]

    @arg("--as-of", help="judge the image as of this day (YYYY-MM-DD; default: today, UTC)")
    @arg("--horizon", type=int, default=365, help="also report what starts failing within this many days")
    @export(record=FindingRecord)
    def findings(self, as_of: str | None = None, horizon: int = 365) -> Iterator[Any]:
        """imgscan's findings: predicted and observed Windows Update failures, with rule, severity and start day."""
        for values in finding_values(self._report(as_of, horizon)):
            yield FindingRecord(**values, _target=self.target)

    @arg("--as-of", help="judge the catalogs as of this day (YYYY-MM-DD; default: today, UTC)")
    @export(record=CatalogRecord)
    def catalogs(self, as_of: str | None = None) -> Iterator[Any]:
        """Every catalog of the image: signer, timestamp kind, status and the days its signature is valid."""
        for values in catalog_values(self._report(as_of, 365)):
            yield CatalogRecord(**values, _target=self.target)
