"""WADO-RS over HTTP (gunicorn): series metadata, one instance, a whole series streamed.

Ingests the 140-slice CT_HEAD (0.5 MB per slice) through ``studies.ingest.ingest_file`` into a
scratch PostgreSQL database ``lumen_bench_wado`` and a scratch archive, starts gunicorn with
one worker (so that its memory is the web process's memory) and times, with
``Authorization: Token`` from one client session:

- ``GET .../series/{se}/metadata`` (target p95 ≤ 30 ms): the kept answer, and the answer
  built anew (the series row written before each request: what the first viewer after a change waits);
- ``GET .../instances/{sop}`` as ``multipart/related; type="application/dicom"`` (p95 ≤ 10 ms);
- ``GET .../instances/{sop}/frames/1`` for each of the 140 slices in turn, as the viewer loads a
  series (Cornerstone's Accept header), with the token and again with a radiologist's session
  cookie (what the viewer sends);
- ``GET .../series/{se}`` streamed (target ≥ 150 MB/s), while sampling the worker's resident
  memory: it must stay flat, i.e. not grow with the series' 72 MB.

The machine's load average is printed with each figure: on a shared 2-core machine the
figures are pessimistic. So is the worker's CPU time per request, which other load moves
much less than the times (still ±20 %): compare that, over several interleaved runs, between
two versions measured on a busy machine.

    .venv/bin/python bench/wado.py [--requests 50]
"""
from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bench.study_search import PYTHON, percentile  # noqa: E402
from bench.support import drop_scratch_database, free_port, scratch_database_url, wait_for_port  # noqa: E402

SCRATCH_DB = "lumen_bench_wado"
SAMPLES = Path(os.environ.get("LUMEN_SAMPLES_DIR", REPO.parent / "shared" / "dicom-samples"))
if not SAMPLES.is_dir():
    SAMPLES = Path("/work/shared/dicom-samples")
CT_HEAD = SAMPLES / "ct_series" / "philips_ingenuity_head_phantom_1mm"


def load() -> str:
    return "load average %.2f %.2f %.2f" % os.getloadavg()


def rss_kb(pid: int, field: str = "VmRSS") -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return 0


def worker_pid(master: int) -> int:
    children = Path(f"/proc/{master}/task/{master}/children").read_text().split()
    if len(children) != 1:
        raise SystemExit(f"expected one gunicorn worker, found {children}")
    return int(children[0])


def timed(session, url: str, accept: str, count: int) -> tuple[list[float], int]:
    timings, size = [], 0
    for _ in range(count):
        start = time.perf_counter()
        answer = session.get(url, headers={"Accept": accept})
        body = answer.content
        timings.append((time.perf_counter() - start) * 1000)
        if answer.status_code != 200:
            raise SystemExit(f"{url} answered {answer.status_code}: {body[:300]!r}")
        size = len(body)
    return timings, size


def cpu_ms(pid: int) -> float:
    """The user + system CPU time ``pid`` has used: what its requests cost, less blurred by other load than their times."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) * 1000 / os.sysconf("SC_CLK_TCK")


def line(what: str, timings: list[float], size: int, cpu_each: float, target: float | None = None) -> None:
    p95 = percentile(timings, 95)
    verdict = f"  (target p95 ≤ {target:.0f} ms: {'met' if p95 <= target else 'NOT met'})" if target else ""
    print(f"  {what:44} {size / 1e6:6.2f} MB  p50 {statistics.median(timings):6.1f} ms  p95 {p95:6.1f} ms  "
          f"max {max(timings):6.1f} ms  worker CPU {cpu_each:4.1f} ms/request{verdict}  [{load()}]")


def timed_rebuilt(session, url: str, series_id: int, count: int) -> tuple[list[float], int]:
    """The metadata answer built anew each time: before each request (not timed) the series row
    is written, as a change would, so the kept answer (in the database and in the worker's
    memory) is stale."""
    from django.db.models import F

    from studies.models import Series

    timings, size = [], 0
    for _ in range(count):
        Series.objects.filter(pk=series_id).update(series_description=F("series_description"))
        found, size = timed(session, url, "application/dicom+json", 1)
        timings += found
    return timings, size


def frames_of_series(session, series_url: str, sops: list[str]) -> tuple[list[float], int]:
    """Frame 1 of each slice in turn, as the viewer loads a series; the sizes are summed."""
    accept = 'multipart/related; type="application/octet-stream"; transfer-syntax=*'
    timings, total = [], 0
    for sop in sops:
        found, size = timed(session, f"{series_url}/instances/{sop}/frames/1", accept, 1)
        timings += found
        total += size
    return timings, total


def stream_series(session, url: str, worker: int, rounds: int) -> None:
    samples: list[int] = []
    done = threading.Event()

    def sample() -> None:
        while not done.is_set():
            samples.append(rss_kb(worker))
            time.sleep(0.005)

    before = rss_kb(worker)
    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    rates = []
    try:
        for _ in range(rounds):
            total = 0
            start = time.perf_counter()
            with session.get(url, headers={"Accept": 'multipart/related; type="application/dicom"'}, stream=True) as answer:
                if answer.status_code != 200:
                    raise SystemExit(f"{url} answered {answer.status_code}")
                for chunk in answer.iter_content(chunk_size=1024 * 1024):
                    total += len(chunk)
            rates.append(total / 1e6 / (time.perf_counter() - start))
    finally:
        done.set()
        sampler.join()
    print(f"  whole series, multipart ({total / 1e6:.1f} MB), {rounds} times: median {statistics.median(rates):.0f} MB/s, "
          f"worst {min(rates):.0f} MB/s (target ≥ 150 MB/s: {'met' if statistics.median(rates) >= 150 else 'NOT met'})  [{load()}]")
    print(f"  web worker resident memory: {before / 1024:.0f} MB before, peak {max(samples) / 1024:.0f} MB while streaming "
          f"(+{(max(samples) - before) / 1024:.1f} MB for a {total / 1e6:.0f} MB body)")


def radiologist_session() -> dict[str, str]:
    """The session cookie of a radiologist who logged in (Django's test client writes the session row)."""
    from django.conf import settings
    from django.contrib.auth import get_user_model
    from django.test import Client

    from accounts.roles import RADIOLOGIST, set_role

    radiologist = get_user_model().objects.create_user("bench-radiologist", password="bench-password-1234")
    set_role(radiologist, RADIOLOGIST)
    browser = Client()
    browser.force_login(radiologist)
    return {settings.SESSION_COOKIE_NAME: browser.cookies[settings.SESSION_COOKIE_NAME].value}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=50, help="requests per timed resource")
    parser.add_argument("--rounds", type=int, default=5, help="times the whole series is streamed")
    parser.add_argument("--threads", type=int, default=1,
                        help="gunicorn threads: 1, the sync worker, which closes each connection after its answer (the "
                             "figures so far); 4 as deployed, which keeps them open but costs the worker ~1 ms more CPU a request")
    args = parser.parse_args()
    if not CT_HEAD.is_dir():
        raise SystemExit(f"the CT_HEAD sample is not at {CT_HEAD} (set LUMEN_SAMPLES_DIR)")

    base = os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/postgres")
    if not base.startswith("postgres"):
        raise SystemExit("this benchmark needs PostgreSQL (DATABASE_URL=postgres://...)")
    data_dir = Path(tempfile.mkdtemp(prefix="lumen-bench-wado-"))
    database_url = scratch_database_url(base, None, SCRATCH_DB)
    env = {**os.environ, "DATABASE_URL": database_url, "LUMEN_DATA_DIR": str(data_dir), "LOG_LEVEL": "WARNING",
           "DEBUG": "0", "SECURE_COOKIES": "0", "DJANGO_SETTINGS_MODULE": "pacs.settings"}
    os.environ.update(env)
    import django

    django.setup()
    import requests
    from django.contrib.auth import get_user_model
    from django.core.management import call_command
    from django.db import connections
    from rest_framework.authtoken.models import Token

    from studies.ingest import Origin, Outcome, ingest_file
    from studies.models import Instance, Study

    server = None
    try:
        call_command("migrate", verbosity=0)
        admin = get_user_model().objects.create_superuser("bench-admin", password="bench-password-1234")
        token = Token.objects.create(user=admin).key
        session_cookie = radiologist_session()
        start = time.perf_counter()
        files = sorted(p for p in CT_HEAD.iterdir() if p.is_file())
        for path in files:
            result = ingest_file(path, origin=Origin(user_id=admin.pk))
            if result.outcome != Outcome.STORED:
                raise SystemExit(f"{path.name}: {result}")
        print(f"Ingested {len(files)} CT_HEAD slices in {time.perf_counter() - start:.1f} s")
        Study.objects.update(in_reading_pool=True)  # what the radiologist reads
        instance = Instance.objects.select_related("series__study").order_by("instance_number")[70]
        series, study = instance.series, instance.series.study
        sops = list(Instance.objects.filter(series=series).order_by("instance_number").values_list("sop_instance_uid", flat=True))
        connections.close_all()

        port = free_port()
        server = subprocess.Popen(
            [PYTHON, "-m", "gunicorn", "pacs.wsgi", "--bind", f"127.0.0.1:{port}", "--workers", "1", "--threads", str(args.threads),
             "--log-level", "warning"],
            cwd=REPO, env=env,
        )
        wait_for_port(port, server)
        worker = worker_pid(server.pid)
        session = requests.Session()
        session.headers["Authorization"] = f"Token {token}"
        series_url = f"http://127.0.0.1:{port}/dicomweb/studies/{study.study_instance_uid}/series/{series.series_instance_uid}"
        instance_url = f"{series_url}/instances/{instance.sop_instance_uid}"

        timed(session, f"{series_url}/metadata", "application/dicom+json", 3)  # warm up
        timed(session, instance_url, 'multipart/related; type="application/dicom"', 3)
        def measured(fn, *fn_args) -> tuple[list[float], int, float]:
            """``fn``'s timings and size, and the worker's CPU time per request meanwhile."""
            before = cpu_ms(worker)
            timings, size = fn(*fn_args)
            return timings, size, (cpu_ms(worker) - before) / len(timings)

        print(f"\nWADO-RS, gunicorn 1 worker × {args.threads} thread(s), Token auth, one client session, {args.requests} requests each:")
        line("series /metadata (140 instances), kept", *measured(timed, session, f"{series_url}/metadata", "application/dicom+json", args.requests), 30)
        line("series /metadata, built anew each time", *measured(timed_rebuilt, session, f"{series_url}/metadata", series.pk, args.requests), 30)
        line("instance, multipart/related application/dicom",
             *measured(timed, session, instance_url, 'multipart/related; type="application/dicom"', args.requests), 10)
        line("instance, bare application/dicom", *measured(timed, session, instance_url, "application/dicom", args.requests), 10)
        print(f"The {len(sops)} slices' frames one request at a time, as the viewer loads the series:")
        line("frames, Token auth", *measured(frames_of_series, session, series_url, sops))
        viewer = requests.Session()  # the viewer: a radiologist's browser session, no token
        viewer.cookies.update(session_cookie)
        line("frames, a radiologist's session cookie", *measured(frames_of_series, viewer, series_url, sops))
        stream_series(session, series_url, worker, args.rounds)
    finally:
        if server is not None:
            server.terminate()
            server.wait(timeout=20)
        connections.close_all()
        drop_scratch_database(base, SCRATCH_DB)
        shutil.rmtree(data_dir, ignore_errors=True)


if __name__ == "__main__":
    main()
