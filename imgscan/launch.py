"""The process's entry, the `imgscan` console script and `python -m imgscan`: Ctrl-C and SIGTERM are caught
from the first line of imgscan's own code, before the command line's modules are imported (a tenth to a
quarter of a second), so that a signal then ends in one line and 128 + its number too, not a
`KeyboardInterrupt` traceback or a silent 143. (What Python does before it runs this, its own start-up,
is Python's.)

A signal that comes during the imports waits for their end: raised inside an extension module's
initialisation, an exception can crash the interpreter (orjson's did, exit 139, about one Ctrl-C in
thirty in that tenth of a second). Until imgscan.interrupt takes over, only the signal module is used."""

from __future__ import annotations

import signal

_came: list[int] = []  # a signal that arrived before imgscan.interrupt took over


def _early(signum: int, _frame: object) -> None:
    for number in (signal.SIGINT, signal.SIGTERM):  # the first one decides; the run ends at once anyway
        signal.signal(number, signal.SIG_IGN)
    _came.append(signum)


def run() -> None:
    for number in (signal.SIGINT, signal.SIGTERM):
        signal.signal(number, _early)
    from imgscan import interrupt

    if _came:
        _stopped(_came[0])
    interrupt.install()
    try:
        with interrupt.deferred(), interrupt.doing("starting"):
            from imgscan.cli.app import run as run_command
        run_command()  # main() takes every signal over from its first line, and never returns
    except interrupt.Interrupted as exc:  # nothing was read or written yet
        _stopped(exc.signum)


def _stopped(signum: int) -> None:
    import os
    import sys

    what = "terminated (SIGTERM)" if signum == signal.SIGTERM else "interrupted"
    sys.stderr.write(f"imgscan: {what} while starting; nothing was written\n")
    sys.stderr.flush()
    os._exit(128 + signum)
