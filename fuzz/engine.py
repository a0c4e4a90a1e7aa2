"""What every harness shares: coverage instrumentation of the readers it imports, and the libFuzzer
run through atheris.

A harness is a module `fuzz/fuzz_<reader>.py` with
- `check(data: bytes) -> None`: feeds one input to the reader and asserts the reader's contract
  (the documented result type or the documented error; a differential harness also compares with the
  reference reader). Any other exception, or a failed assertion, is a crash;
- `seeds() -> Iterator[bytes]`: the seed inputs, built from the sample image builders and the real
  files in ../shared/realdata (nothing fetched is committed);
- `LIMITS`: the per-input memory (RSS, MB) and time (seconds) the reader must stay within.

Run directly (`python -m fuzz.fuzz_der -runs=1000 CORPUS`), a harness imports its reader under
atheris' instrumentation and hands `check` to libFuzzer; imported by the regression test, it is a
plain module whose `check` is called on each regression file.
"""

from __future__ import annotations

import contextlib
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass


@dataclass(frozen=True)
class Limits:
    """What one input may cost: libFuzzer's -rss_limit_mb (whole process, interpreter included) and
    `seconds` of CPU for one input. The time is CPU time, asserted by `fuzz` around each input, so a
    run on a busy shared machine (nice 19: a few per cent of a core) does not report slow scheduling
    as a hang; libFuzzer's wall-clock -timeout is only the net for an input that never returns."""

    rss_mb: int = 1024
    seconds: int = 10
    max_len: int = 4096  # longest input libFuzzer makes (seeds may be longer)
    ci_runs: int = 1000  # executions (seeds included) of the short run tests/test_fuzz.py makes: a few seconds


def instrumented(module_name: str, *also: str) -> contextlib.AbstractContextManager[object]:
    """Import imgscan's modules (and the packages in `also`: a differential harness' reference reader)
    under atheris' coverage instrumentation when the harness runs as the fuzzer (`module_name` is the
    harness' `__name__`); a plain import otherwise."""
    if module_name != "__main__":
        return contextlib.nullcontext()
    import atheris

    instrumenting: contextlib.AbstractContextManager[object, bool | None] = atheris.instrument_imports(
        include=["imgscan", *also]
    )  # atheris ships no type information
    return instrumenting


STAT = "harness stat: "  # a line of the harness' own figures on stderr; `python -m fuzz run` prints the last one

WALL_CLOCK_NET = 30  # libFuzzer's -timeout, as a multiple of the CPU seconds an input may take


def timed(check: Callable[[bytes], None], seconds: float) -> Callable[[bytes], None]:
    """`check`, failing when one input takes more than `seconds` of the process' CPU time."""

    def within(data: bytes) -> None:
        start = time.process_time()
        check(data)
        spent = time.process_time() - start
        assert spent <= seconds, f"one input took {spent:.1f} s of CPU, more than the {seconds} s allowed"

    return within


def fuzz(check: Callable[[bytes], None], limits: Limits, argv: list[str] | None = None) -> None:
    """Hand `check` to libFuzzer with the harness' limits; libFuzzer's own flags in `argv` win."""
    import atheris

    args = list(sys.argv if argv is None else argv)
    given = {a.split("=", 1)[0] for a in args[1:] if a.startswith("-")}
    defaults = {
        "-rss_limit_mb": str(limits.rss_mb),
        "-timeout": str(limits.seconds * WALL_CLOCK_NET),
        "-max_len": str(limits.max_len),
        "-print_final_stats": "1",
    }
    args[1:1] = [f"{flag}={value}" for flag, value in defaults.items() if flag not in given]
    atheris.Setup(args, timed(check, limits.seconds))
    atheris.Fuzz()


def first(items: Iterator[bytes], count: int) -> list[bytes]:
    """At most `count` distinct items, in order (seed lists stay small, so short runs reach them all)."""
    found: dict[bytes, None] = {}
    for item in items:
        found.setdefault(item, None)
        if len(found) >= count:
            break
    return list(found)
