"""C-FIND (DIMSE) and QIDO-RS (HTTP) at STUDY level over a 100,000-study index: p50/p95 per kind.

Seeds a scratch PostgreSQL database ``lumen_bench_query`` with bench/seed_studies.py (as
bench/study_search.py does), starts ``manage.py dicomserver`` and gunicorn on free ports, and
times the same five kinds of query three ways:

- DCMTK ``findscu``, one process per query (what a modality or a script sees), end to end and
  from its own log (request sent to final response), with ``-sr`` and with its default of
  printing every answer (time_findscu says what that printing costs findscu);
- a pynetdicom SCU keeping one association open, timing each C-FIND request (no process
  start-up or association; for hundreds of answers its own decoding of each into a Dataset,
  ~0.5 ms an answer, is most of the time);
- ``GET /dicomweb/studies`` with ``Authorization: Token`` over one keep-alive connection.

Targets (issue 3): p95 ≤ 15 ms for exact keys (PatientID, AccessionNumber, StudyInstanceUID),
≤ 50 ms for name wild cards and 30-day date ranges. The machine's load average is printed with
each table: on a shared 2-core machine the figures are pessimistic.

    .venv/bin/python bench/dicom_query.py [--studies 100000] [--requests 30]
"""
from __future__ import annotations

import argparse
import os
import random
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bench.study_search import PYTHON, percentile  # noqa: E402
from bench.support import drop_scratch_database, free_port, scratch_database_url, wait_for_port  # noqa: E402

SCRATCH_DB = "lumen_bench_query"
EXACT = ("PatientID exact", "AccessionNumber exact", "StudyInstanceUID exact")
RETURN_KEYS = ("StudyInstanceUID", "PatientName", "PatientID", "StudyDate", "AccessionNumber",
               "StudyDescription", "ModalitiesInStudy", "NumberOfStudyRelatedInstances")


def load() -> str:
    return "load average %.2f %.2f %.2f" % os.getloadavg()


def query_mix(samples: dict, rng: random.Random, count: int) -> dict[str, list[dict]]:
    """``count`` queries of each kind as DICOM keyword → match value, with values that exist."""
    def window() -> str:
        start = date(2005, 1, 1) + timedelta(days=rng.randrange(7000))
        return f"{start:%Y%m%d}-{start + timedelta(days=30):%Y%m%d}"

    return {
        "PatientID exact": [{"PatientID": rng.choice(samples["patient_ids"])} for _ in range(count)],
        "AccessionNumber exact": [{"AccessionNumber": rng.choice(samples["accessions"])} for _ in range(count)],
        "StudyInstanceUID exact": [{"StudyInstanceUID": f"2.25.{10**20 + rng.randrange(samples['studies'])}"} for _ in range(count)],
        # The "DOE*": no seeded family starts with DOE, so a real prefix of one.
        "PatientName FAM^GIV*": [{"PatientName": f"{rng.choice(samples['family'])}^{rng.choice(samples['given'])[:2]}*"}
                                 for _ in range(count)],
        "PatientName DOE*": [{"PatientName": "DOE*"} for _ in range(count)],
        "PatientName XYZ* (~600 hits)": [{"PatientName": rng.choice(samples["family"])[:4] + "*"} for _ in range(count)],
        "StudyDate 30 days": [{"StudyDate": window()} for _ in range(count)],
    }


def report(title: str, timings: dict[str, list[float]], hits: dict[str, list[int]], *, targeted: bool = True) -> None:
    print(f"\n{title}  [{load()}]")
    print(f"  {'query':30} {'hits':>6} {'p50 ms':>7} {'p95 ms':>7} {'max ms':>7}  target")
    for kind, values in timings.items():
        target = 15.0 if kind in EXACT else 50.0
        p95 = percentile(values, 95)
        verdict = f"≤ {target:.0f}: {'met' if p95 <= target else 'NOT met'}" if targeted else "-"
        print(f"  {kind:30} {statistics.median(hits[kind]):6.0f} {statistics.median(values):7.1f} {p95:7.1f} {max(values):7.1f}  {verdict}")


def interleaved(mix: dict[str, list[dict]]):
    # Kinds in turn, so that no kind profits from a cache the previous request of its own kind warmed.
    for i in range(max(len(q) for q in mix.values())):
        for kind, queries in mix.items():
            yield kind, queries[i]


# findscu's own log with microsecond timestamps: "<seconds>.<ms>.<us> <message>".
LOG_CONFIG = """log4cplus.rootLogger = INFO, console
log4cplus.appender.console = log4cplus::ConsoleAppender
log4cplus.appender.console.layout = log4cplus::PatternLayout
log4cplus.appender.console.layout.ConversionPattern = %D{%s.%Q} %m%n
"""


def _stamp(line: str) -> float:
    seconds, ms, us = line.split(" ", 1)[0].split(".")
    return int(seconds) + int(ms) / 1e3 + int(us) / 1e6


def time_findscu(port: int, mix, *, show_responses: bool) -> tuple[dict, dict, dict]:
    """End to end (process start-up, association, query, release) and, from findscu's own log,
    from sending the C-FIND request to receiving the final response.

    By default findscu prints every answer, ~15 log lines each (a write(2) per line, into the
    pipe this script reads): for 1,036 answers 44 ms of findscu's CPU against 26 ms without
    (start-up included), on two cores shared with the listener. ``show_responses=False`` is
    findscu's ``-sr`` (``--hide-responses``): it still reads and decodes every answer, and logs
    one line for each, which the hit count uses.
    """
    config = Path(tempfile.mkdtemp(prefix="lumen-bench-findscu-")) / "log.cfg"
    config.write_text(LOG_CONFIG)
    timings, inside, hits = {k: [] for k in mix}, {k: [] for k in mix}, {k: [] for k in mix}
    for kind, keys in interleaved(mix):
        command = ["findscu", "-lc", str(config), "-S", "-aet", "BENCH", "-aec", "LUMEN", "-k", "QueryRetrieveLevel=STUDY"]
        command += [] if show_responses else ["-sr"]
        for keyword in RETURN_KEYS:
            command += ["-k", f"{keyword}={keys[keyword]}" if keyword in keys else keyword]
        command += ["127.0.0.1", str(port)]
        start = time.perf_counter()
        done = subprocess.run(command, capture_output=True, text=True)
        timings[kind].append((time.perf_counter() - start) * 1000)
        lines = (done.stdout + done.stderr).splitlines()
        sent = [_stamp(line) for line in lines if "Sending Find Request" in line]
        final = [_stamp(line) for line in lines if "Received Final Find Response" in line]
        if done.returncode != 0 or not sent or not final:
            raise SystemExit(f"findscu {keys} failed: {done.stderr[-500:]}")
        inside[kind].append((final[0] - sent[0]) * 1000)
        hits[kind].append(sum("Find Response" in line and "(Pending)" in line for line in lines))
    shutil.rmtree(config.parent, ignore_errors=True)
    return timings, inside, hits


def time_pynetdicom(port: int, mix) -> tuple[dict, dict]:
    from pydicom import Dataset
    from pynetdicom import AE
    from pynetdicom.sop_class import StudyRootQueryRetrieveInformationModelFind

    ae = AE(ae_title="BENCH")
    ae.add_requested_context(StudyRootQueryRetrieveInformationModelFind)
    assoc = ae.associate("127.0.0.1", port, ae_title="LUMEN")
    if not assoc.is_established:
        raise SystemExit("the listener refused the association")
    # Our side of the exchange: small PDUs; without TCP_NODELAY each waits for a delayed ACK.
    assoc.dul.socket.socket.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    timings, hits = {k: [] for k in mix}, {k: [] for k in mix}
    try:
        for kind, keys in interleaved(mix):
            identifier = Dataset()
            identifier.QueryRetrieveLevel = "STUDY"
            for keyword in RETURN_KEYS:
                setattr(identifier, keyword, keys.get(keyword, ""))
            start = time.perf_counter()
            count = 0
            for status, answer in assoc.send_c_find(identifier, StudyRootQueryRetrieveInformationModelFind):
                if status is None or status.Status not in (0xFF00, 0xFF01, 0x0000):
                    raise SystemExit(f"C-FIND {keys} answered {status}")
                count += status.Status in (0xFF00, 0xFF01)
            timings[kind].append((time.perf_counter() - start) * 1000)
            hits[kind].append(count)
    finally:
        assoc.release()
    return timings, hits


def time_qido(base_url: str, token: str, mix) -> tuple[dict, dict]:
    import requests

    session = requests.Session()
    session.headers.update({"Authorization": f"Token {token}", "Accept": "application/dicom+json"})
    timings, hits = {k: [] for k in mix}, {k: [] for k in mix}
    for kind, keys in interleaved(mix):
        params = {**keys, "limit": "100"}
        start = time.perf_counter()
        answer = session.get(f"{base_url}/dicomweb/studies", params=params)
        body = answer.content
        timings[kind].append((time.perf_counter() - start) * 1000)
        if answer.status_code != 200:
            raise SystemExit(f"QIDO {params} answered {answer.status_code}: {body[:300]!r}")
        hits[kind].append(len(answer.json()))
    return timings, hits


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--studies", type=int, default=100_000)
    parser.add_argument("--requests", type=int, default=30, help="queries per kind and client")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn worker processes")
    parser.add_argument("--processes", type=int, default=1, help="listener processes")
    args = parser.parse_args()
    if shutil.which("findscu") is None:
        raise SystemExit("DCMTK findscu is needed")

    base = os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/postgres")
    if not base.startswith("postgres"):
        raise SystemExit("this benchmark needs PostgreSQL (DATABASE_URL=postgres://...)")
    data_dir = Path(tempfile.mkdtemp(prefix="lumen-bench-query-"))
    database_url = scratch_database_url(base, None, SCRATCH_DB)
    env = {**os.environ, "DATABASE_URL": database_url, "LUMEN_DATA_DIR": str(data_dir), "LOG_LEVEL": "WARNING",
           "DEBUG": "0", "SECURE_COOKIES": "0", "DJANGO_SETTINGS_MODULE": "pacs.settings"}
    os.environ.update(env)
    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.core.management import call_command
    from django.db import connection, connections
    from rest_framework.authtoken.models import Token

    from bench.seed_studies import seed

    processes = []
    try:
        call_command("migrate", verbosity=0)
        users = get_user_model().objects
        admin = users.create_superuser("bench-admin", password="bench-password-1234")
        token = Token.objects.create(user=admin).key
        uploader = users.create_user("modality-gateway")
        referrer = users.create_user("referrer")
        start = time.perf_counter()
        samples = seed(args.studies, uploader=uploader, referrer=referrer)
        samples["studies"] = args.studies
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE")
        print(f"Seeded {args.studies:,} studies in {time.perf_counter() - start:.1f} s")
        connections.close_all()

        dicom_port, http_port = free_port(), free_port()
        processes.append(subprocess.Popen(
            [PYTHON, "manage.py", "dicomserver", "--port", str(dicom_port), "--bind", "127.0.0.1",
             "--processes", str(args.processes)], cwd=REPO, env=env))
        processes.append(subprocess.Popen(
            [PYTHON, "-m", "gunicorn", "pacs.wsgi", "--bind", f"127.0.0.1:{http_port}", "--workers", str(args.workers),
             "--log-level", "warning"], cwd=REPO, env=env))
        wait_for_port(dicom_port, processes[0])
        wait_for_port(http_port, processes[1])

        rng = random.Random(3)
        base_url = f"http://127.0.0.1:{http_port}"
        time_qido(base_url, token, query_mix(samples, rng, 2))  # warm up every gunicorn worker
        time_pynetdicom(dicom_port, query_mix(samples, rng, 2))
        n = args.requests
        whole, inside, hits = time_findscu(dicom_port, query_mix(samples, rng, n), show_responses=False)
        report(f"C-FIND STUDY level, DCMTK findscu -sr end to end (process start-up + association + query; "
               f"the targets apply to the next table), {args.studies:,} studies:", whole, hits, targeted=False)
        report(f"C-FIND STUDY level, DCMTK findscu -sr from its C-FIND-RQ to the final response (its own log), {args.studies:,} studies:",
               inside, hits)
        _, inside, hits = time_findscu(dicom_port, query_mix(samples, rng, n), show_responses=True)
        report(f"The same with findscu printing every answer (its default; its own printing is in the time), {args.studies:,} studies:",
               inside, hits)
        report(f"C-FIND STUDY level, pynetdicom SCU (one association, time per C-FIND; it decodes every answer), {args.studies:,} studies:",
               *time_pynetdicom(dicom_port, query_mix(samples, rng, n)))
        report(f"QIDO-RS /dicomweb/studies?limit=100, Token auth, gunicorn {args.workers} workers, {args.studies:,} studies:",
               *time_qido(base_url, token, query_mix(samples, rng, n)))
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
        connections.close_all()
        drop_scratch_database(base, SCRATCH_DB)
        shutil.rmtree(data_dir, ignore_errors=True)


if __name__ == "__main__":
    main()
