"""Web ZIP upload, end to end: the 140-slice CT_HEAD (74.6 MB) as one ZIP through HTTP.

Starts gunicorn on a free port and a Celery worker (prefork, ``--concurrency``, 2 by default
like bin/run-all) over a scratch data dir and a scratch database, logs in, then times what a
browser does: create the job, send the ZIP (one big file goes alone), complete, poll progress
until the job is done. Target: upload start → all 140 stored in ≤ 3 s. Prints the phases.

The database: SQLite in the scratch dir, or with DATABASE_URL a scratch database
``lumen_bench_upload`` on that PostgreSQL server (dropped and re-created). The broker:
CELERY_BROKER_URL if set (a queue of its own), else the default filesystem queue.

    .venv/bin/python bench/upload_zip.py [--store] [--concurrency 2]
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/lumen CELERY_BROKER_URL=redis://127.0.0.1:6379/0 .venv/bin/python bench/upload_zip.py
"""
from __future__ import annotations

import argparse
import http.client
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
import zipfile
from pathlib import Path
from urllib.parse import urlencode, urlsplit

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
from bench.support import drop_scratch_database, free_port, scratch_database_url, wait_for_port  # noqa: E402
SAMPLES = Path(os.environ.get("LUMEN_SAMPLES_DIR", REPO.parent / "shared" / "dicom-samples"))
CT_HEAD = SAMPLES / "ct_series" / "philips_ingenuity_head_phantom_1mm"
VENV_BIN = REPO / ".venv" / "bin"
SCRATCH_DB = "lumen_bench_upload"
PASSWORD = "bench-password-123"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--store", action="store_true", help="ZIP without compression (default: deflate, as most tools do)")
    parser.add_argument("--concurrency", type=int, default=2, help="Celery worker processes (default 2)")
    parser.add_argument("--web-workers", type=int, default=2, help="gunicorn workers (default 2)")
    parser.add_argument("--worker-log", action="store_true", help="print the worker's task lines (when each task ran)")
    args = parser.parse_args()

    data_dir = Path(tempfile.mkdtemp(prefix="lumen-upload-bench-"))
    base_db = os.environ.get("DATABASE_URL")
    queue = f"lumen-bench-{uuid.uuid4().hex[:8]}"
    env = {
        **os.environ,
        "LUMEN_DATA_DIR": str(data_dir),
        "DATABASE_URL": scratch_database_url(base_db, data_dir, SCRATCH_DB),
        "LUMEN_TASK_QUEUE": queue,
        "DJANGO_SETTINGS_MODULE": "pacs.settings",
        "DEBUG": "0",
        "SECURE_COOKIES": "0",
        "LOG_LEVEL": "WARNING",
    }
    processes: list[subprocess.Popen] = []
    try:
        manage = [str(VENV_BIN / "python"), "manage.py"]
        subprocess.run([*manage, "migrate", "--noinput", "-v0"], cwd=REPO, env=env, check=True)
        subprocess.run([*manage, "collectstatic", "--noinput", "-v0"], cwd=REPO, env=env, check=True)  # pages need the manifest
        create_user = "from django.contrib.auth import get_user_model; get_user_model().objects.create_user('bench', password=%r)" % PASSWORD
        subprocess.run([*manage, "shell", "-c", create_user], cwd=REPO, env=env, check=True)

        floor = in_process_floor(manage, env)
        subprocess.run([*manage, "flush", "--noinput"], cwd=REPO, env=env, check=True)
        subprocess.run([*manage, "shell", "-c", create_user], cwd=REPO, env=env, check=True)

        archive = data_dir / "ct_head.zip"
        started = time.perf_counter()
        build_zip(archive, store=args.store)
        print(f"ZIP: {len(list(CT_HEAD.iterdir()))} files, {archive.stat().st_size / 1e6:.1f} MB "
              f"({'stored' if args.store else 'deflated'}), built in {time.perf_counter() - started:.1f} s (not timed)")

        port = free_port()
        worker_log = data_dir / "worker.log"
        log = open(data_dir / "gunicorn.log", "wb")
        processes.append(subprocess.Popen(
            [str(VENV_BIN / "celery"), "-A", "pacs", "worker", "-Q", queue, f"--concurrency={args.concurrency}",
             "--loglevel=INFO", "--without-gossip", "--without-mingle", f"--logfile={worker_log}"],
            cwd=REPO, env={**env, "LOG_LEVEL": "INFO"}, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT,
        ))
        processes.append(subprocess.Popen(
            [str(VENV_BIN / "gunicorn"), "pacs.wsgi", "--bind", f"127.0.0.1:{port}", "--workers", str(args.web_workers),
             "--threads", "4", "--timeout", "300", "--log-level", "warning"],
            cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT,
        ))
        wait_for_port(port)
        wait_for_worker(worker_log)
        client = Session(port)
        client.login("bench", PASSWORD)

        timings = upload(client, archive)
        progress = timings.pop("progress")
        counts = progress["counts"]
        print(f"broker: {'filesystem' if not os.environ.get('CELERY_BROKER_URL') else urlsplit(os.environ['CELERY_BROKER_URL']).scheme}, "
              f"database: {'PostgreSQL' if base_db else 'SQLite'}, worker concurrency {args.concurrency}")
        for phase, seconds in timings.items():
            print(f"  {phase:<28} {seconds:6.2f} s")
        print(f"stored {counts['stored']}, duplicate {counts['duplicate']}, rejected {counts['rejected']}, skipped {counts['skipped']}")
        total = timings["upload start → all stored"]
        print(f"upload start → all stored: {total:.2f} s (target ≤ 3 s) {'OK' if total <= 3 else 'SLOWER THAN TARGET'}; "
              f"{74.6 / total:.0f} MB/s, {counts['stored'] / total:.0f} instances/s")
        print(f"for comparison, the funnel alone (one process, no HTTP, no ZIP, same uploader): {floor:.2f} s for 140 files "
              f"({floor / 140 * 1000:.0f} ms per file)")
        if args.worker_log:
            print(*[line for line in worker_log.read_text().splitlines() if "Task " in line], sep="\n")
        if counts["stored"] != 140:
            print("NOT ALL STORED:", json.dumps(progress)[:2000])
            sys.exit(1)
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
        drop_scratch_database(base_db, SCRATCH_DB)
        shutil.rmtree(data_dir, ignore_errors=True)


def in_process_floor(manage: list[str], env: dict) -> float:
    """ingest_file over the 140 files in one process, on behalf of the bench user as an upload is:
    what the worker's share is made of."""
    code = (
        "import time; from pathlib import Path; from django.contrib.auth import get_user_model\n"
        "from studies.ingest import Origin, ingest_file\n"
        "origin = Origin(user_id=get_user_model().objects.get(username='bench').pk)\n"
        f"files = sorted(Path({str(CT_HEAD)!r}).iterdir()); t = time.perf_counter()\n"
        "assert all(ingest_file(f, origin=origin).ok for f in files)\n"
        "print('FLOOR', time.perf_counter() - t)"
    )
    result = subprocess.run([*manage, "shell", "-c", code], cwd=REPO, env=env, check=True, capture_output=True, text=True)
    return float(result.stdout.split("FLOOR")[1])


def upload(client: "Session", archive: Path) -> dict:
    t0 = time.perf_counter()
    job = client.post_json("/api/uploads/", expect=201)
    t_created = time.perf_counter()
    sent = client.post_file(job["files_url"], archive, field="file", filename="0", path=archive.name)
    assert sent["received"] == 1, sent
    t_sent = time.perf_counter()
    client.post_json(job["complete_url"], expect=200)
    t_complete = time.perf_counter()
    while True:
        progress = client.get_json(job["url"])
        if progress["status"] == "done":
            break
        time.sleep(0.1)  # the page polls every 0.5 s; 0.1 s keeps the timing fine without loading the 2 cores
    t_done = time.perf_counter()
    return {
        "create job": t_created - t0,
        "send ZIP (HTTP)": t_sent - t_created,
        "complete": t_complete - t_sent,
        "expand + ingest after that": t_done - t_complete,
        "upload start → all stored": t_done - t0,
        "progress": progress,
    }


def build_zip(path: Path, *, store: bool) -> None:
    method = zipfile.ZIP_STORED if store else zipfile.ZIP_DEFLATED
    # Deflate level 1 builds fast; inflating (what is timed) costs about the same at any level.
    with zipfile.ZipFile(path, "w", method, compresslevel=1) as archive:
        for file in sorted(CT_HEAD.iterdir()):
            archive.write(file, f"CT_HEAD/{file.name}")


class Session:
    """A logged-in browser, as far as cookies and the CSRF header go."""

    def __init__(self, port: int):
        self.port = port
        self.cookies: dict[str, str] = {}

    def _request(self, method: str, url: str, body=None, headers=None, length: int | None = None):
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=300)
        headers = {**(headers or {}), "Cookie": "; ".join(f"{k}={v}" for k, v in self.cookies.items()), "Referer": f"http://127.0.0.1:{self.port}/"}
        if "csrftoken" in self.cookies:
            headers["X-CSRFToken"] = self.cookies["csrftoken"]
        if length is not None:
            headers["Content-Length"] = str(length)
        connection.request(method, url, body=body, headers=headers)
        response = connection.getresponse()
        data = response.read()
        for header in response.headers.get_all("Set-Cookie") or []:
            name, _, rest = header.partition("=")
            self.cookies[name.strip()] = rest.split(";", 1)[0]
        connection.close()
        return response.status, data

    def login(self, username: str, password: str) -> None:
        status, page = self._request("GET", "/login/")
        if status != 200:
            raise SystemExit(f"the login page answered {status}")
        token = re.search(rb'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1).decode()
        form = urlencode({"username": username, "password": password, "csrfmiddlewaretoken": token})
        status, _ = self._request("POST", "/login/", form, {"Content-Type": "application/x-www-form-urlencoded"})
        if status != 302 or "sessionid" not in self.cookies:
            raise SystemExit(f"login failed ({status})")

    def get_json(self, url: str) -> dict:
        status, data = self._request("GET", url, headers={"Accept": "application/json"})
        assert status == 200, (status, data[:500])
        return json.loads(data)

    def post_json(self, url: str, expect: int) -> dict:
        status, data = self._request("POST", url, b"", {"Accept": "application/json"})
        assert status == expect, (status, data[:500])
        return json.loads(data)

    def post_file(self, url: str, file: Path, *, field: str, filename: str, path: str) -> dict:
        """One multipart part streamed from disk in 1 MB chunks, as XHR does with a File."""
        boundary = uuid.uuid4().hex
        head = (
            f"--{boundary}\r\nContent-Disposition: form-data; name=\"path\"\r\n\r\n{path}\r\n"
            f"--{boundary}\r\nContent-Disposition: form-data; name=\"{field}\"; filename=\"{filename}\"\r\n"
            "Content-Type: application/octet-stream\r\n\r\n"
        ).encode()
        tail = f"\r\n--{boundary}--\r\n".encode()

        def body():
            yield head
            with open(file, "rb") as fp:
                while chunk := fp.read(1024 * 1024):
                    yield chunk
            yield tail

        length = len(head) + file.stat().st_size + len(tail)
        headers = {"Content-Type": f"multipart/form-data; boundary={boundary}", "Accept": "application/json"}
        status, data = self._request("POST", url, body(), headers, length)
        assert status == 201, (status, data[:500])
        return json.loads(data)


def wait_for_worker(log: Path, timeout: float = 60) -> None:
    """Until the worker says it is ready (works with every broker), so start-up is not timed."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if log.exists() and b" ready." in log.read_bytes():
            return
        time.sleep(0.1)
    raise SystemExit("the Celery worker did not start:\n" + log.read_text(errors="replace")[-2000:])


if __name__ == "__main__":
    main()
