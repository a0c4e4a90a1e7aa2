"""Fleet at scale (issue 24 part 9): 10,000 hosts over 20 captures of 5 golden images, in one run.

    python3 bench/fleet.py [--hosts 10000] [--captures 20] [--jobs 2] [--work DIR] [--no-dask]

The 5 golden images are the sample scenarios ws-acc-0417, ref-w7-2012q3, healthy (the committed VHDX files) and
secureboot-2023, component-store (built once into DIR by sample_images). The captures are byte copies of
them, capture n of golden image n % 5, each its own file (so each is opened, hashed and read on its
own). The hosts are a CSV host list: host n on capture n % captures, with its own facts cycling over
firmware (2011-only, 2023, unknown), network (online, offline, proxy), deployment day (12 dates),
model and labels, so one image carries many distinct host settings as a real fleet does.

Every engine is the real `imgscan fleet` command in its own process, on a fresh SQLite store:

- read floor: every byte of the captures read once (page cache warm, as for every engine);
- scan once: the captures as one host each (the time "to scan the 20 captures once");
- local pool: the host list with --jobs N;
- Dask: a real `dask scheduler` and 1, then 2, `dask worker` processes on loopback, with --scheduler.

Figures are ratios against the read floor and the scan once: wall and CPU time (the command and every
process it or the cluster ran, CPU of scheduler and workers included) per host; the store's size; the
time to render the summary of all hosts (`fleet --report`, and the summary alone in this process).
The machine's load average is sampled during the run, since other work on it skews every figure.
"""

from __future__ import annotations

import argparse
import csv
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import psutil

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from sample_images.build import build  # noqa: E402
from sample_images.scenario import load  # noqa: E402

COMMITTED = ("ws-acc-0417", "ref-w7-2012q3", "healthy")
BUILT = ("secureboot-2023", "component-store")
FIRMWARE = ("2011-only", "2023", "unknown")
NETWORK = ("online", "offline", "proxy")
DEPLOYED = tuple(f"2013-{month:02d}-01" for month in range(1, 13))
AS_OF = "2013-07-05"
BIN = Path(sys.executable).parent


@dataclass
class Cost:
    wall: float
    cpu: float


def golden_images(work: Path) -> list[Path]:
    """The 5 golden images: the committed sample VHDX files and two built once into `work`."""
    images = [REPO / "sample_images" / "built" / f"{name}.vhdx" for name in COMMITTED]
    for name in BUILT:
        path = work / f"{name}.vhdx"
        if not path.exists():
            build(load(name), work, ("vhdx",))
        images.append(path)
    return images


def captures(work: Path, golden: list[Path], count: int) -> list[Path]:
    """`count` byte copies, capture n of golden image n % len(golden)."""
    out = []
    for n in range(count):
        source = golden[n % len(golden)]
        path = work / "captures" / f"capture{n:02d}-{source.stem}.vhdx"
        if not path.exists() or path.stat().st_size != source.stat().st_size:
            path.parent.mkdir(exist_ok=True)
            shutil.copyfile(source, path)
        out.append(path)
    return out


def host_list(path: Path, images: list[Path], count: int, facts: bool) -> Path:
    """A CSV host list: host n on image n % len(images), with its own facts when `facts`."""
    with path.open("w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["host", "path", "target_firmware", "network", "deployed", "model", "site", "ring"])
        for n in range(count):
            row = [f"WS-{n:05d}", str(images[n % len(images)])]
            if facts:
                row += [FIRMWARE[n % 3], NETWORK[n // 3 % 3], DEPLOYED[n // 9 % 12], f"model-{n % 7}", f"site-{n % 11}"]
                row += [f"ring-{n % 4}"]
            else:
                row += [""] * 6
            writer.writerow(row)
    return path


def read_floor(images: list[Path]) -> Cost:
    """Every byte of `images` read once, in 1 MiB blocks."""
    wall, cpu = time.perf_counter(), time.process_time()
    for image in images:
        with image.open("rb", buffering=0) as fh:
            while fh.read(1 << 20):
                pass
    return Cost(time.perf_counter() - wall, time.process_time() - cpu)


def fleet(hosts: Path, db: Path, *extra: str) -> Cost:
    """`imgscan fleet` on `hosts` into a fresh store `db`: wall time and the CPU of it and its workers."""
    for stale in db.parent.glob(db.name + "*"):
        stale.unlink()
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    command = [sys.executable, "-m", "imgscan", "fleet", str(hosts), "--db", str(db), "--as-of", AS_OF, *extra]
    done = subprocess.run([*command, "-o", os.devnull], cwd=REPO, capture_output=True, text=True)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode not in (0, 1):  # 1: hosts fail, which a fleet with failing sample images should say
        raise SystemExit(f"fleet failed ({done.returncode}): {done.stderr.strip()[-2000:]}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return Cost(wall, cpu)


def _tree_cpu(processes: list[psutil.Process]) -> float:
    total = 0.0
    for process in processes:
        for each in [process, *process.children(recursive=True)]:
            try:
                times = each.cpu_times()
            except psutil.NoSuchProcess:
                continue
            total += times.user + times.system
    return total


@contextmanager
def dask_cluster(workers: int, base: Path) -> Iterator[tuple[str, list[psutil.Process]]]:
    """A real `dask scheduler` and `workers` single-threaded `dask worker` processes on 127.0.0.1."""
    base.mkdir(parents=True, exist_ok=True)
    scheduler_file = base / "scheduler.json"
    scheduler_file.unlink(missing_ok=True)
    log = open(base / "cluster.log", "w")
    scheduler = [str(BIN / "dask"), "scheduler", "--host", "127.0.0.1", "--port", "0"]
    processes = [subprocess.Popen([*scheduler, "--scheduler-file", str(scheduler_file), "--no-dashboard"], stderr=log)]
    try:
        deadline = time.time() + 60
        while not scheduler_file.exists() and time.time() < deadline:
            time.sleep(0.2)
        for n in range(workers):
            worker = [str(BIN / "dask"), "worker", "--scheduler-file", str(scheduler_file), "--host", "127.0.0.1"]
            worker += ["--nworkers", "1", "--nthreads", "1", "--name", f"w{n}", "--local-directory", str(base)]
            processes.append(subprocess.Popen([*worker, "--no-dashboard"], stderr=log))
        from dask.distributed import Client

        with Client(scheduler_file=str(scheduler_file), timeout="60s") as client:  # type: ignore[no-untyped-call, unused-ignore]
            client.wait_for_workers(workers, timeout=60)
            address = client.scheduler.address
        yield address, [psutil.Process(p.pid) for p in processes]
    finally:
        for process in reversed(processes):
            process.terminate()
        for process in processes:
            process.wait(timeout=30)
        log.close()


def on_dask(hosts: Path, db: Path, workers: int, base: Path) -> Cost:
    with dask_cluster(workers, base) as (address, processes):
        idle = _tree_cpu(processes)
        cost = fleet(hosts, db, "--scheduler", address)
        cost.cpu += _tree_cpu(processes) - idle
    return cost


def render(db: Path) -> tuple[float, float]:
    """(the `fleet --report` command's wall time, the summary's render alone in this process)."""
    start = time.perf_counter()
    command = [sys.executable, "-m", "imgscan", "fleet", "--report", "--db", str(db), "-o", os.devnull]
    subprocess.run(command, cwd=REPO, capture_output=True, check=False)
    cli = time.perf_counter() - start
    from imgscan.fleet import summary
    from imgscan.fleet.store import Store
    from imgscan.severity import Severity

    start = time.perf_counter()
    store = Store(db)
    shown = store.run()
    assert shown, f"no run in {db}"
    table = summary.to_table(summary.summarize(store.rows(shown["id"]), Severity.HIGH), shown, False)
    store.close()
    assert table
    return cli, time.perf_counter() - start


class Load:
    """The 1-minute load average, sampled every 5 s while the benchmark runs."""

    def __init__(self) -> None:
        self.samples: list[float] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()

    def _sample(self) -> None:
        while not self._stop.wait(0 if not self.samples else 5):
            self.samples.append(os.getloadavg()[0])

    def stop(self) -> str:
        self._stop.set()
        self._thread.join()
        s = self.samples
        return f"min {min(s):.2f}, mean {sum(s) / len(s):.2f}, max {max(s):.2f} ({len(s)} samples)"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--hosts", type=int, default=10_000)
    parser.add_argument("--captures", type=int, default=20)
    parser.add_argument("--jobs", type=int, default=2, help="local pool workers")
    parser.add_argument("--no-dask", action="store_true", help="skip the Dask cluster runs")
    parser.add_argument("--work", type=Path, default=Path(tempfile.gettempdir()) / "imgscan-bench-fleet")
    args = parser.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)
    images = captures(args.work, golden_images(args.work), args.captures)
    once = host_list(args.work / "once.csv", images, len(images), facts=False)
    many = host_list(args.work / "hosts.csv", images, args.hosts, facts=True)
    load = Load()
    read_floor(images)  # warm the page cache: no engine pays for the first read
    floor = read_floor(images)
    jobs = ("--jobs", str(args.jobs))
    scanned = fleet(once, args.work / "once.sqlite", *jobs)
    db = args.work / "fleet.sqlite"
    engines = {f"local pool, {args.jobs} workers": fleet(many, db, *jobs)}
    size = sum(p.stat().st_size for p in args.work.glob("fleet.sqlite*"))
    cli, summary = render(db)
    if not args.no_dask:
        for workers in (1, 2):
            engines[f"Dask, {workers} worker(s)"] = on_dask(many, args.work / "dask.sqlite", workers, args.work / "dask")
    loads = load.stop()

    n = args.hosts
    print(f"{n} hosts over {len(images)} captures (byte copies of 5 golden images), {os.cpu_count()} CPUs")
    print(f"load average (1 min) during the run: {loads}\n")
    print("| what | wall s | CPU s | wall ms/host | CPU ms/host | wall / read floor | wall / scan once | CPU / scan once |")
    print("|---|---|---|---|---|---|---|---|")
    print(f"| read floor ({len(images)} captures) | {floor.wall:.2f} | {floor.cpu:.2f} | | | 1.0 | | |")
    print(
        f"| scan once ({len(images)} hosts, {args.jobs} workers) | {scanned.wall:.1f} | {scanned.cpu:.1f} | | "
        f"| {scanned.wall / floor.wall:.0f} | 1.0 | 1.0 |"
    )
    for name, cost in engines.items():
        print(
            f"| {name} | {cost.wall:.1f} | {cost.cpu:.1f} | {1000 * cost.wall / n:.2f} | {1000 * cost.cpu / n:.2f} "
            f"| {cost.wall / floor.wall:.0f} | {cost.wall / scanned.wall:.2f} | {cost.cpu / scanned.cpu:.2f} |"
        )
    local = next(iter(engines.values()))
    ratio, cpu_ratio = local.wall / scanned.wall, local.cpu / scanned.cpu
    print(f"\nstore (SQLite, {n} hosts): {size / 2**20:.1f} MiB ({size / n / 1024:.1f} KiB/host)")
    print(f"summary of {n} hosts: `fleet --report` {cli:.2f} s, render alone {summary:.2f} s (target < 2 s)")
    verdict = "met" if ratio <= 1.5 else "MISSED"
    # on a shared machine the wall ratio moves with the load; the CPU ratio is the fairer comparison
    print(f"target {n} hosts within 1.5x the scan once: local pool {ratio:.2f}x wall ({cpu_ratio:.2f}x CPU), {verdict}")


if __name__ == "__main__":
    main()
