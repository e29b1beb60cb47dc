"""The diagnostic viewer in headless Chromium against a real gunicorn: how fast the 140-slice
head CT opens, loads and scrolls.

Builds a scratch archive (a temporary data dir, SQLite by default; with DATABASE_URL a scratch
database ``lumen_bench_viewer`` on that PostgreSQL server), collects the static files with the
production manifest storage (DEBUG off), ingests the CT, starts gunicorn as `make run` does
(2 workers × 4 threads) and drives Debian's Chromium with Playwright:

- time to first image: click "Open in viewer" on the study page (a second after it loaded)
  → the first slice drawn on the canvas (target ≤ 1 s); first visits (each in a fresh browser context: empty HTTP and
  code caches), then warm runs in one context;
- all slices loaded: the same click → every frame fetched and decoded (target ≤ 3 s);
- scrolling: one slice per drawn frame through the loaded stack, frames per second (≥ 60);
- window drag: mouse-drag window/level, redraws per second (≥ 30);
- the study reopened in a browser profile with a disk cache (frames from the browser's cache).

Needs the built viewer (`make viewer`). Chromium runs with its frame-rate limit off so the
rates are not capped at the display's 60 Hz.

    .venv/bin/python bench/viewer_load.py [--runs 5]
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
from bench.support import drop_scratch_database, free_port, scratch_database_url, wait_for_port  # noqa: E402

SAMPLES = Path(os.environ.get("LUMEN_SAMPLES_DIR", REPO.parent / "shared" / "dicom-samples"))
CT_HEAD = SAMPLES / "ct_series" / "philips_ingenuity_head_phantom_1mm"
SCRATCH_DB = "lumen_bench_viewer"
BUNDLE = REPO / "frontend" / "static" / "frontend" / "viewer" / "viewer.js"
# The click on "Open" comes this long after the study page's load event, as a reader's would. A
# fresh browser context is still busy starting for ~0.5 s after its first page loads (no request
# of ours meanwhile); clicked at once, a first visit measured that start too (1.05-1.42 s against
# 0.71-0.91 s after 0.5-1.5 s, same build, alternated).
SETTLE_MS = 1000
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-frame-rate-limit", "--disable-gpu-vsync"]

# In the page: step one slice per drawn frame (the keyboard path of the viewer) and count.
SCROLL_JS = """async (count) => {
  const host = document.querySelector('.viewport.active .viewport-host');
  const slices = Number(document.getElementById('position').textContent.split('/')[1]);
  const key = (name) => document.body.dispatchEvent(new KeyboardEvent('keydown', { key: name, bubbles: true }));
  key('Home');
  await new Promise(r => setTimeout(r, 300));
  return await new Promise((resolve) => {
    let rendered = 0, started = 0, index = 0, direction = 1;
    const next = () => {
      if (index + direction < 0 || index + direction >= slices) direction = -direction;  // bounce at the ends
      index += direction;
      key(direction > 0 ? 'ArrowDown' : 'ArrowUp');
    };
    const onRender = () => {
      rendered += 1;
      if (rendered === 1) started = performance.now();
      if (rendered > count) {
        host.removeEventListener('CORNERSTONE_IMAGE_RENDERED', onRender);
        resolve({ frames: count, seconds: (performance.now() - started) / 1000, position: document.getElementById('position').textContent });
        return;
      }
      next();
    };
    host.addEventListener('CORNERSTONE_IMAGE_RENDERED', onRender);
    next();
  });
}"""

# In the page: a left-button drag with the W/L tool, one mouse move per drawn frame.
WINDOW_JS = """async (count) => {
  const host = document.querySelector('.viewport.active .viewport-host');
  const box = host.getBoundingClientRect();
  const at = (x, y) => ({ clientX: box.left + x, clientY: box.top + y, pageX: box.left + x, pageY: box.top + y, bubbles: true, buttons: 1, button: 0 });
  const target = host.querySelector('canvas') || host;
  let x = box.width / 2, y = box.height / 2;
  target.dispatchEvent(new MouseEvent('mousedown', at(x, y)));
  await new Promise(r => setTimeout(r, 450));  // past Cornerstone's double-click window
  return await new Promise((resolve) => {
    let rendered = 0, started = 0;
    const onRender = () => {
      rendered += 1;
      if (rendered === 1) started = performance.now();
      if (rendered > count) {
        host.removeEventListener('CORNERSTONE_IMAGE_RENDERED', onRender);
        document.dispatchEvent(new MouseEvent('mouseup', at(x, y)));
        resolve({ frames: count, seconds: (performance.now() - started) / 1000, window: document.getElementById('window-value').textContent });
        return;
      }
      x += (rendered % 100 < 50 ? 2 : -2); y += 1 * (rendered % 60 < 30 ? 1 : -1);
      document.dispatchEvent(new MouseEvent('mousemove', at(x, y)));
    };
    host.addEventListener('CORNERSTONE_IMAGE_RENDERED', onRender);
    x += 2;
    document.dispatchEvent(new MouseEvent('mousemove', at(x, y)));
  });
}"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5, help="first visits, and warm openings of the study")
    args = parser.parse_args()
    if not BUNDLE.exists():
        raise SystemExit("the viewer is not built: run `make viewer` first")

    data_dir = Path(tempfile.mkdtemp(prefix="lumen-viewer-bench-"))
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
        session, study_uid = prepare_archive()
        port = free_port()
        server = subprocess.Popen(
            [str(REPO / ".venv" / "bin" / "gunicorn"), "pacs.wsgi:application", "--bind", f"127.0.0.1:{port}",
             "--workers", "2", "--threads", "4", "--log-level", "warning"],
            cwd=REPO, env=os.environ.copy(),
        )
        wait_for_port(port, server)
        database = os.environ["DATABASE_URL"].split(":", 1)[0]
        print(f"140-slice 512×512 CT (73 MB), {database}, gunicorn 2 workers × 4 threads, headless Chromium (software GL)")
        print(f"load average before: {os.getloadavg()[0]:.2f}\n")
        drive(f"http://127.0.0.1:{port}", session, study_uid, args.runs)
    finally:
        if server is not None:
            server.terminate()
            server.wait(timeout=10)
        from django.db import connections

        connections.close_all()
        drop_scratch_database(base_url, SCRATCH_DB)
        shutil.rmtree(data_dir, ignore_errors=True)


def prepare_archive() -> tuple[str, str]:
    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.core.management import call_command
    from django.test import Client

    from studies.ingest import Origin, ingest_file
    from studies.models import Study

    call_command("migrate", verbosity=0)
    call_command("collectstatic", interactive=False, verbosity=0)
    user = get_user_model().objects.create_user("bench", password="bench-password-123")
    for path in sorted(CT_HEAD.iterdir()):
        result = ingest_file(path, origin=Origin(user_id=user.id))
        assert result.ok, result.reason
    client = Client()
    client.force_login(user)
    return client.cookies["sessionid"].value, Study.objects.get().study_instance_uid


def drive(base: str, session: str, study_uid: str, runs: int) -> None:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_FLAGS)
        errors: list[str] = []
        cold = [first_visit(new_page(browser, base, session, errors), study_uid) for _ in range(runs)]
        page = new_page(browser, base, session, errors)
        open_study(page, study_uid)  # fills this context's caches
        warm = [open_study(page, study_uid) for _ in range(runs)]
        print(f"{'':<44}{'first visit':>12}{'':>6}{'warm':>10}{'':>6}   target   (load {os.getloadavg()[0]:.2f})")
        print(f"{'':<44}{'p50':>8}{'max':>8}{'p50':>10}{'max':>8}")
        line("time to first image after 'Open' (s)", [c[0] for c in cold], [w[0] for w in warm], "≤ 1 s")
        line("all 140 slices loaded after 'Open' (s)", [c[1] for c in cold], [w[1] for w in warm], "≤ 3 s")
        print()
        scroll = page.evaluate(SCROLL_JS, 420)
        print(f"scrolling the loaded stack: {scroll['frames'] / scroll['seconds']:.0f} frames/s "
              f"({scroll['frames']} slices in {scroll['seconds']:.2f} s; ends at {scroll['position']})   target ≥ 60")
        drag = page.evaluate(WINDOW_JS, 200)
        print(f"window drag redraw: {drag['frames'] / drag['seconds']:.0f} frames/s "
              f"({drag['frames']} redraws in {drag['seconds']:.2f} s; ends at {drag['window']})   target ≥ 30")
        if errors:
            raise SystemExit(f"page errors: {errors}")
        browser.close()
        reopened(playwright, base, session, study_uid, runs)


def new_page(browser, base: str, session: str, errors: list[str]):
    """A page in a fresh browser context: empty HTTP cache, no compiled script cached."""
    context = browser.new_context(base_url=base, viewport={"width": 1600, "height": 1000})
    context.add_cookies([{"name": "sessionid", "value": session, "url": base}])
    page = context.new_page()
    page.on("pageerror", lambda error: errors.append(str(error)))
    return page


def first_visit(page, study_uid: str) -> tuple[float, float]:
    try:
        return open_study(page, study_uid)
    finally:
        page.context.close()


def open_study(page, study_uid: str) -> tuple[float, float]:
    """Seconds from the click on 'Open in viewer' to the first slice drawn and to all 140 loaded."""
    page.goto(f"/studies/{study_uid}/")
    page.wait_for_load_state("load")
    page.wait_for_timeout(SETTLE_MS)
    started = time.perf_counter()
    page.click("#open-viewer")
    page.wait_for_selector(".viewport.active[data-rendered]", timeout=60_000)
    first = time.perf_counter() - started
    page.wait_for_selector("#viewer[data-loaded='140']", state="attached", timeout=120_000)
    return first, time.perf_counter() - started


def reopened(playwright, base: str, session: str, study_uid: str, runs: int) -> None:
    """The study opened again in a browser with a disk cache, as a reader's profile has: the frames
    (cached privately, studies/dicomweb/wado.py) come from it. The runs above use a fresh context,
    whose in-memory cache cannot hold the series, so they measure the network path."""
    profile = tempfile.mkdtemp(prefix="lumen-viewer-profile-")
    context = playwright.chromium.launch_persistent_context(
        profile, executable_path="/usr/bin/chromium", args=CHROMIUM_FLAGS, base_url=base, viewport={"width": 1600, "height": 1000}
    )
    try:
        context.add_cookies([{"name": "sessionid", "value": session, "url": base}])
        page = context.new_page()
        loaded = []
        for _ in range(max(runs, 2)):
            page.goto(f"/studies/{study_uid}/")
            page.wait_for_load_state("load")
            started = time.perf_counter()
            page.click("#open-viewer")
            page.wait_for_selector("#viewer[data-loaded='140']", state="attached", timeout=120_000)
            loaded.append(time.perf_counter() - started)
        print(f"\nreopened with a disk cache, all 140 slices loaded (s): first open {loaded[0]:.2f}, "
              f"reopened p50 {statistics.median(loaded[1:]):.2f} max {max(loaded[1:]):.2f}   (load {os.getloadavg()[0]:.2f})")
    finally:
        context.close()
        shutil.rmtree(profile, ignore_errors=True)


def line(label: str, cold: list[float], warm: list[float], target: str) -> None:
    print(f"{label:<44}{statistics.median(cold):>8.2f}{max(cold):>8.2f}"
          f"{statistics.median(warm):>10.2f}{max(warm):>8.2f}   {target}", flush=True)


if __name__ == "__main__":
    main()
