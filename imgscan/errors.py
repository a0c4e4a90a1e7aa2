"""Errors a user can act on: each renders as one line naming the file, the problem and what to do."""

from __future__ import annotations

from xml.etree.ElementTree import ParseError

from defusedxml.common import DefusedXmlException

# What defusedxml's fromstring raises on hostile bytes: malformed XML (ParseError), entity or DTD
# declarations (DefusedXmlException), a declared encoding Python does not know (LookupError) or expat
# cannot read (ValueError, "multi-byte encodings are not supported"); fuzz/fuzz_update_manifest.py.
XML_ERRORS = (ParseError, DefusedXmlException, LookupError, ValueError)


class ImgscanError(Exception):
    """An input imgscan cannot use; `str()` is the one-line message shown to the user."""

    def __init__(self, path: str, problem: str, advice: str = "") -> None:
        self.path = path
        self.problem = problem
        self.advice = advice
        super().__init__(f"{path}: {problem}" + (f" ({advice})" if advice else ""))


class UnreadableImage(ImgscanError):
    """The image (or a file it depends on, like a VHD parent) cannot be opened at all."""


class NotAnImage(UnreadableImage):
    """The file's header names none of the formats imgscan reads: a caller that also takes other files
    (diff takes saved reports) says so in its advice."""
