"""Catalog phase benchmark: a Windows 7-scale image, every figure a ratio measured in the same run.

    python3 bench/catalogs.py [--count 20000] [--growth 5000,10000,20000,40000] [--captures 100] [--work DIR]

Builds (once, cached in DIR) a tree of max(growth) distinct signed catalogs with a realistic size
mix (most with a handful of members, a long tail up to a few hundred), signed by three shared
signer certificates, most timestamped the Windows 7 way, some not at all, beside real Windows
hives and logs from ../shared/realdata (a SYSTEM hive, a Windows 7 NTUSER.DAT, a CBS.log and a
System event log) and a SOFTWARE hive whose ROOT store holds the signers' root, as a real image's
does. Smaller trees are hard-linked subsets. Then it prints, for --count catalogs:

- read floors: reading every catalog's bytes through imgscan's own volume object, from the
  extracted directory and from the same tree in an NTFS volume inside a VHDX (dissect.target);
- the anchor: per catalog, an asn1crypto parse and the two RSA verifications that decide a
  verdict (signature, timestamp), with nothing else;
- the catalog phase (`read_catalogs`: read, hash, parse, verify, judge) with --jobs 1 and with
  one process per core, on both stacks, as ratios to the anchor and to the read floor;
- a whole `scan` of the VHDX against the read floor of every file it holds, beside what the anchor's
  work for every catalog plus that read costs spread perfectly over the cores (against the same floor);
- a rescan of that image rebuilt with 1% of its catalogs changed, with the persistent verdict cache
  warmed by a scan of the original, against the rebuilt image's read floor, both whole processes as a
  CI job runs them (bench/rescan.py);
- the start-up of `imgscan --version` against a bare interpreter;
- `osslsigncode verify` per catalog against imgscan's per-catalog cost;
- growth: catalogs per second and the peak resident memory of a process running the phase at
  each --growth count (linear growth keeps the rate flat);
- a fleet of --captures hard links to one 1,000-catalog capture, scanned with the verdict cache,
  against the read floor of those captures, and against that floor plus the SHA-256 of each whole
  capture (the evidence hash every scan records, a third of the floor by itself).

Nothing here is a pass/fail threshold: the figures go into the issue note with the machine's load.
"""

from __future__ import annotations

import argparse
import functools
import hashlib
import lzma
import os
import random
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from asn1crypto import cms  # noqa: E402
from cryptography.hazmat.primitives import hashes, serialization  # noqa: E402
from cryptography.hazmat.primitives.asymmetric import padding  # noqa: E402
from dissect.target.filesystems.dir import DirectoryFilesystem  # noqa: E402

from imgscan.artefacts.catalog_set import catalog_paths, read_catalogs  # noqa: E402
from imgscan.collector import young_collections_only  # noqa: E402
from imgscan.image.disk import open_disk  # noqa: E402
from imgscan.image.volume import FilesystemVolume, WindowsVolume  # noqa: E402
from imgscan.signing.catalog_workers import workers_for  # noqa: E402
from imgscan.signing.certs import CertCache  # noqa: E402
from imgscan.signing.trust_store import build_store  # noqa: E402
from imgscan.signing.validity import Judge  # noqa: E402
from sample_images.build import convert, ntfs_volume  # noqa: E402
from sample_images.catalog_writer import write_catalog  # noqa: E402
from sample_images.pki import make_pki, utc  # noqa: E402
from sample_images.regf import Key, Value, build_hive  # noqa: E402
from sample_images.scenario import certificate_blob  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from rescan import changed_tree, rescan, startup_ratio  # noqa: E402

PACKAGES = "Windows/servicing/Packages"
TREE = "tree2"  # the trees' layout, in their folder's name: a change rebuilds the trees cached in --work
REALDATA = Path(__file__).resolve().parents[2] / "shared" / "realdata"
CORES = len(os.sched_getaffinity(0))


def member_count(rng: random.Random) -> int:
    """Most catalogs list a few files; a long tail lists hundreds (servicing stacks, language packs)."""
    return min(1 + int(rng.expovariate(1 / 12)), 600)


def build_tree(root: Path, count: int) -> None:
    marker = root / f".complete-{count}"
    if marker.exists():
        return
    rng = random.Random(2012)
    pki = make_pki()
    signers = [
        pki.signer("Microsoft Windows", "2009-12-07T21:57:40", "2011-03-07T21:57:40"),
        pki.signer("Microsoft Windows", "2011-06-30T10:00:00", "2013-06-30T10:00:00"),
        pki.signer("Microsoft Windows", "2012-09-01T00:00:00", "2014-03-01T00:00:00"),
    ]
    (root / PACKAGES).mkdir(parents=True, exist_ok=True)
    (root / "root.der").write_bytes(pki.root.der)
    add_root_store(root, pki.root.der)
    for n in range(count):
        signer = signers[n % 3]
        signed = utc(f"2010-{1 + n % 12:02d}-15T08:00:00") if n % 3 == 0 else utc(f"2012-{1 + n % 12:02d}-15T08:00:00")
        members = [os.urandom(32) for _ in range(member_count(rng))]
        stamp = None if n % 10 == 9 else (pki.tsa_good, signed)
        data = write_catalog(members, signed, signer, [pki.code_pca, pki.stamp_pca], stamp)
        (root / PACKAGES / f"Package_{n:05d}_for_KB{2500000 + n // 4}~31bf3856ad364e35~amd64~~6.1.1.{n % 9}.cat").write_bytes(
            data
        )
        if n % 1000 == 999:
            print(f"  built {n + 1}/{count}", file=sys.stderr)
    add_real_artefacts(root)
    marker.touch()


def add_root_store(root: Path, der: bytes) -> None:
    """A SOFTWARE hive whose ROOT store holds the bench root, as a real image's holds Microsoft's: a whole scan
    then trusts the catalogs, judges their chains and reports what a rebuilt golden image has (the catalogs
    signed without a timestamp), not one "no trusted root" finding per catalog."""
    thumbprint, blob = certificate_blob(der)
    software = Key("ROOT")
    software.set(rf"Microsoft\SystemCertificates\ROOT\Certificates\{thumbprint}", Value.binary("Blob", blob))
    config = root / "Windows/System32/config"
    config.mkdir(parents=True, exist_ok=True)
    (config / "SOFTWARE").write_bytes(build_hive(software, r"\SystemRoot\System32\Config\SOFTWARE", utc("2012-06-01T00:00:00")))


def add_real_artefacts(root: Path) -> None:
    """Real hives and logs, so a whole scan reads what a real image gives it besides catalogs."""
    config = root / "Windows/System32/config"
    config.mkdir(parents=True, exist_ok=True)
    (config / "SYSTEM").write_bytes(lzma.decompress((REALDATA / "hives/regipy_SYSTEM.xz").read_bytes()))
    user = root / "Users/analyst"
    user.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(REALDATA / "hives/plaso_NTUSER-WIN7.DAT", user / "NTUSER.DAT")
    logs = root / "Windows/Logs/CBS"
    logs.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(REALDATA / "cbslogs/ones24074586_offline_19041_cbs.log", logs / "CBS.log")
    events = root / "Windows/System32/winevt/Logs"
    events.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(REALDATA / "evtx/plaso_System.evtx", events / "System.evtx")


def subset(root: Path, count: int) -> Path:
    """The first `count` catalogs of the tree with the same hives and logs, as hard links."""
    names = sorted(os.listdir(root / PACKAGES))
    if count >= len(names):
        return root
    tree = root.parent / f"{root.name}-first{count}"
    if not (tree / ".complete").exists():
        shutil.rmtree(tree, ignore_errors=True)
        for path in root.rglob("*"):
            if path.is_file() and PACKAGES not in path.relative_to(root).as_posix():
                (tree / path.relative_to(root)).parent.mkdir(parents=True, exist_ok=True)
                os.link(path, tree / path.relative_to(root))
        (tree / PACKAGES).mkdir(parents=True, exist_ok=True)
        for name in names[:count]:
            os.link(root / PACKAGES / name, tree / PACKAGES / name)
        (tree / ".complete").touch()
    return tree


def build_vhdx(root: Path) -> Path:
    """The tree in an NTFS volume (mkntfs + wimlib apply) converted to VHDX, built once."""
    vhdx = root.with_suffix(".vhdx")
    if not vhdx.exists():
        size = sum(f.stat().st_size for f in root.rglob("*") if f.is_file())
        volume = root.with_suffix(".ntfs")
        work = Path(tempfile.mkdtemp(prefix="imgscan-bench-"))
        ntfs_volume(root, volume, max(64 << 20, size * 3 // 2 + (64 << 20)), "Windows", 0, work)
        convert(volume, "vhdx", vhdx)
        volume.unlink()
        work.rmdir()
    return vhdx


def judge_for(root: Path) -> Judge:
    cache = CertCache()
    store = build_store(cache, None)
    store.add((root / "root.der").read_bytes(), "bench root")
    return Judge(store, cache, None)


def timed(work: Callable[[], object]) -> float:
    start = time.perf_counter()
    work()
    return time.perf_counter() - start


def cpu_timed(work: Callable[[], object]) -> tuple[float, float]:
    """(wall, CPU) seconds of `work` in this process: on a machine shared with other work the CPU time
    is the figure that does not depend on how much of a core this process got."""
    start, cpu = time.perf_counter(), time.process_time()
    work()
    return time.perf_counter() - start, time.process_time() - cpu


def read_all(volume: WindowsVolume, paths: list[str] | None = None) -> None:
    """Every catalog's bytes (listing the catalog folders first, as the phase does), or every path given."""
    for path in catalog_paths(volume) if paths is None else paths:
        with volume.open(path) as fh:
            fh.read()


def every_file(root: Path) -> list[str]:
    return [
        p.relative_to(root).as_posix()
        for p in root.rglob("*")
        if p.is_file() and p.name != "root.der" and not p.name.startswith(".complete")
    ]


def anchor(root: Path, names: list[str]) -> tuple[float, float]:
    """asn1crypto's parse and the two RSA verifications a verdict rests on, per catalog, nothing else."""
    keys: dict[bytes, object] = {}

    def verify(cert_der: bytes, signature: bytes, data: bytes, algorithm: str) -> None:
        key = keys.get(cert_der)
        if key is None:
            spki = cms.Certificate.load(cert_der)["tbs_certificate"]["subject_public_key_info"].dump()
            key = keys[cert_der] = serialization.load_der_public_key(spki)
        digest = hashes.SHA256() if algorithm == "sha256" else hashes.SHA1()
        try:
            key.verify(signature, data, padding.PKCS1v15(), digest)  # type: ignore[attr-defined]
        except Exception:  # noqa: BLE001 - the cost is the point, not the outcome
            pass

    datas = [(root / PACKAGES / n).read_bytes() for n in names]
    return cpu_timed(lambda: _anchor(datas, verify))


def _anchor(datas: list[bytes], verify: Callable[[bytes, bytes, bytes, str], None]) -> None:
    for data in datas:
        signed = cms.ContentInfo.load(data)["content"]
        certs = {c.chosen["tbs_certificate"]["serial_number"].native: c.chosen.dump() for c in signed["certificates"]}
        info = signed["signer_infos"][0]
        der = certs[info["sid"].chosen["serial_number"].native]
        algorithm = info["digest_algorithm"]["algorithm"].native
        attributes = info["signed_attrs"].dump(force=True)
        verify(der, info["signature"].native, b"\x31" + attributes[1:], algorithm)
        counter = next((a for a in info["unsigned_attrs"] if a["type"].dotted == "1.2.840.113549.1.9.6"), None)
        target = counter["values"][0] if counter else info
        verify(der if counter is None else next(iter(certs.values())), target["signature"].native, b"", algorithm)


def phase(volume: WindowsVolume, root: Path, jobs: int) -> float:
    return phase_cpu(volume, root, jobs)[0]


def phase_cpu(volume: WindowsVolume, root: Path, jobs: int) -> tuple[float, float]:
    """(wall, CPU of this process) of the catalog phase, under the garbage collector's setting a scan has
    (imgscan.collector); with workers the CPU is the scan's share only."""
    judge = judge_for(root)
    with young_collections_only():
        return cpu_timed(lambda: read_catalogs(volume, judge, jobs))


def rss_of_phase(tree: Path) -> tuple[float, int]:
    """(seconds, peak resident MB) of the catalog phase in a process of its own (one core). The peak is
    the child's VmHWM: ru_maxrss would carry over the forking parent's peak across exec on Linux."""
    code = (
        "import sys, time; sys.path.insert(0, sys.argv[2]); sys.path.insert(0, sys.argv[2] + '/bench');"
        "from pathlib import Path; import catalogs as b;"
        "from dissect.target.filesystems.dir import DirectoryFilesystem;"
        "from imgscan.image.volume import FilesystemVolume;"
        "root = Path(sys.argv[1]); v = FilesystemVolume(DirectoryFilesystem(root));"
        "t = b.phase(v, root, 1);"
        "hwm = next(l for l in open('/proc/self/status') if l.startswith('VmHWM:')).split()[1];"
        "print(t, int(hwm) // 1024)"
    )
    run = subprocess.run(
        [sys.executable, "-c", code, str(tree), str(Path(__file__).resolve().parents[1])],
        capture_output=True,
        text=True,
        check=True,
    )
    seconds, peak = run.stdout.split()
    return float(seconds), int(peak)


def osslsigncode_per_catalog(root: Path, names: list[str]) -> float:
    sample = names[:: max(1, len(names) // 100)][:100]
    start = time.perf_counter()
    for name in sample:
        subprocess.run(["osslsigncode", "verify", "-in", str(root / PACKAGES / name)], capture_output=True, check=False)
    return (time.perf_counter() - start) / len(sample)


def fleet_cache(root: Path, captures: int, work: Path) -> tuple[float, float, float]:
    """(seconds of the fleet scan with the verdict cache, read floor of the same captures, that floor with
    the SHA-256 of each capture's whole file, which every scan records as evidence)."""
    from imgscan import __version__
    from imgscan.fleet.host import FleetHost
    from imgscan.fleet.run import by_image, run_local
    from imgscan.fleet.store import Store
    from imgscan.fleet.work import FleetOptions

    image = build_vhdx(subset(root, 1000))
    hosts = work / "fleet-captures"
    shutil.rmtree(hosts, ignore_errors=True)
    hosts.mkdir(parents=True)
    for n in range(captures):
        os.link(image, hosts / f"WS-{n:04d}.vhdx")
    db = work / "fleet.sqlite"
    db.unlink(missing_ok=True)
    store = Store(db)
    options = FleetOptions(date(2013, 7, 1).isoformat(), 365)
    targets = [FleetHost(str(p)) for p in sorted(hosts.iterdir())]
    run_id = store.start_run(options.as_of, options.horizon_days, {}, options.fingerprint(), __version__)

    def commit(results: list[dict[str, Any]]) -> None:
        for result in results:
            store.record(run_id, result, __version__, options.fingerprint(), "new")

    elapsed = timed(lambda: run_local(by_image(targets), options, CORES, str(db), commit))
    store.close()

    files = every_file(subset(root, 1000))

    def floor() -> None:
        for target in targets:
            read_all(open_disk(Path(target.path), "vhdx")[0], files)

    def evidence_floor() -> None:
        floor()
        for target in targets:
            digest = hashlib.sha256()
            with open(target.path, "rb") as fh:
                while chunk := fh.read(1 << 20):
                    digest.update(chunk)

    return elapsed, timed(floor), timed(evidence_floor)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--count", type=int, default=20000)
    parser.add_argument("--growth", default="5000,10000,20000,40000")
    parser.add_argument("--captures", type=int, default=100)
    parser.add_argument("--work", type=Path, default=Path(tempfile.gettempdir()) / "imgscan-bench-catalogs")
    parser.add_argument(
        "--phase-only", action="store_true", help="stop after the catalog phase figures (quick before/after runs)"
    )
    args = parser.parse_args()
    growth = [int(n) for n in args.growth.split(",")]
    full = args.work / f"{TREE}-{max([*growth, args.count])}"
    build_tree(full, max([*growth, args.count]))
    root = subset(full, args.count)
    names = sorted(os.listdir(root / PACKAGES))
    paths = catalog_paths(FilesystemVolume(DirectoryFilesystem(root)))
    size = sum((root / PACKAGES / n).stat().st_size for n in names)
    print(f"machine: {CORES} core(s), load average {os.getloadavg()[0]:.2f}; catalogs: {len(names)}, {size / 1e6:.1f} MB")
    vhdx = build_vhdx(root)
    stacks: dict[str, Callable[[], WindowsVolume]] = {
        "directory": lambda: FilesystemVolume(DirectoryFilesystem(root)),
        "VHDX": lambda: open_disk(vhdx, "vhdx")[0],
    }
    floors = {}
    for name, make in stacks.items():
        read_all(make())  # warm the page cache: every timing then reads from memory
        volumes = [make() for _ in range(3)]  # opened outside the timing, as for the phase
        runs = [cpu_timed(functools.partial(read_all, v)) for v in volumes]
        floors[name] = min(wall for wall, _ in runs)
        cpu = min(used for _, used in runs)
        print(f"[{name}] read floor {floors[name]:.2f} s (CPU {cpu:.2f} s) = {len(paths) / floors[name]:,.0f} catalogs/s")
    print(f"read floor VHDX / directory: {floors['VHDX'] / floors['directory']:.2f}x")
    base, base_cpu = anchor(root, names)
    print(
        f"anchor (asn1crypto parse + 2 RSA verifies): {base:.2f} s (CPU {base_cpu:.2f} s) = {len(names) / base:,.0f} catalogs/s"
    )
    phases = {}
    for name, make in stacks.items():
        for jobs in sorted({1, workers_for(None, len(paths))}):
            phases[name, jobs], cpu = phase_cpu(make(), root, jobs)
            own = f"CPU {cpu / base_cpu:.2f}x the anchor's" if jobs == 1 else f"this process' CPU {cpu:.2f} s"
            print(
                f"[{name}] catalog phase --jobs {jobs}: {phases[name, jobs]:.2f} s = "
                f"{len(paths) / phases[name, jobs]:,.0f} catalogs/s; {phases[name, jobs] / base:.2f}x the anchor ({own}), "
                f"{phases[name, jobs] / floors[name]:.1f}x the read floor"
            )
        if (name, CORES) in phases and CORES > 1:
            print(f"[{name}] --jobs {CORES} speed-up: {phases[name, 1] / phases[name, CORES]:.2f}x")
    print(f"load average after the phase: {os.getloadavg()[0]:.2f}")
    if args.phase_only:
        return
    from imgscan.artefacts import LoadSettings
    from imgscan.context import ScanContext
    from imgscan.loader import load_checks
    from imgscan.scan import Options, scan

    files = every_file(root)
    whole_floor = min(timed(lambda: read_all(stacks["VHDX"](), files)) for _ in range(2))  # opening included
    whole = timed(lambda: scan(vhdx, ScanContext(date(2013, 7, 1)), load_checks(None), Options(load=LoadSettings(jobs=None))))
    ratio = whole / whole_floor
    print(f"whole scan of the VHDX: {whole:.2f} s; read floor of its {len(files)} files {whole_floor:.2f} s: {ratio:.2f}x")
    # what the anchor's parse and two verifies of every catalog cost with the read, spread perfectly over the
    # cores: the figure a scan that judges each catalog is measured against, beside the read floor alone
    spread = (base_cpu + whole_floor) / min(CORES, workers_for(None, len(paths)))
    print(
        f"  the anchor's work plus the read, spread over {CORES} core(s): {spread:.2f} s = {spread / whole_floor:.2f}x the floor"
    )
    changed = build_vhdx(changed_tree(root, 0.01))
    warm, cold, changed_floor, entries = rescan(vhdx, changed, files)
    print(
        f"rescan after 1% of the catalogs changed, `imgscan scan` with a verdict cache of {entries} entries: {warm:.2f} s "
        f"(cold {cold:.2f} s); read floor in a process of its own {changed_floor:.2f} s: {warm / changed_floor:.2f}x"
    )
    started, bare = startup_ratio()
    print(f"start-up: imgscan --version {started:.3f} s CPU, bare interpreter {bare:.3f} s: {started / bare:.1f}x")
    ossl = osslsigncode_per_catalog(root, names)
    for jobs in sorted({1, CORES}):
        cost = phases["directory", jobs] / len(paths)
        print(f"osslsigncode verify: {ossl * 1e3:.1f} ms per catalog = {ossl / cost:.0f}x imgscan's cost (--jobs {jobs})")
    previous = None
    for count in growth:
        tree = subset(full, count)
        read_all(FilesystemVolume(DirectoryFilesystem(tree)))  # from memory, as every other timing here
        seconds, peak = rss_of_phase(tree)
        rate = count / seconds
        trend = f", {rate / previous:.2f}x the previous rate" if previous else ""
        print(f"growth: {count:>6} catalogs: {rate:,.0f} catalogs/s{trend}; peak resident memory {peak} MB")
        previous = rate
    fleet, fleet_floor, hashed_floor = fleet_cache(full, args.captures, args.work)
    print(
        f"fleet of {args.captures} captures of one 1,000-catalog image, verdict cache, {CORES} worker(s): {fleet:.2f} s; "
        f"read floor of those captures {fleet_floor:.2f} s: {fleet / fleet_floor:.2f}x; "
        f"with the SHA-256 of each capture {hashed_floor:.2f} s: {fleet / hashed_floor:.2f}x"
    )
    print(f"peak resident memory of this benchmark process: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024} MB")


if __name__ == "__main__":
    main()
