"""Real servers for the fleet tests, started once per session (a pytest plugin: see conftest.py).

- `postgresql_server`: Debian's PostgreSQL (initdb and pg_ctl from /usr/lib/postgresql/*/bin, installed by
  scripts/setup.sh --test) on a temporary directory, listening on loopback only, no Unix socket, password
  authentication (scram-sha-256); run as `nobody` when the tests run as root, which PostgreSQL refuses.
- `fleet_db`: one empty fleet database per test, on both stores (`[sqlite]` and `[postgresql]`), with a
  reader that uses the drivers directly (sqlite3, psycopg), not imgscan's store.
- `dask_cluster`: a `dask scheduler` and two `dask worker` processes on loopback.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest

PASSWORD = "Fl33t-s3cret-pw"  # distinctive, so that a test can tell it never appears in any output
USER = "imgscan"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _as_server_user() -> list[str]:
    """The prefix that runs a command as an unprivileged user: `nobody` under root, else nothing."""
    if os.geteuid() != 0:
        return []
    nobody = pwd.getpwnam("nobody")
    return ["setpriv", f"--reuid={nobody.pw_uid}", f"--regid={nobody.pw_gid}", "--clear-groups"]


@dataclass
class PostgreSQLServer:
    port: int

    def url(self, database: str = "postgres", password: str = PASSWORD) -> str:
        return f"postgresql://{USER}:{password}@127.0.0.1:{self.port}/{database}"

    def create_database(self) -> str:
        name = f"fleet_{uuid.uuid4().hex[:12]}"
        with psycopg.connect(self.url(), autocommit=True) as admin:
            admin.execute(f"CREATE DATABASE {name}")
        return self.url(name)


@pytest.fixture(scope="session")
def postgresql_server() -> Iterator[PostgreSQLServer]:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"))
    assert found, "PostgreSQL's server is missing: run `bash scripts/setup.sh --test` (Debian package postgresql)"
    bin_dir = Path(found[-1]).parent
    base = Path(tempfile.mkdtemp(prefix="imgscan-pg-"))
    (base / "password").write_text(PASSWORD)
    prefix = _as_server_user()
    if prefix:
        nobody = pwd.getpwnam("nobody")
        os.chown(base, nobody.pw_uid, nobody.pw_gid)
        os.chown(base / "password", nobody.pw_uid, nobody.pw_gid)
    data = base / "data"
    initdb = [str(bin_dir / "initdb"), "-D", str(data), "-U", USER, "--auth=scram-sha-256"]
    subprocess.run(
        [*prefix, *initdb, f"--pwfile={base / 'password'}", "-E", "UTF8", "--no-locale"], check=True, capture_output=True
    )
    port = _free_port()
    settings = f"-c listen_addresses=127.0.0.1 -p {port} -c unix_socket_directories='' -c fsync=off -c max_connections=200"
    pg_ctl = [*prefix, str(bin_dir / "pg_ctl"), "-D", str(data)]
    subprocess.run([*pg_ctl, "-l", str(base / "server.log"), "-w", "-o", settings, "start"], check=True, capture_output=True)
    try:
        yield PostgreSQLServer(port)
    finally:
        subprocess.run([*pg_ctl, "-m", "immediate", "-w", "stop"], capture_output=True)
        shutil.rmtree(base, ignore_errors=True)


@dataclass
class FleetDatabase:
    """One test's fleet database: `arg` is what --db gets; `query` reads it with the driver itself."""

    kind: str
    arg: str

    def query(self, sql: str, params: tuple = ()) -> list[dict]:
        """The rows of `sql` (written with `?` placeholders) as dicts; [] while the fleet has not created its tables."""
        if self.kind == "sqlite":
            if not Path(self.arg).exists():
                return []
            with sqlite3.connect(self.arg) as connection:
                connection.row_factory = sqlite3.Row
                try:
                    return [dict(r) for r in connection.execute(sql, params)]
                except sqlite3.OperationalError as exc:
                    if "no such table" in str(exc):
                        return []
                    raise
        with psycopg.connect(self.arg) as connection:
            try:
                cursor = connection.execute(sql.replace("?", "%s"), params)
            except psycopg.errors.UndefinedTable:
                return []
            names = [c.name for c in cursor.description or ()]
            return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


@pytest.fixture(params=["sqlite", "postgresql"])
def fleet_db(request: pytest.FixtureRequest, tmp_path: Path) -> FleetDatabase:
    if request.param == "sqlite":
        return FleetDatabase("sqlite", str(tmp_path / "fleet.sqlite"))
    server: PostgreSQLServer = request.getfixturevalue("postgresql_server")
    return FleetDatabase("postgresql", server.create_database())


@pytest.fixture(scope="session")
def dask_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real scheduler and two single-threaded workers, each its own process, on 127.0.0.1; yields the
    scheduler's address."""
    base = tmp_path_factory.mktemp("dask")
    dask = Path(sys.executable).parent / "dask"
    scheduler_file = base / "scheduler.json"
    common = ["--no-dashboard"]
    logs = [open(base / name, "w") for name in ("scheduler.log", "worker-0.log", "worker-1.log")]
    scheduler = [str(dask), "scheduler", "--host", "127.0.0.1", "--port", "0", "--scheduler-file", str(scheduler_file)]
    processes = [subprocess.Popen([*scheduler, *common], stdout=subprocess.DEVNULL, stderr=logs[0])]
    try:
        deadline = time.time() + 60
        while not scheduler_file.exists() and time.time() < deadline:
            time.sleep(0.2)
        assert scheduler_file.exists(), (base / "scheduler.log").read_text()
        for n in range(2):
            worker = [str(dask), "worker", "--scheduler-file", str(scheduler_file), "--host", "127.0.0.1"]
            worker += ["--nworkers", "1", "--nthreads", "1", "--name", f"worker-{n}", "--local-directory", str(base), *common]
            processes.append(subprocess.Popen(worker, stdout=subprocess.DEVNULL, stderr=logs[n + 1]))
        from dask.distributed import Client

        with Client(scheduler_file=str(scheduler_file), timeout="60s") as client:
            client.wait_for_workers(2, timeout=120)
            address = client.scheduler.address
        yield address
    finally:
        for process in reversed(processes):
            process.terminate()
        for process in reversed(processes):
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        for log in logs:
            log.close()
