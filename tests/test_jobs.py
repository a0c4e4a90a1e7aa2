"""Issue 14: `--jobs N` judges catalogs on N processes, and the report is byte-identical to `--jobs 1`."""

from __future__ import annotations

import pytest

from imgscan.signing.catalog_workers import AUTO_MINIMUM, workers_for
from tests.conftest import REPO, run_imgscan

SAMPLES = sorted((REPO / "sample_images" / "built").glob("*.vhdx"))


def test_every_bundled_sample_is_covered():
    assert {p.stem for p in SAMPLES} >= {"seed000", "seed001", "healthy"}


@pytest.mark.parametrize("image", SAMPLES, ids=lambda p: p.stem)
@pytest.mark.parametrize("as_of", ["2013-07-01", "2026-12-01"])
def test_report_is_the_same_with_two_processes(image, as_of, tmp_path):
    reports = []
    for jobs in ("1", "2"):
        out = tmp_path / f"jobs{jobs}.json"
        run = run_imgscan("scan", image, "--as-of", as_of, "--jobs", jobs, "-f", "json", "-o", out)
        assert run.code in (0, 1), run.stderr
        reports.append(out.read_bytes())
    assert reports[0] == reports[1]
    if image.stem != "seed000":  # the one sample without servicing packages
        assert b'"cause": "' in reports[0]  # catalogs were judged, by the workers in the second run


def test_automatic_choice_uses_processes_only_for_many_catalogs():
    assert workers_for(None, AUTO_MINIMUM - 1) == 1
    assert workers_for(None, AUTO_MINIMUM) >= 1
    assert workers_for(3, 1) == 3  # an explicit number is obeyed, even for one catalog


@pytest.mark.parametrize("bad", ["0", "-2", "many"])
def test_a_bad_number_of_jobs_is_a_usage_error(bad):
    run = run_imgscan("scan", SAMPLES[0], "--jobs", bad)
    assert run.code == 2 and "--jobs" in run.stderr and "Traceback" not in run.stderr


def test_real_and_damaged_catalogs_judged_alike_in_workers(tmp_path):
    """Real catalogs (legacy and RFC 3161 timestamps, dual-signed, unsigned), a truncated one and a
    byte copy under winsxs: every record the same from a worker process as from this one."""
    from dissect.target.filesystems.dir import DirectoryFilesystem

    from imgscan.artefacts.catalog_set import read_catalogs
    from imgscan.image.volume import FilesystemVolume
    from imgscan.signing.certs import CertCache
    from imgscan.signing.trust_store import build_store
    from imgscan.signing.validity import Judge

    real = sorted((REPO.parent / "shared" / "realdata" / "catalogs").glob("*.cat"))
    assert len(real) >= 10
    packages = tmp_path / "Windows" / "servicing" / "Packages"
    packages.mkdir(parents=True)
    (tmp_path / "Windows" / "winsxs" / "Catalogs").mkdir(parents=True)
    for path in real:
        (packages / path.name).write_bytes(path.read_bytes())
    (packages / "truncated.cat").write_bytes(real[0].read_bytes()[:700])
    (tmp_path / "Windows" / "winsxs" / "Catalogs" / "copy.cat").write_bytes(real[-1].read_bytes())

    def records(jobs: int) -> list[dict]:
        cache = CertCache()
        judge = Judge(build_store(cache, None), cache, None)
        found = read_catalogs(FilesystemVolume(DirectoryFilesystem(tmp_path)), judge, jobs)
        return [r.as_dict() | {"member_hashes": sorted(r.members) if r.members else None} for r in found.records]

    alone, pooled = records(1), records(2)
    assert len(alone) == len(real) + 2 and any("problem" in r for r in alone)
    assert {r.get("status") for r in alone} >= {"valid", "untrusted"}
    assert pooled == alone
