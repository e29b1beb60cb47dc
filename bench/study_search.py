"""Study search through HTTP over a 100,000-study index: p50/p95 per kind of search.

Seeds a scratch PostgreSQL database ``lumen_bench_search`` (dropped and re-created on the
server named by DATABASE_URL, default the local one) with bench/seed_studies.py, starts
gunicorn on a free port, logs in as a radiologist (staff: sees every study) and as a
referrer (sees the ~1 % they uploaded: the visibility rule's subquery at work), and times
GET / with a mix of searches. Target: p95 ≤ 50 ms for the radiologist.

    .venv/bin/python bench/study_search.py [--studies 100000] [--requests 30]
"""
from __future__ import annotations

import argparse
import os
import random
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
from bench.support import drop_scratch_database, free_port, scratch_database_url, wait_for_port  # noqa: E402
PYTHON = str(REPO / ".venv" / "bin" / "python") if (REPO / ".venv" / "bin" / "python").exists() else sys.executable
SCRATCH_DB = "lumen_bench_search"
PASSWORD = "bench-password-1234"


def login(base_url: str, username: str):
    import requests

    session = requests.Session()
    page = session.get(f"{base_url}/login/")
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text).group(1)
    answer = session.post(f"{base_url}/login/", data={"username": username, "password": PASSWORD, "csrfmiddlewaretoken": token},
                          headers={"Referer": f"{base_url}/login/"}, allow_redirects=False)
    if answer.status_code != 302:
        raise SystemExit(f"login as {username} failed: {answer.status_code}")
    return session


def query_mix(samples: dict, rng: random.Random, count: int) -> dict[str, list[dict]]:
    """``count`` queries of each kind, with values that exist in the seeded data."""
    def window() -> dict:
        start = date(2005, 1, 1) + timedelta(days=rng.randrange(7000))
        return {"date_from": start.isoformat(), "date_to": (start + timedelta(days=30)).isoformat()}

    return {
        "unfiltered, page 1": [{} for _ in range(count)],
        "unfiltered, page 8": [{"page": "8"} for _ in range(count)],
        "name prefix DOE*": [{"patient_name": rng.choice(samples["family"])[:3] + "*"} for _ in range(count)],
        "name family^given": [{"patient_name": f"{rng.choice(samples['family'])}^{rng.choice(samples['given'])[:2]}*"} for _ in range(count)],
        "name contains *ANN*": [{"patient_name": "*" + rng.choice(samples["given"])[1:4] + "*"} for _ in range(count)],
        "patient id": [{"patient_id": rng.choice(samples["patient_ids"])} for _ in range(count)],
        "study date, 30 days": [window() for _ in range(count)],
        "modality": [{"modality": rng.choice(samples["modalities"])} for _ in range(count)],
        "accession": [{"accession": rng.choice(samples["accessions"])} for _ in range(count)],
        "description contains": [{"description": rng.choice(["knee", "chest", "angio", "pet", "thyroid"])} for _ in range(count)],
        "name* + modality + dates": [{**window(), "patient_name": rng.choice(samples["family"])[:2] + "*", "modality": "CT"} for _ in range(count)],
    }


def time_queries(session, base_url: str, mix: dict[str, list[dict]]) -> dict[str, list[float]]:
    timings: dict[str, list[float]] = {kind: [] for kind in mix}
    # Interleave the kinds so that no kind profits from a cache the previous request warmed.
    rounds = max(len(queries) for queries in mix.values())
    for i in range(rounds):
        for kind, queries in mix.items():
            start = time.perf_counter()
            response = session.get(f"{base_url}/", params=queries[i])
            elapsed = time.perf_counter() - start
            if response.status_code != 200 or 'id="search-errors"' in response.text:
                raise SystemExit(f"{kind} {queries[i]} answered {response.status_code}")
            timings[kind].append(elapsed * 1000)
    return timings


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(p / 100 * len(ordered) + 0.5) - 1))]


def report(title: str, timings: dict[str, list[float]], target: float | None) -> None:
    print(f"\n{title}")
    print(f"  {'search':28} {'p50 ms':>7} {'p95 ms':>7} {'max ms':>7}")
    for kind, values in timings.items():
        print(f"  {kind:28} {statistics.median(values):7.1f} {percentile(values, 95):7.1f} {max(values):7.1f}")
    every = [v for values in timings.values() for v in values]
    p95 = percentile(every, 95)
    verdict = "" if target is None else ("  (target ≤ %.0f ms: %s)" % (target, "met" if p95 <= target else "NOT met"))
    print(f"  {'all ' + str(len(every)) + ' requests':28} {statistics.median(every):7.1f} {p95:7.1f} {max(every):7.1f}{verdict}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--studies", type=int, default=100_000)
    parser.add_argument("--requests", type=int, default=30, help="requests per kind of search and user")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn worker processes")
    args = parser.parse_args()

    base = os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/postgres")
    if not base.startswith("postgres"):
        raise SystemExit("this benchmark needs PostgreSQL (DATABASE_URL=postgres://...)")
    data_dir = Path(tempfile.mkdtemp(prefix="lumen-bench-search-"))
    database_url = scratch_database_url(base, None, SCRATCH_DB)
    env = {**os.environ, "DATABASE_URL": database_url, "LUMEN_DATA_DIR": str(data_dir), "LOG_LEVEL": "WARNING",
           "DEBUG": "0", "SECURE_COOKIES": "0", "DJANGO_SETTINGS_MODULE": "pacs.settings"}
    os.environ.update(env)
    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.core.management import call_command
    from django.db import connection, connections

    from bench.seed_studies import seed

    server = None
    try:
        call_command("migrate", verbosity=0)
        call_command("collectstatic", interactive=False, verbosity=0)
        users = get_user_model().objects
        from accounts.roles import RADIOLOGIST, set_role

        # A radiologist reads the pool: every seeded study is in it (received over DICOM).
        set_role(users.create_user("radiologist", password=PASSWORD), RADIOLOGIST)
        referrer = users.create_user("referrer", password=PASSWORD)
        uploader = users.create_user("modality-gateway", password=PASSWORD)

        start = time.perf_counter()
        samples = seed(args.studies, uploader=uploader, referrer=referrer)
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE")
        print(f"Seeded {args.studies:,} studies ({int(args.studies * 0.6):,} patients, one Instance row each; "
              f"the referrer uploaded {samples['referrer_studies']:,}) in {time.perf_counter() - start:.1f} s")
        connections.close_all()

        port = free_port()
        server = subprocess.Popen(
            [PYTHON, "-m", "gunicorn", "pacs.wsgi", "--bind", f"127.0.0.1:{port}", "--workers", str(args.workers),
             "--log-level", "warning"],
            cwd=REPO, env=env,
        )
        wait_for_port(port, server)
        base_url = f"http://127.0.0.1:{port}"

        rng = random.Random(2)
        for username, target in (("radiologist", 50.0), ("referrer", None)):
            session = login(base_url, username)
            time_queries(session, base_url, query_mix(samples, rng, 3))  # warm up both workers
            timings = time_queries(session, base_url, query_mix(samples, rng, args.requests))
            who = "reading pool: all" if username == "radiologist" else f"sees {samples['referrer_studies']:,}"
            report(f"GET / as the {username} ({who}), gunicorn {args.workers} workers, {args.studies:,} studies:", timings, target)
    finally:
        if server is not None:
            server.terminate()
            server.wait(timeout=20)
        connections.close_all()
        drop_scratch_database(base, SCRATCH_DB)
        shutil.rmtree(data_dir, ignore_errors=True)


if __name__ == "__main__":
    main()
