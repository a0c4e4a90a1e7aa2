"""Run an external reader of evidence (wimlib, cabextract): bounded in time, and never left running.

The readers write into imgscan's temporary folders, so the process must be gone before such a folder is
removed, also when a timeout or Ctrl-C ends the wait. Callers turn the two failures into their own
one-line errors (which file, what to do)."""

from __future__ import annotations

import subprocess


class ToolMissing(Exception):
    """The program is not installed."""


class ToolTimedOut(Exception):
    """The program did not finish in time (it was killed)."""


def run_tool(argv: list[str], timeout: float, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[bytes]:
    """Run `argv` with no input, its output captured; the process is killed and waited for on any way out."""
    try:
        process = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    except FileNotFoundError as exc:
        raise ToolMissing(argv[0]) from exc
    with process:
        try:
            stdout, stderr = process.communicate(timeout=timeout)
        except subprocess.TimeoutExpired as exc:
            raise ToolTimedOut(argv[0]) from exc
        finally:  # also on Ctrl-C: the process must be gone before the folder it writes to is removed
            if process.returncode is None:
                process.kill()
                process.wait()
    return subprocess.CompletedProcess(process.args, process.returncode, stdout, stderr)
