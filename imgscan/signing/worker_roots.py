"""The bundled roots, read in the catalog workers' fork server (`catalog_workers` preloads this module).

Each worker receives the scan's `Judge`, whose trust store refers to the process' bundled roots
(`trust_store.bundled`): reading the bundle here, once, before the server forks any worker, means every
worker inherits it read, and parses only the roots its chains reach, each once.
"""

from __future__ import annotations

from imgscan.signing.trust_store import bundled

ROOTS = bundled()
