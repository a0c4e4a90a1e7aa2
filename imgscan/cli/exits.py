"""Exit codes, the same in every command so that a CI system can act on them, and the one-line messages
of a run that ends in a bug or an interruption.

  0    pass: no finding at or above --fail-on (diff: no new one)
  1    at least one finding at or above --fail-on that no ignore entry accepts (diff: a new one)
  2    usage error (checked before any scanning), unreadable input, unwritable output, nothing could be checked
  3    internal error: a bug in imgscan; the message says where to report it
  130  interrupted by Ctrl-C (SIGINT); 143 terminated (SIGTERM): 128 + the signal, as a shell reports it
"""

from __future__ import annotations

import signal

from imgscan import ISSUES_URL, interrupt
from imgscan.cli.outputs import written

EXIT_CLEAN = 0
EXIT_FINDINGS = 1
EXIT_ERROR = 2  # usage error, unreadable input, unwritable output
EXIT_INTERNAL = 3  # a bug in imgscan
# interrupted: 128 + the signal's number (interrupt.Interrupted.exit_code), 130 for SIGINT, 143 for SIGTERM
_OTHER_EXITS = "3 internal error (a bug in imgscan: please report it); 130 interrupted (Ctrl-C); 143 terminated (SIGTERM)"
EXIT_CODES = (
    "exit codes: 0 pass; 1 a finding at or above --fail-on; 2 usage error, unreadable input or unwritable output; " + _OTHER_EXITS
)
DIFF_EXIT_CODES = (
    "exit codes: 0 no new or worsened finding at or above --fail-on; 1 one (counted once per cause); 2 usage error, "
    "unreadable input or unwritable output; " + _OTHER_EXITS
)
FLEET_EXIT_CODES = (
    "exit codes: 0 no host has a finding at or above --fail-on; 1 a host has one (or an update of --updates will not "
    "install); 2 usage error, unwritable output, a host whose image could not be read, an update of --updates that "
    "could not be read, or a run shown unfinished (when no host has a finding at or above --fail-on); " + _OTHER_EXITS
)
# the commands that list or explain and judge no gate: they have no --fail-on
LISTING_EXIT_CODES = "exit codes: 0 done; 2 usage error, unreadable input or unwritable output; " + _OTHER_EXITS
# packages and catalogs read SOFTWARE (package registrations, the image's root stores): without it they list what
# the files tell, say what is unknown, and exit 2
HIVE_LISTING_EXIT_CODES = (
    "exit codes: 0 done; 2 usage error, unreadable input, unwritable output, or a SOFTWARE hive that could not be "
    "read (the listing is written, saying what is unknown); " + _OTHER_EXITS
)
PREFLIGHT_EXIT_CODES = (
    "exit codes: 0 every update read installs (or is installed, superseded, not applicable, or cannot be told); "
    "1 an update will not install; 2 usage error, unreadable image, an update that could not be read, or unwritable "
    "output; " + _OTHER_EXITS
)


def internal_error(exc: Exception) -> str:
    """One line for a bug: what broke, and where to report it (with the traceback --debug prints)."""
    detail = (str(exc).strip().splitlines() or [""])[0]
    what = f"{type(exc).__name__}: {detail}" if detail else type(exc).__name__
    where = f"please report it at {ISSUES_URL} with the command and the output of --debug"
    return f"internal error (a bug in imgscan): {what}; {where}"


def crashes(checks: list[str], image: object) -> str:
    """One line for checks that crashed: the scan is not whole, so the gate does not pass (exit 3)."""
    return f"{image}: check {', '.join(checks)} crashed (a bug), so its findings are missing and {crashed_gate()}"


def crashed_gate() -> str:
    """What a crashed check means for the gate, and where to report it."""
    return f"the gate cannot pass; please report it at {ISSUES_URL} with the command and the output of --debug"


def interruption(exc: KeyboardInterrupt) -> str:
    """One line: what stopped the run, what it was doing, and what it kept."""
    stopped = isinstance(exc, interrupt.Interrupted) and exc.signum == signal.SIGTERM
    line = "terminated (SIGTERM)" if stopped else "interrupted"
    during = getattr(exc, "during", "")
    line += f" while {during}" if during else ""
    kept = getattr(exc, "kept", None)
    if kept is None:
        done = written
        kept = "nothing was written" if not done else f"only {', '.join(done)} {'was' if len(done) == 1 else 'were'} written"
    return f"{line}; {kept}"
