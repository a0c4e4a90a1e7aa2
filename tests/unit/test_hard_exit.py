"""`imgscan` ends its process with os._exit once `main` returns: nothing written may be lost on the way."""

from __future__ import annotations

import os
import subprocess
import sys

# the CLI's `main` replaced by one that leaves its output in Python's buffers and returns an exit code
SCRIPT = """
import sys
import imgscan.cli.app as app
def main():
    sys.stdout.write("r" * int(sys.argv[2]))
    sys.stderr.write("one line\\n")
    return int(sys.argv[1])
app.main = main
app.run()
"""
BUFFERED = {k: v for k, v in os.environ.items() if k != "PYTHONUNBUFFERED"}  # as a user's shell has it


def test_buffered_output_arrives_whole_and_the_exit_code_is_mains() -> None:
    for code in (0, 1, 3):
        command = [sys.executable, "-c", SCRIPT, str(code), "100000"]
        run = subprocess.run(command, capture_output=True, text=True, timeout=60, env=BUFFERED)
        assert (run.returncode, len(run.stdout), run.stderr) == (code, 100_000, "one line\n")


def test_output_that_cannot_be_flushed_makes_the_exit_an_error() -> None:
    """The reader closes the pipe before the end (`| head -c 1`) while the last of the report still waits in
    Python's buffer: it did not arrive whole."""
    command = [sys.executable, "-c", SCRIPT, "0", "1000"]
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=BUFFERED)
    assert proc.stdout is not None and proc.stderr is not None
    proc.stdout.close()
    assert proc.wait(timeout=60) == 2
    assert b"Traceback" not in proc.stderr.read()
