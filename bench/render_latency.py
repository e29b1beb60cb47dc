"""Latency of windowed slice images through HTTP, against a real gunicorn.

Builds a scratch archive (a temporary data dir, SQLite by default), ingests the 140-slice
head phantom through studies.ingest, starts gunicorn on a free port, logs in with a session
cookie and requests a different slice each time: the REST frame image as JPEG and PNG, and
the DICOMweb rendered resource as JPEG and PNG, interleaved so every kind meets the same
machine load. Prints p50/p95 per kind, a 304 revalidation (the whole stack without rendering),
and the in-process cost of rendering.render_frame alone. Targets: JPEG p50 ≤ 10 ms, PNG ≤ 20 ms.

The database: SQLite in the scratch data dir, or with DATABASE_URL a scratch database
``lumen_bench_render`` on that PostgreSQL server (dropped and re-created, dropped at the end).

    .venv/bin/python bench/render_latency.py [--requests 200] [--workers 1]
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/lumen .venv/bin/python bench/render_latency.py
"""
from __future__ import annotations

import argparse
import http.client
import os
import random
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
from bench.support import drop_scratch_database, free_port, scratch_database_url  # noqa: E402
SAMPLES = Path(os.environ.get("LUMEN_SAMPLES_DIR", REPO.parent / "shared" / "dicom-samples"))
CT_HEAD = SAMPLES / "ct_series" / "philips_ingenuity_head_phantom_1mm"
SCRATCH_DB = "lumen_bench_render"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=200, help="timed requests per kind (default 200)")
    parser.add_argument("--workers", type=int, default=1, help="gunicorn workers (default 1: requests are sequential)")
    args = parser.parse_args()

    data_dir = Path(tempfile.mkdtemp(prefix="lumen-render-bench-"))
    base_url = os.environ.get("DATABASE_URL")
    os.environ.update(
        {
            "LUMEN_DATA_DIR": str(data_dir),
            "DATABASE_URL": scratch_database_url(base_url, data_dir, SCRATCH_DB),
            "DJANGO_SETTINGS_MODULE": "pacs.settings",
            "DEBUG": "0",
            "LOG_LEVEL": "WARNING",
        }
    )
    server = None
    try:
        session, slices = prepare_archive()
        port = free_port()
        server = subprocess.Popen(
            [str(REPO / ".venv" / "bin" / "gunicorn"), "pacs.wsgi:application", "--bind", f"127.0.0.1:{port}",
             "--workers", str(args.workers), "--log-level", "warning"],
            cwd=REPO, env=os.environ.copy(),
        )
        wait_for(port)
        database = os.environ["DATABASE_URL"].split(":", 1)[0]
        print(f"{len(slices)} slices of 512×512 CT, {database}, gunicorn with {args.workers} worker(s), {args.requests} requests per kind")
        print(f"load average before: {os.getloadavg()[0]:.2f} (the kinds are interleaved, so they share the same conditions)\n")
        results = measure(port, session, slices, KINDS, args.requests)
        print(f"{'kind':<34}{'p50':>9}{'p95':>9}{'mean':>9}{'size':>10}")
        for (label, *_), (times, size) in zip(KINDS, results):
            report(label, times, size)
        print()
        in_process_floor(slices, args.requests)
    finally:
        if server is not None:
            server.terminate()
            server.wait(timeout=10)
        from django.db import connections

        connections.close_all()
        drop_scratch_database(base_url, SCRATCH_DB)
        shutil.rmtree(data_dir, ignore_errors=True)


def prepare_archive() -> tuple[str, list[tuple[str, str, str]]]:
    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.core.management import call_command
    from django.test import Client

    from studies.ingest import Origin, ingest_file
    from studies.models import Instance

    call_command("migrate", verbosity=0)
    user = get_user_model().objects.create_user("bench", password="bench-password-123")
    for path in sorted(CT_HEAD.iterdir()):
        result = ingest_file(path, origin=Origin(user_id=user.id))
        assert result.ok, result.reason
    client = Client()
    client.force_login(user)
    slices = list(
        Instance.objects.values_list("series__study__study_instance_uid", "series__series_instance_uid", "sop_instance_uid")
    )
    return client.cookies["sessionid"].value, slices


IMAGE = "/api/studies/{}/series/{}/instances/{}/frames/1/image"
RENDERED = "/dicomweb/studies/{}/series/{}/instances/{}/frames/1/rendered"
# (label, path template, Accept, answered 304 from If-None-Match)
KINDS = (
    ("REST image, JPEG", IMAGE, "*/*", False),
    ("REST image, PNG", IMAGE + "?format=png", "*/*", False),
    ("REST image, JPEG, preset=brain", IMAGE + "?preset=brain", "*/*", False),
    ("DICOMweb rendered, JPEG", RENDERED, "image/jpeg", False),
    ("DICOMweb rendered, PNG", RENDERED, "image/png", False),
    # HTTP, session, user, visibility lookup and ETag, without rendering: the floor of the stack.
    ("REST image, 304 (no rendering)", IMAGE, "*/*", True),
)


def measure(port, session, slices, kinds, count) -> list[tuple[list[float], int]]:
    """Round-robin over the kinds, a different slice each request."""
    order = random.Random(1).sample(slices, len(slices))
    cookie = {"Cookie": f"sessionid={session}"}
    etags = {}
    for uids in order:  # warm up (imports, the window table) and learn the ETags
        etags[uids] = get(port, IMAGE.format(*uids), cookie)[1]
    samples = [([], []) for _ in kinds]
    for i in range(count):
        uids = order[i % len(order)]
        for (label, template, accept, revalidate), (times, sizes) in zip(kinds, samples):
            headers = {**cookie, "Accept": accept}
            if revalidate:
                headers["If-None-Match"] = etags[uids]
            started = time.perf_counter()
            body, _ = get(port, template.format(*uids), headers, 304 if revalidate else 200)
            times.append(time.perf_counter() - started)
            sizes.append(len(body))
    return [(times, int(statistics.mean(sizes))) for times, sizes in samples]


def get(port: int, path: str, headers: dict, expected: int = 200) -> tuple[bytes, str]:
    # A new connection per request, as gunicorn's sync workers close it after each answer.
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        connection.request("GET", path, headers=headers)
        response = connection.getresponse()
        body = response.read()
        image = response.getheader("Content-Type", "").startswith("image/")
        if response.status != expected or (expected == 200 and not image):
            raise SystemExit(f"GET {path} → {response.status}: {body[:200]!r}")
        return body, response.getheader("ETag", "")
    finally:
        connection.close()


def in_process_floor(slices, count: int) -> None:
    from studies import rendering
    from studies.models import Instance

    instances = {i.sop_instance_uid: i for i in Instance.objects.all()}
    for label, options in (("JPEG", rendering.ImageOptions()), ("PNG", rendering.ImageOptions(media_type=rendering.PNG))):
        times = []
        for i in range(count):
            instance = instances[slices[i % len(slices)][2]]
            started = time.perf_counter()
            body = rendering.render_frame(instance, 1, options)
            times.append(time.perf_counter() - started)
        report(f"in-process render_frame, {label}", times, len(body))


def report(label: str, times: list[float], size: int) -> None:
    ordered = sorted(times)
    p50 = ordered[len(ordered) // 2] * 1000
    p95 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.95))] * 1000
    print(f"{label:<34}{p50:>7.2f}ms{p95:>7.2f}ms{statistics.mean(times) * 1000:>7.2f}ms{size / 1024:>8.1f}kB", flush=True)


def wait_for(port: int, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.1)
    raise SystemExit(f"gunicorn did not start on port {port}")


if __name__ == "__main__":
    sys.path.insert(0, str(REPO))
    main()
