"""imgscan inside dissect.target: `target-query -f imgscan.findings IMAGE` and `-f imgscan.catalogs`.

dissect's tools load external plugins from the directories given with `--plugin-path DIR` or in the
`DISSECT_PLUGINS` environment variable (every `.py` file below them except `__init__.py`). This package's
folder is such a directory: its one plugin file, `imgscan_plugin.py`, registers the `imgscan` namespace
(no other module may live here: dissect would run it as a plugin file).
"""

from __future__ import annotations

from pathlib import Path

PLUGIN_DIR = Path(__file__).resolve().parent
