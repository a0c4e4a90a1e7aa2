"""The bundled roots, parsed in the catalog workers' fork server (`catalog_workers` preloads this module).

Each worker receives the scan's `Judge`, whose trust store holds the few hundred bundled roots; a
certificate is unpickled as its DER and parsed by the receiving process unless it already holds it
parsed (`certs.shared_cert`). Parsing them here, once, before the server forks any worker, means every
worker inherits them parsed: 0.2 to 0.4 s of CPU less per worker, which on two cores was a large part
of what `--jobs 2` lost against `--jobs 1` on an image of a few thousand catalogs.
"""

from __future__ import annotations

from imgscan.signing.trust_store import bundled_roots

ROOTS = bundled_roots()  # held here for the server's lifetime: the shared registry keeps only weak references
