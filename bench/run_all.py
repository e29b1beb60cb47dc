"""Run every benchmark in turn and print their figures (``make bench``).

Each script sets up its own scratch database and data dir; with DATABASE_URL set they use
that PostgreSQL server (scratch databases only), otherwise SQLite. The targets they report
against: C-STORE ≥ 100 instances/s, ZIP upload ≤ 3 s, rendered JPEG p50 ≤ 10 ms and PNG
≤ 20 ms, study search p95 ≤ 50 ms over 100,000 studies (PostgreSQL only); the viewer (issue 5):
first image ≤ 1 s, all 140 slices ≤ 3 s, scrolling ≥ 60 frames/s, window drag ≥ 30, and the
time to MPR and to a fused PET/CT; DICOM interfaces (issue 3, PostgreSQL only): C-FIND and
QIDO-RS p95 over 100,000 studies, WADO-RS metadata p95, instance p95 and streaming rate.
"""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parent
SCRIPTS = [
    "cstore_ingest.py", "upload_zip.py", "render_latency.py", "study_search.py",
    "dicom_query.py", "wado.py", "viewer_load.py", "viewer_mpr.py",
]
POSTGRES_ONLY = {"study_search.py", "dicom_query.py", "wado.py"}


def main() -> int:
    failed = []
    for script in SCRIPTS:
        if script in POSTGRES_ONLY and not os.environ.get("DATABASE_URL", "").startswith("postgres"):
            print(f"== {script}: skipped (needs DATABASE_URL on PostgreSQL)\n", flush=True)
            continue
        print(f"== {script}", flush=True)
        if subprocess.run([sys.executable, str(BENCH / script)]).returncode != 0:
            failed.append(script)
        print(flush=True)
    if failed:
        print("failed:", ", ".join(failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
