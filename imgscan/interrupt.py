"""Ctrl-C and SIGTERM: a clean way out, and what imgscan was doing when it was stopped.

`install()` (the CLI calls it first thing) makes the first SIGINT or SIGTERM raise `Interrupted` in the
main thread, which unwinds every `with` and `finally` on the way out: the WIM's temporary directory,
worker pools, a report being written. Later signals are ignored so that this clean-up runs to its end
(SIGKILL still ends the process at once). The exit status is 128 + the signal's number, what a shell
reports for a process the signal killed (130 for Ctrl-C, 143 for SIGTERM), so a CI system can tell a
cancelled job from a failed one.

`deferred()` closes the one gap `finally` leaves: between creating a temporary file or directory and
registering its removal, a signal waits. Long work names itself with `doing(...)`, so the CLI's one-line
message says what was interrupted ("interrupted while reading the catalogs of golden.wim").
"""

from __future__ import annotations

import os
import signal
import sys
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from types import FrameType
from typing import NoReturn

SIGNALS = (signal.SIGINT, signal.SIGTERM)


class Interrupted(KeyboardInterrupt):
    """SIGINT or SIGTERM arrived; `kept` says what the run kept (reports, fleet rows), for the message."""

    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = signum
        self.during = describe()  # now: the `doing` blocks are left as the exception unwinds them
        self.kept: str | None = None

    @property
    def exit_code(self) -> int:
        return 128 + self.signum


# (activity, subject) pairs, innermost last: ("scanning", "golden.wim"), ("reading the catalogs", None)
_activities: list[tuple[str, str | None]] = []
_state: dict[str, int | bool] = {"deferring": 0, "pending": False, "idle_exit": False}
_received: list[Interrupted] = []  # the signal that arrived, once it has


def install(idle_exit: bool = False) -> None:
    """Turn SIGINT and SIGTERM into `Interrupted`. `idle_exit`: in a worker process, a signal that comes
    while no work is under way (nothing `doing`) ends the process quietly instead of raising in the
    middle of its pool's machinery."""
    _activities.clear()  # a forked worker inherits its parent's activities, which are not its own
    _received.clear()
    _state.update(deferring=0, pending=False, idle_exit=idle_exit)
    sys.unraisablehook = _unraisable
    for number in SIGNALS:
        signal.signal(number, _handler)


def ignore() -> None:
    """From now on SIGINT and SIGTERM do nothing: for the end of a run, when what is left is clean-up
    (joining worker processes, removing multiprocessing's temporary directory) that must not be cut short."""
    for number in SIGNALS:
        signal.signal(number, signal.SIG_IGN)


def received() -> Interrupted | None:
    """The interruption, once a signal has arrived: an error that follows it (a worker the same Ctrl-C
    ended, a pipe it closed) is a consequence of the interruption, not a failure of its own."""
    return _received[0] if _received else None


def _handler(signum: int, _frame: FrameType | None) -> None:
    ignore()  # the clean-up this starts must not be cut short by a second Ctrl-C
    _received.append(Interrupted(signum))
    if _state["deferring"]:
        _state["pending"] = True
        return
    if _state["idle_exit"] and not _activities:
        raise SystemExit(128 + signum)
    raise _received[0]


def _unraisable(unraisable: sys.UnraisableHookArgs) -> None:
    """Python prints an exception raised where it cannot propagate (a weakref callback, a `__del__`, the
    garbage collector) with its traceback, and drops it. When it is the interruption's own, nothing is
    printed: `check` raises the interruption as the next work starts, and an idle worker, whose quiet end
    Python just dropped, ends now (a pool terminating its workers after one died printed a traceback into
    the fleet's output one run in ten). Any other exception is printed as Python does."""
    exc = unraisable.exc_value
    ours = _received[0] if _received else None
    if ours is not None and isinstance(exc, SystemExit) and exc.code == ours.exit_code and _state["idle_exit"]:
        os._exit(ours.exit_code)
    if ours is None or exc is not ours:
        sys.__unraisablehook__(unraisable)


def deferred() -> AbstractContextManager[None]:
    """A signal that arrives inside waits until the block ends (create a temporary file and register
    its removal inside one, so that no interruption falls between the two); it is raised then, also in
    place of an error the block ended with, which the interruption caused."""
    return _held(_raise)


def whole_or_exit() -> AbstractContextManager[None]:
    """In a pool worker, around a message to its parent: a signal that arrives inside waits until the message is
    sent whole, and then ends the process quietly. Raising halfway would leave half a message in the pipe, and
    the parent's pool, reading the rest, would wait for ever."""
    return _held(lambda stopped: os._exit(stopped.exit_code))


def _raise(stopped: Interrupted) -> NoReturn:
    raise stopped


@contextmanager
def _held(release: Callable[[Interrupted], NoReturn]) -> Iterator[None]:
    """Signals wait while inside (nested blocks: until the outermost ends); then `release` gets the one that came."""
    _state["deferring"] = int(_state["deferring"]) + 1
    try:
        yield
    finally:
        _state["deferring"] = int(_state["deferring"]) - 1
        if not _state["deferring"] and _state["pending"]:
            _state["pending"] = False
            release(_received[0])


@contextmanager
def doing(activity: str, subject: str | None = None) -> Iterator[None]:
    """Name the work under way: `doing("scanning", subject=path)` around a scan, `doing("reading the
    catalogs")` inside it. Work neither starts nor goes on after a signal whose exception was lost (`check`)."""
    check()
    _activities.append((activity, subject))
    try:
        yield
    finally:
        _activities.pop()
    check()


def check() -> None:
    """Raise the interruption when a signal arrived and its exception was lost: Python prints and drops an
    exception raised in a weakref callback, a `__del__` or the garbage collector, so a handler that ran there
    (the handler also ignores every later signal) left the run going on as if nothing had happened. Nothing
    is raised while an exception is being handled (the interruption itself, unwinding) or inside `deferred`."""
    if _received and not _state["deferring"] and sys.exc_info()[1] is None:
        raise _received[0]


def describe() -> str:
    """The work under way, innermost first: "reading the catalogs of golden.wim", or "" when none."""
    if not _activities:
        return ""
    activity, own = _activities[-1]
    subject = next((s for _, s in reversed(_activities) if s), None)
    if own:
        return f"{activity} {own}"
    return f"{activity} of {subject}" if subject else activity
