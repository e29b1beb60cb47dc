"""What every benchmark script needs: a scratch database, a free port, a server that is up."""
from __future__ import annotations

import os
import socket
import subprocess
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit


def scratch_name(name: str) -> str:
    """``name`` plus $LUMEN_BENCH_DB_SUFFIX, so two people benchmarking on one server keep apart."""
    return name + os.environ.get("LUMEN_BENCH_DB_SUFFIX", "")


def scratch_database_url(base: str | None, data_dir: Path | None, name: str) -> str:
    """A fresh database ``name`` on the PostgreSQL server of ``base`` (dropped and re-created),
    or SQLite in ``data_dir`` when there is no base URL."""
    if not base:
        return f"sqlite:///{data_dir / 'bench.sqlite3'}"
    import psycopg

    name = scratch_name(name)
    parts = urlsplit(base)
    with psycopg.connect(urlunsplit(parts._replace(path="/postgres")), autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        conn.execute(f"CREATE DATABASE {name}")
    return urlunsplit(parts._replace(path=f"/{name}"))


def drop_scratch_database(base: str | None, name: str) -> None:
    if not base:
        return
    import psycopg

    name = scratch_name(name)
    with psycopg.connect(urlunsplit(urlsplit(base)._replace(path="/postgres")), autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_port(port: int, process: subprocess.Popen | None = None, timeout: float = 60) -> None:
    """Return once something listens on ``port``; stop the benchmark if ``process`` died first."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise SystemExit(f"{process.args[1:3]} exited with code {process.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    raise SystemExit(f"nothing listened on port {port} within {timeout:.0f} s")
