"""MPR and PET/CT fusion in headless Chromium against a real gunicorn: how long until the three
MPR views are drawn and the volume is complete, and how long a PET/CT study takes to open fused.

Builds a scratch archive (a temporary data dir, SQLite by default; with DATABASE_URL a scratch
database ``lumen_bench_mpr`` on that PostgreSQL server), collects the static files with the
production manifest storage (DEBUG off), ingests the 140-slice head CT and the PET/CT sample,
starts gunicorn as `make run` does (2 workers × 4 threads) and drives Debian's Chromium
(software WebGL: SwiftShader) with Playwright:

- MPR after the stack is loaded: click "MPR" → all three views drawn → volume complete (the
  frames come from Cornerstone's image cache);
- MPR at once: open the study, click "MPR" on the first image → three views drawn → all 140
  frames streamed into the volume;
- PET/CT: open the study → fused view drawn → CT (59) and PET (267) volumes complete.

Needs the built viewer (`make viewer`).

    .venv/bin/python bench/viewer_mpr.py [--runs 3]
"""
from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
from bench.support import (
    drop_scratch_database,
    free_port,
    scratch_database_url,
    wait_for_port,
)

SAMPLES = Path(os.environ.get("LUMEN_SAMPLES_DIR", REPO.parent / "shared" / "dicom-samples"))
CT_HEAD = SAMPLES / "ct_series" / "philips_ingenuity_head_phantom_1mm"
PET_CT = SAMPLES / "pet_ct"
SCRATCH_DB = "lumen_bench_mpr"
BUNDLE = REPO / "frontend" / "static" / "frontend" / "viewer" / "viewer.js"
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
THREE_DRAWN = "() => [...document.querySelectorAll('.volume-cell')].filter(c => c.dataset.renders).length === 3"
FUSED_DRAWN = "() => !!document.querySelector('.volume-cell[data-viewport-id=fusion][data-renders]')"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    if not BUNDLE.exists():
        raise SystemExit("the viewer is not built: run `make viewer` first")
    data_dir = Path(tempfile.mkdtemp(prefix="lumen-mpr-bench-"))
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
        session, ct_uid, pet_uid = prepare_archive()
        port = free_port()
        server = subprocess.Popen(
            [str(REPO / ".venv" / "bin" / "gunicorn"), "pacs.wsgi:application", "--bind", f"127.0.0.1:{port}",
             "--workers", "2", "--threads", "4", "--log-level", "warning"],
            cwd=REPO, env=os.environ.copy(),
        )
        wait_for_port(port, server)
        print(f"{os.environ['DATABASE_URL'].split(':', 1)[0]}, gunicorn 2 workers × 4 threads, headless Chromium (SwiftShader WebGL)")
        print(f"load average before: {os.getloadavg()[0]:.2f}\n")
        drive(f"http://127.0.0.1:{port}", session, ct_uid, pet_uid, args.runs)
    finally:
        if server is not None:
            server.terminate()
            server.wait(timeout=10)
        from django.db import connections

        connections.close_all()
        drop_scratch_database(base_url, SCRATCH_DB)
        shutil.rmtree(data_dir, ignore_errors=True)


def prepare_archive() -> tuple[str, str, str]:
    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.core.management import call_command
    from django.test import Client

    from studies.ingest import Origin, ingest_file
    from studies.models import Series

    call_command("migrate", verbosity=0)
    call_command("collectstatic", interactive=False, verbosity=0)
    user = get_user_model().objects.create_user("bench", password="bench-password-123")
    for path in [*sorted(CT_HEAD.iterdir()), *sorted(p for p in PET_CT.rglob("*") if p.is_file())]:
        result = ingest_file(path, origin=Origin(user_id=user.id))
        assert result.ok, result.reason
    client = Client()
    client.force_login(user)
    series = list(Series.objects.select_related("study"))
    head = next(s.study.study_instance_uid for s in series if s.instances.count() == 140)
    pet = next(s.study.study_instance_uid for s in series if s.modality == "PT")
    return client.cookies["sessionid"].value, head, pet


def drive(base: str, session: str, ct_uid: str, pet_uid: str, runs: int) -> None:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_FLAGS)
        context = browser.new_context(base_url=base, viewport={"width": 1600, "height": 1000})
        context.add_cookies([{"name": "sessionid", "value": session, "url": base}])
        page = context.new_page()
        errors = []
        page.on("pageerror", lambda error: errors.append(str(error)))
        rows: dict[str, list[float]] = {}

        def note(label: str, seconds: float) -> None:
            rows.setdefault(label, []).append(seconds)

        for _ in range(runs):
            # MPR of a stack already loaded.
            page.goto(f"/studies/{ct_uid}/viewer/")
            page.wait_for_selector("#viewer[data-state=ready]", timeout=60_000)
            page.wait_for_selector("#viewer[data-loaded='140']", state="attached", timeout=120_000)
            started = time.perf_counter()
            page.click("#mode-mpr")
            page.wait_for_function(THREE_DRAWN, timeout=120_000)
            note("loaded stack → 3 MPR views drawn", time.perf_counter() - started)
            page.wait_for_selector("#volume-grid[data-volume=loaded]", state="attached", timeout=120_000)
            note("loaded stack → volume complete", time.perf_counter() - started)

            # MPR at once, on the first image.
            page.goto("about:blank")
            started = time.perf_counter()
            page.goto(f"/studies/{ct_uid}/viewer/")
            page.wait_for_selector(".viewport.active[data-rendered]", timeout=60_000)
            page.wait_for_selector("#viewer[data-state=ready]", timeout=60_000)
            page.click("#mode-mpr")
            page.wait_for_function(THREE_DRAWN, timeout=120_000)
            note("open → MPR at once → 3 views drawn", time.perf_counter() - started)
            page.wait_for_selector("#volume-grid[data-volume=loaded]", state="attached", timeout=120_000)
            note("open → MPR at once → volume complete", time.perf_counter() - started)

            # PET/CT opens fused.
            page.goto("about:blank")
            started = time.perf_counter()
            page.goto(f"/studies/{pet_uid}/viewer/")
            page.wait_for_function(FUSED_DRAWN, timeout=120_000)
            note("PET/CT open → fused view drawn", time.perf_counter() - started)
            page.wait_for_selector("#volume-grid[data-volume=loaded]", state="attached", timeout=120_000)
            note("PET/CT open → CT + PET volumes complete", time.perf_counter() - started)
        print(f"{'':<44}{'first':>8}{'p50':>8}{'max':>8}  (s, {runs} runs)")
        for label, values in rows.items():
            print(f"{label:<44}{values[0]:>8.2f}{statistics.median(values):>8.2f}{max(values):>8.2f}", flush=True)
        if errors:
            raise SystemExit(f"page errors: {errors}")
        browser.close()


if __name__ == "__main__":
    main()
