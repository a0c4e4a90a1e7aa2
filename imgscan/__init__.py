"""imgscan: predict Windows Update failures from an offline Windows image."""

from __future__ import annotations

# where a user reports a bug (an internal error names it); pyproject.toml's [project.urls] says the same
ISSUES_URL = "https://github.com/imgscan/imgscan/issues"


def __getattr__(name: str) -> str:
    """`__version__`, read from the installed metadata when first asked for: importing importlib.metadata
    takes a few hundredths of a second, and the package is imported before imgscan.launch can catch Ctrl-C."""
    if name != "__version__":
        raise AttributeError(f"module 'imgscan' has no attribute {name!r}")
    from importlib.metadata import PackageNotFoundError, version

    try:
        found = version("imgscan")
    except PackageNotFoundError:  # running from a source tree that was never installed
        found = "0+unknown"
    globals()["__version__"] = found
    return found
