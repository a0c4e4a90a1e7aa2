"""Fleet throughput: 200 small generated host images, 1 vs 2 local workers, and a Dask LocalCluster.

    python3 bench/fleet.py [--hosts 200] [--work DIR]

Hosts are VHDX images of the seed-000, seed-001 and healthy scenarios with their
own computer names (built once, cached in DIR). Each engine scans all of them
with `scan_image`, the fleet's unit of work (one image, here one host each); figures are images per second, the
speed-up of 2 workers over 1 measured in the same run, and the peak resident
memory of a worker process.
"""

from __future__ import annotations

import argparse
import resource
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from imgscan.fleet.host import FleetHost  # noqa: E402
from imgscan.fleet.work import FleetOptions, scan_image  # noqa: E402
from sample_images.build import build  # noqa: E402
from sample_images.scenario import load  # noqa: E402

SCENARIOS = ("seed000", "seed001", "healthy", "healthy")


def hosts(work: Path, count: int) -> list[Path]:
    images = []
    for n in range(count):
        path = work / f"host{n:04d}.vhdx"
        if not path.exists():
            scenario = load(SCENARIOS[n % len(SCENARIOS)])
            scenario.computer_name, scenario.name = f"WS-{n:04d}", f"host{n:04d}"
            build(scenario, work, ("vhdx",))
        images.append(path)
    return images


def measured(target: FleetHost, options: FleetOptions) -> int:
    (result,) = scan_image([target], options)
    assert "report" in result, result.get("error")
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux


def local(images: list[Path], workers: int, options: FleetOptions) -> tuple[float, int]:
    targets = [FleetHost(str(p)) for p in images]
    start = time.perf_counter()
    with ProcessPoolExecutor(max_workers=workers) as pool:
        peaks = list(pool.map(measured, targets, [options] * len(targets), chunksize=1))
    return len(images) / (time.perf_counter() - start), max(peaks)


def dask(images: list[Path], options: FleetOptions) -> float:
    from dask.distributed import Client, LocalCluster

    with (
        LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1", dashboard_address=None) as cluster,
        Client(cluster) as client,
    ):
        client.submit(measured, FleetHost(str(images[0])), options, pure=False).result()  # warm the workers
        start = time.perf_counter()
        futures = client.map(measured, [FleetHost(str(p)) for p in images], options=options, pure=False)
        client.gather(futures)
        return len(images) / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--hosts", type=int, default=200)
    parser.add_argument("--work", type=Path, default=Path(tempfile.gettempdir()) / "imgscan-bench-fleet")
    args = parser.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)
    images = hosts(args.work, args.hosts)
    options = FleetOptions("2013-07-05", 365)
    for image in images:  # warm the page cache, so no engine pays for the first read of the images
        image.read_bytes()
    one, peak_one = local(images, 1, options)
    two, peak_two = local(images, 2, options)
    cluster = dask(images, options)
    print(
        f"{len(images)} host images; local pool: 1 worker {one:.1f} images/s, 2 workers {two:.1f} images/s "
        f"(speed-up {two / one:.2f}x); Dask LocalCluster, 2 workers: {cluster:.1f} images/s ({cluster / one:.2f}x)"
    )
    print(f"peak resident memory of a worker: {max(peak_one, peak_two) / 1024:.0f} MiB")


if __name__ == "__main__":
    main()
