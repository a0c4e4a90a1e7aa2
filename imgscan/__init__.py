"""imgscan: predict Windows Update failures from an offline Windows image."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("imgscan")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0+unknown"

# where a user reports a bug (an internal error names it); pyproject.toml's [project.urls] says the same
ISSUES_URL = "https://github.com/imgscan/imgscan/issues"
