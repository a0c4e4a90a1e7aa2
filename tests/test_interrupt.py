"""Issue 22: Ctrl-C and SIGTERM at any moment of a real scan or fleet: exit 130 / 143, one line saying what was
interrupted, no file left in the temporary folder, no worker process left behind, no report half-written.

Each run is a real `python -m imgscan` in a session of its own with TMPDIR set to an empty folder. A signal is
sent at a moment chosen by what the run is doing, not by the clock alone (the machine may be busy): once main()
has installed its handlers (the process catches SIGTERM: /proc/PID/status SigCgt), then when the WIM's
temporary directory appears (wimlib extracting), or when the catalog worker processes exist, plus a delay.
Ctrl-C goes to the whole process group, as a terminal sends it; SIGTERM to imgscan alone, as a CI runner
cancelling a job does. The scans judge every catalog (`--no-cache`): with the verdicts of the same image
cached by an earlier test, no catalog worker would start.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from sample_images.build import build
from sample_images.scenario import load

LINE = re.compile(r"imgscan: (interrupted|terminated \(SIGTERM\))( while [^;\n]+)?; ([^\n]+)\n")


@pytest.fixture(scope="module")
def ref_w7_2012q3(tmp_path_factory) -> dict[str, Path]:
    """ref-w7-2012q3 (with catalogs, so --jobs 2 starts catalog workers) as VHDX and WIM."""
    return build(load("ref-w7-2012q3"), tmp_path_factory.mktemp("interrupt"), ("vhdx", "wim-lzx"))


def _session(sid: int) -> list[int]:
    """The processes still alive in session `sid` (imgscan and whatever it started)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if fields[3] == str(sid) and fields[0] != "Z":
            found.append(int(entry.name))
    return found


def _catches_sigterm(pid: int) -> bool:
    """Whether imgscan's main() has installed its handlers (SIGTERM is caught only from then on)."""
    status = Path(f"/proc/{pid}/status").read_text()
    caught = int(re.search(r"^SigCgt:\s*([0-9a-f]+)", status, re.M).group(1), 16)
    return bool(caught >> (signal.SIGTERM - 1) & 1)


def _wait(condition: Callable[[], bool], process: subprocess.Popen, what: str) -> None:
    deadline = time.monotonic() + 120
    while not condition():
        assert process.poll() is None, f"imgscan ended ({process.returncode}) before {what}: {process.stderr.read()}"
        assert time.monotonic() < deadline, f"never saw {what}"
        time.sleep(0.002)


@pytest.fixture
def systemp() -> Iterator[Path]:
    """An empty private temporary folder for one run, with a short path: multiprocessing puts the catalog
    workers' socket in it, and a socket's path holds at most 107 bytes (pytest's tmp_path can be longer)."""
    folder = Path(tempfile.mkdtemp(prefix="sig-"))
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


class Run:
    """One imgscan process in a session of its own, with `systemp` as its TMPDIR."""

    def __init__(self, systemp: Path, *args: object) -> None:
        self.systemp = systemp
        env = dict(os.environ, TMPDIR=str(self.systemp))
        self.process = subprocess.Popen(
            [sys.executable, "-m", "imgscan", *map(str, args)],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            start_new_session=True,
        )
        _wait(lambda: _catches_sigterm(self.process.pid), self.process, "the handlers")

    def when(self, condition: Callable[[], bool], what: str) -> Run:
        _wait(condition, self.process, what)
        return self

    def wim_directory(self) -> bool:
        return any(p.name.startswith("imgscan-wim-") for p in self.systemp.iterdir())

    def workers(self) -> bool:
        return len(_session(self.process.pid)) > 1

    def stop(self, delay: float, number: int, again: float | None = None) -> tuple[int, str]:
        """Send `number` after `delay` seconds (and once more `again` seconds later); returns (exit code, stderr)
        once every process of the run is gone."""
        time.sleep(delay)
        assert self.process.poll() is None, "the run ended before the signal: choose an earlier moment"
        for pause in (0.0,) if again is None else (0.0, again):
            time.sleep(pause)
            if number == signal.SIGINT:
                os.killpg(self.process.pid, number)  # Ctrl-C: the terminal signals the whole foreground group
            else:
                os.kill(self.process.pid, number)  # a CI runner cancelling the job signals imgscan
        _, stderr = self.process.communicate(timeout=300)
        deadline = time.monotonic() + 30
        while (left := _session(self.process.pid)) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not left, f"processes left behind: {[Path(f'/proc/{p}/cmdline').read_bytes() for p in left]}"
        assert sorted(p.name for p in self.systemp.iterdir()) == [], "files left in the temporary folder"
        return self.process.returncode, stderr


def _assert_interrupted(code: int, stderr: str, number: int) -> re.Match:
    assert code == 128 + number, stderr
    assert "Traceback" not in stderr
    match = LINE.fullmatch(stderr)
    assert match, f"not one line saying what was interrupted: {stderr!r}"
    return match


MOMENTS = [  # (what to wait for, then how long, in seconds)
    ("handlers", 0.0),
    ("handlers", 0.15),
    ("handlers", 0.4),
    ("wim directory", 0.0),
    ("wim directory", 0.05),
    ("wim directory", 0.2),
    ("workers", 0.0),
    ("workers", 0.08),
    ("workers", 0.16),  # the workers' phase and the rest of this scan take about 0.27 s here
]


@pytest.mark.parametrize("number", [signal.SIGINT, signal.SIGTERM], ids=["sigint", "sigterm"])
@pytest.mark.parametrize(("moment", "delay"), MOMENTS, ids=[f"{m}+{int(d * 1000)}ms" for m, d in MOMENTS])
def test_a_scan_interrupted_at_any_moment_leaves_nothing(ref_w7_2012q3, tmp_path, systemp, moment, delay, number):
    fmt = "wim-lzx" if moment == "wim directory" else "vhdx"
    report = tmp_path / "out" / "report.json"
    report.parent.mkdir()
    run = Run(systemp, "scan", ref_w7_2012q3[fmt], "-o", report, "--jobs", "2", "--as-of", "2013-07-01", "--no-cache")
    if moment == "wim directory":
        run.when(run.wim_directory, "the WIM's temporary directory")
    elif moment == "workers":
        run.when(run.workers, "the catalog workers")
    code, stderr = run.stop(delay, number)
    match = _assert_interrupted(code, stderr, number)
    assert match.group(3) == "nothing was written"
    assert list(report.parent.iterdir()) == [], "a report, or a part of one, was written"
    if moment != "handlers":  # the scan was under way: the line names the image
        assert str(ref_w7_2012q3[fmt]) in match.group(2)


@pytest.mark.parametrize("number", [signal.SIGINT, signal.SIGTERM], ids=["sigint", "sigterm"])
def test_a_stopped_scan_leaves_no_earlier_report(ref_w7_2012q3, tmp_path, systemp, number):
    """A CI job cancelled mid-scan, whose next step uploads report.sarif whatever the exit code, published the
    previous run's report as this one's: it is removed, and a second line says so."""
    out = tmp_path / "out"
    out.mkdir()
    report, fixes = out / "report.sarif", out / "fixes.reg"
    for earlier in (report, fixes):
        earlier.write_text("last night's report\n")
    args = ("scan", ref_w7_2012q3["wim-lzx"], "-o", report, "--fix-script", fixes, "--jobs", "1", "--no-cache")
    run = Run(systemp, *args, "--as-of", "2013-07-01")
    run.when(run.wim_directory, "the WIM's temporary directory")  # the command line was read: -o is known
    code, stderr = run.stop(0.0, number)
    assert stderr.count("\n") == 2, stderr
    stopped, said = stderr.splitlines(keepends=True)
    assert _assert_interrupted(code, stopped, number).group(3) == "nothing was written"
    assert said == f"imgscan: removed {report} and {fixes}, an earlier run's reports (this run wrote none)\n"
    assert list(out.iterdir()) == []


SLOW_START = """
import sys, time

class Slow:  # the command line's imports, held long enough for the signal to land in them
    def find_spec(self, name, path=None, target=None):
        if name == "imgscan.cli.app":
            time.sleep(1.5)
        return None

sys.meta_path.insert(0, Slow())
from imgscan.launch import run
run()
"""


@pytest.mark.parametrize("number", [signal.SIGINT, signal.SIGTERM], ids=["sigint", "sigterm"])
def test_a_signal_while_the_command_line_is_imported_is_one_line(systemp, number):
    """The first tenth to quarter of a second goes to imports: a Ctrl-C there printed a KeyboardInterrupt
    traceback (or crashed the interpreter inside orjson's initialisation, exit 139), and SIGTERM ended the run
    without a word. The signal waits for the imports to end, then the run ends in one line."""
    process = subprocess.Popen(
        [sys.executable, "-c", SLOW_START, "--version"],
        env=dict(os.environ, TMPDIR=str(systemp)),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    _wait(lambda: _catches_sigterm(process.pid), process, "the handlers")
    os.kill(process.pid, number)
    stdout, stderr = process.communicate(timeout=60)
    match = _assert_interrupted(process.returncode, stderr, number)
    assert (match.group(2), match.group(3), stdout) == (" while starting", "nothing was written", "")


@pytest.mark.parametrize("gap", [0.002, 0.005, 0.01, 0.02, 0.05])
def test_ctrl_c_twice_does_not_cut_the_clean_up_short(ref_w7_2012q3, systemp, gap):
    """An impatient second Ctrl-C used to land in the removal of the WIM's extracted files and stop it."""
    run = Run(systemp, "scan", ref_w7_2012q3["wim-lzx"], "-o", "/dev/null")
    run.when(run.wim_directory, "the WIM's temporary directory")
    code, stderr = run.stop(0.05, signal.SIGINT, again=gap)
    _assert_interrupted(code, stderr, signal.SIGINT)


def test_the_line_says_what_was_interrupted(ref_w7_2012q3, systemp):
    run = Run(systemp, "scan", ref_w7_2012q3["vhdx"], "-o", "/dev/null", "--jobs", "2", "--no-cache")
    run.when(run.workers, "the catalog workers")
    code, stderr = run.stop(0.0, signal.SIGINT)
    image = ref_w7_2012q3["vhdx"]
    assert (code, stderr) == (130, f"imgscan: interrupted while reading the catalogs of {image}; nothing was written\n")


@pytest.mark.parametrize("number", [signal.SIGINT, signal.SIGTERM], ids=["sigint", "sigterm"])
def test_an_interrupted_fleet_stops_its_workers_and_resumes(ref_w7_2012q3, tmp_path, systemp, number):
    images = tmp_path / "images"
    images.mkdir()
    for name in ("a", "b", "c"):  # copies: a fleet counts links to one file as one image
        shutil.copyfile(ref_w7_2012q3["wim-lzx"], images / f"{name}.wim")
    shutil.copyfile(ref_w7_2012q3["vhdx"], images / "d.vhdx")
    db = tmp_path / "fleet.sqlite"
    command = ("fleet", images, "--db", db, "--jobs", "2", "--as-of", "2013-07-01", "-f", "json")
    run = Run(systemp, *command)
    run.when(run.wim_directory, "a worker extracting a WIM")
    code, stderr = run.stop(0.05, number)
    match = _assert_interrupted(code, stderr, number)
    assert match.group(2) == " while judging 4 host(s) on 4 image(s)"
    assert match.group(3) == f"the hosts that finished are saved in {db}: run the command again with --resume to judge the rest"
    resumed = subprocess.run(
        [sys.executable, "-m", "imgscan", *map(str, command), "--resume"], capture_output=True, text=True, timeout=600
    )
    assert resumed.returncode == 1, resumed.stderr
    assert len(json.loads(resumed.stdout)) == 4


def test_a_fleet_worker_a_signal_reached_takes_no_further_image(tmp_path):
    """A pool worker keeps taking queued images after the signal that stopped its scan; with the parent no
    longer reading results, one bigger than a pipe's buffer blocked that worker, and the parent joining
    it, for ever. Once a signal has reached a worker, it ends before its next image."""
    from imgscan import interrupt
    from imgscan.fleet import run as fleet_run
    from imgscan.fleet.host import FleetHost
    from imgscan.fleet.work import FleetOptions

    def worker() -> None:
        fleet_run._worker_init()
        try:
            with interrupt.doing("scanning"):
                os.kill(os.getpid(), signal.SIGTERM)
                time.sleep(30)
        except interrupt.Interrupted:
            pass  # as the pool does: the stopped scan's error goes back to the parent
        host = FleetHost(path=str(tmp_path / "queued.vhdx"))
        fleet_run._scan_in_worker([host], FleetOptions(as_of="2013-07-01", horizon_days=365), "")
        os._exit(0)  # took the image (a missing file is an error row, never an exception)

    process = multiprocessing.get_context("fork").Process(target=worker)
    process.start()
    process.join(60)
    assert process.exitcode == 128 + signal.SIGTERM


def test_a_fleet_worker_a_signal_stops_mid_scan_ends_instead_of_waiting_for_work(tmp_path, monkeypatch):
    """After its stopped scan unwound, a worker went back to the pool's queue with every later signal ignored:
    when the pool, broken by another worker's end, terminated and joined the rest, that one never ended (the
    fleet hung on Ctrl-C about once in twenty runs). It now ends once the scan has unwound."""
    from imgscan import interrupt
    from imgscan.fleet import run as fleet_run
    from imgscan.fleet.host import FleetHost
    from imgscan.fleet.work import FleetOptions

    def stopped_scan(*_args: object) -> list[dict[str, object]]:
        with interrupt.doing("scanning"):
            os.kill(os.getpid(), signal.SIGTERM)
            time.sleep(30)
        return []

    monkeypatch.setattr(fleet_run, "scan_image", stopped_scan)  # the forked worker inherits it

    def worker() -> None:
        fleet_run._worker_init()
        host = FleetHost(path=str(tmp_path / "image.vhdx"))
        try:
            fleet_run._scan_in_worker([host], FleetOptions(as_of="2013-07-01", horizon_days=365), "")
        except interrupt.Interrupted:
            os._exit(0)  # came back to the pool's loop, as before
        os._exit(1)

    process = multiprocessing.get_context("fork").Process(target=worker)
    process.start()
    process.join(60)
    assert process.exitcode == 128 + signal.SIGTERM


def test_a_fleet_worker_sends_its_result_whole_before_a_signal_ends_it():
    """SIGTERM while a worker wrote a large result ended it halfway; the parent's pool, reading the rest of the
    message, waited for ever. The message is now finished first, read whole by the parent, and the worker ends."""
    from concurrent.futures import process as pool_process

    from imgscan.fleet import run as fleet_run

    reader, writer = multiprocessing.get_context("fork").Pipe(duplex=False)
    big = "x" * (4 << 20)  # many pipe buffers: the write is under way when the signal comes

    class Queue:
        def put(self, item: object) -> None:
            os.kill(os.getpid(), signal.SIGTERM)
            writer.send(item)

    def worker() -> None:
        fleet_run._worker_init()
        pool_process._sendback_result(Queue(), 7, result=big)
        os._exit(0)  # the signal was lost

    child = multiprocessing.get_context("fork").Process(target=worker)
    child.start()
    writer.close()  # the child's end only: a child that ends before writing gives EOF here, not a wait
    assert reader.poll(60)
    item = reader.recv()  # EOFError: the child ended without sending
    child.join(60)
    assert (item.work_id, len(item.result)) == (7, len(big))
    assert child.exitcode == 128 + signal.SIGTERM
