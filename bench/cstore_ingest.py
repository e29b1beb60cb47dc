"""C-STORE ingest throughput: two parallel storescu associations send the 140-slice CT_HEAD.

Measures from the first send until all 140 instances are queryable in the index and prints
instances/s, with 1 and with 2 listener processes (``--processes`` to choose).

The database: a scratch database ``lumen_bench`` on the PostgreSQL server named by
DATABASE_URL (dropped and re-created), or SQLite in the scratch data dir without DATABASE_URL.
The archive: a scratch LUMEN_DATA_DIR under /tmp. Nothing of the real installation is touched.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/lumen .venv/bin/python bench/cstore_ingest.py
"""
from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
from bench.support import drop_scratch_database, free_port, scratch_database_url, wait_for_port  # noqa: E402
SAMPLES = Path(os.environ.get("LUMEN_SAMPLES_DIR", REPO.parent / "shared" / "dicom-samples"))
CT_HEAD = SAMPLES / "ct_series" / "philips_ingenuity_head_phantom_1mm"
PYTHON = str(REPO / ".venv" / "bin" / "python") if (REPO / ".venv" / "bin" / "python").exists() else sys.executable
SCRATCH_DB = "lumen_bench"


def empty_archive(data_dir: Path) -> None:
    from studies.models import Instance, Patient, Series, Study

    Instance.objects.all().delete()
    Series.objects.all().delete()
    Study.objects.all().delete()
    Patient.objects.all().delete()
    shutil.rmtree(data_dir / "archive", ignore_errors=True)
    (data_dir / "archive").mkdir()


def one_run(env: dict, processes: int, files: list[Path]) -> tuple[float, float]:
    """Seconds until both storescu finished, and until all instances were in the index."""
    from django.db import connection

    from studies.models import Instance

    port = free_port()
    listener = subprocess.Popen(
        [PYTHON, "manage.py", "dicomserver", "--port", str(port), "--processes", str(processes)],
        cwd=REPO,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        wait_for_port(port, listener)
        time.sleep(0.5 * processes)  # let every child bind before connections are spread over them
        halves = [files[0::2], files[1::2]]
        start = time.perf_counter()
        senders = [
            subprocess.Popen(
                ["storescu", "-aet", "BENCH", "-aec", "LUMEN", "127.0.0.1", str(port), *map(str, half)],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
                text=True,
            )
            for half in halves
        ]
        for sender in senders:
            _, errors = sender.communicate()
            if sender.returncode != 0:
                raise SystemExit(f"storescu failed ({sender.returncode}): {errors[-2000:]}")
        sent = time.perf_counter() - start
        while Instance.objects.count() < len(files):
            time.sleep(0.01)
        indexed = time.perf_counter() - start
        connection.close()
        return sent, indexed
    finally:
        listener.terminate()
        try:
            _, errors = listener.communicate(timeout=20)
        except subprocess.TimeoutExpired:
            listener.kill()
            _, errors = listener.communicate()
        problems = [line for line in (errors or "").splitlines() if " ERROR " in line or " WARNING " in line]
        if problems:
            print("  listener warnings:", *problems[:5], sep="\n    ")


def in_process_floor(files: list[Path], data_dir: Path) -> float:
    """ingest_file over the same files in this process, one thread, no network: the funnel's own cost."""
    from studies.ingest import Origin, ingest_file

    empty_archive(data_dir)
    started = time.perf_counter()
    assert all(ingest_file(path, origin=Origin(calling_ae_title="FLOOR")).ok for path in files)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--processes", type=int, nargs="+", default=[1, 2], help="listener process counts to measure")
    parser.add_argument("--runs", type=int, default=2, help="runs per process count (the best is reported)")
    args = parser.parse_args()
    if shutil.which("storescu") is None:
        raise SystemExit("storescu (DCMTK) is not installed")
    files = sorted(p for p in CT_HEAD.iterdir() if p.is_file())
    if len(files) != 140:
        raise SystemExit(f"expected the 140-slice CT_HEAD under {CT_HEAD}")

    base_url = os.environ.get("DATABASE_URL")
    data_dir = Path(tempfile.mkdtemp(prefix="lumen-bench-cstore-"))
    database_url = scratch_database_url(base_url, data_dir, SCRATCH_DB)
    env = {**os.environ, "DATABASE_URL": database_url, "LUMEN_DATA_DIR": str(data_dir), "LOG_LEVEL": "WARNING"}
    os.environ.update({"DATABASE_URL": database_url, "LUMEN_DATA_DIR": str(data_dir), "DJANGO_SETTINGS_MODULE": "pacs.settings"})
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    engine = "PostgreSQL" if base_url else "SQLite"
    size_mb = sum(p.stat().st_size for p in files) / 1e6
    print(f"C-STORE ingest: {len(files)} CT slices ({size_mb:.0f} MB), 2 parallel storescu associations, {engine}, "
          f"{os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f} before the run")
    try:
        for processes in args.processes:
            results = []
            for _ in range(args.runs):
                empty_archive(data_dir)
                sent, indexed = one_run(env, processes, files)
                results.append(indexed)
                print(f"  {processes} listener process(es): sent in {sent:.2f} s, all indexed in {indexed:.2f} s "
                      f"= {len(files) / indexed:.0f} instances/s")
            print(f"  best with {processes} process(es): {len(files) / min(results):.0f} instances/s")
        floor = in_process_floor(files, data_dir)
        print(f"for comparison, ingest_file alone (one thread, no network): {floor:.2f} s for {len(files)} files "
              f"= {len(files) / floor:.0f} instances/s ({floor / len(files) * 1000:.1f} ms per file); "
              f"load average {os.getloadavg()[0]:.1f} after the run")
    finally:
        from django.db import connections

        connections.close_all()
        drop_scratch_database(base_url, SCRATCH_DB)
        shutil.rmtree(data_dir, ignore_errors=True)


if __name__ == "__main__":
    main()
