"""Shared fixtures: sample data, an isolated data dir per test, personas, and the environment
that subprocesses (listener, Celery worker) need to reach the same test database and files."""
from __future__ import annotations

import os
import shutil
import socket
import subprocess
import uuid
from pathlib import Path

import pytest
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient


def _samples_dir() -> Path:
    """The shared sample set: LUMEN_SAMPLES_DIR, else ../shared next to the checkout, else /work/shared."""
    candidates = [os.environ.get("LUMEN_SAMPLES_DIR"), Path(__file__).resolve().parents[2] / "shared" / "dicom-samples"]
    candidates.append("/work/shared/dicom-samples")
    for candidate in candidates:
        if candidate and Path(candidate).is_dir():
            return Path(candidate)
    return Path(candidates[1])


SAMPLES = _samples_dir()
REPO = Path(__file__).resolve().parents[1]
PYTHON = str(REPO / ".venv" / "bin" / "python") if (REPO / ".venv" / "bin" / "python").exists() else "python"

CT_HEAD = SAMPLES / "ct_series" / "philips_ingenuity_head_phantom_1mm"
CT_ABDOMEN = SAMPLES / "ct_series" / "crlm_ct_1006_abdomen_5mm"


def sample(relative: str) -> Path:
    path = SAMPLES / relative
    if not path.exists():
        pytest.skip(f"sample {relative} is not available")
    return path


@pytest.fixture(autouse=True)
def data_dir(tmp_path, settings) -> Path:
    """Each test gets its own archive and spool, so files left behind are easy to count."""
    root = tmp_path / "data"
    settings.ARCHIVE_DIR = root / "archive"
    settings.SPOOL_DIR = root / "spool"
    settings.FILE_UPLOAD_TEMP_DIR = str(root / "spool" / "incoming")
    for folder in (settings.ARCHIVE_DIR, settings.SPOOL_DIR, settings.FILE_UPLOAD_TEMP_DIR):
        Path(folder).mkdir(parents=True, exist_ok=True)
    settings.STORAGES = {
        **settings.STORAGES,
        "dicom": {"BACKEND": "studies.storage.DicomFileStorage", "OPTIONS": {"location": settings.ARCHIVE_DIR}},
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }
    return root


@pytest.fixture(autouse=True)
def fresh_cache():
    """The local-memory cache (e.g. audit's once-per-series image rows) starts empty in each test."""
    from django.core.cache import cache

    cache.clear()


def archived_files(root: Path) -> list[Path]:
    return [p for p in (root / "archive").rglob("*") if p.is_file()]


@pytest.fixture
def admin_user(django_user_model):
    return django_user_model.objects.create_superuser("admin", "admin@example.org", "correct horse battery staple")


@pytest.fixture
def alice(django_user_model):
    """A referrer who uploads studies."""
    return _person(django_user_model, "alice", "Referrer")


@pytest.fixture
def charlie(django_user_model):
    """An outsider (no role) who must see nothing of Alice's."""
    return _person(django_user_model, "charlie", None)


@pytest.fixture
def radiologist(django_user_model):
    """Rita reads the pool: DICOM-received studies and uploads submitted for reading."""
    return _person(django_user_model, "rita", "Radiologist")


@pytest.fixture
def patient_user(django_user_model):
    """Paul, a patient who uploads his own CDs."""
    return _person(django_user_model, "paul", "Patient")


def _person(django_user_model, name: str, role: str | None):
    from accounts.roles import set_role

    user = django_user_model.objects.create_user(name, f"{name}@example.org", f"{name}-password-123")
    set_role(user, role)
    return user


def client_with_token(user, keyword: str = "Token") -> APIClient:
    """A REST/DICOMweb client that authenticates with ``Authorization: <keyword> <user's token>``."""
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"{keyword} {Token.objects.get_or_create(user=user)[0].key}")
    return client


@pytest.fixture
def alice_api(alice):
    return client_with_token(alice)


@pytest.fixture
def charlie_api(charlie):
    return client_with_token(charlie)


@pytest.fixture
def admin_api(admin_user):
    return client_with_token(admin_user)


@pytest.fixture
def rita_api(radiologist):
    return client_with_token(radiologist)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def database_url() -> str:
    """The URL of the test database, for processes the test starts."""
    from django.db import connection

    cfg = connection.settings_dict
    if cfg["ENGINE"].endswith("sqlite3"):
        return f"sqlite:///{cfg['NAME']}"
    user = cfg.get("USER") or "postgres"
    password = f":{cfg['PASSWORD']}" if cfg.get("PASSWORD") else ""
    return f"postgres://{user}{password}@{cfg.get('HOST') or '127.0.0.1'}:{cfg.get('PORT') or 5432}/{cfg['NAME']}"


@pytest.fixture
def subprocess_env(data_dir) -> dict:
    """Environment for a listener or worker that must share this test's database and files."""
    env = dict(os.environ)
    env.update({"DATABASE_URL": database_url(), "LUMEN_DATA_DIR": str(data_dir), "PYTHONUNBUFFERED": "1"})
    return env


CHROMIUM = "/usr/bin/chromium"
# Debian's Chromium, headless; without the networking flags it calls home and is refused.
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]


@pytest.fixture
def chromium(monkeypatch, settings):
    """Debian's Chromium driven by Playwright (never a downloaded browser), closed after the test."""
    sync_api = pytest.importorskip("playwright.sync_api")
    if not shutil.which(CHROMIUM):
        pytest.fail("chromium is not installed (.ci/run installs it from Debian)")
    # Playwright's sync API runs an event loop in this thread; the ORM calls in tests stay synchronous.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    settings.SESSION_COOKIE_SECURE = settings.CSRF_COOKIE_SECURE = False  # plain http on the test server
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        yield browser
        browser.close()


def require_tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        pytest.fail(f"{name} is not installed (.ci/run installs it from Debian)")
    return path


def write_dicom(path: Path, *, frames: int = 1, **elements) -> Path:
    """A small valid CT image (8×8 MONOCHROME2, Explicit VR Little Endian) at ``path``,
    with ``elements`` (DICOM keywords) set on top of the defaults; fresh UIDs unless given."""
    from pydicom.dataset import Dataset, FileMetaDataset
    from pydicom.uid import CTImageStorage, ExplicitVRLittleEndian, generate_uid

    ds = Dataset()
    values = {
        "SOPClassUID": CTImageStorage,
        "SOPInstanceUID": generate_uid(),
        "StudyInstanceUID": generate_uid(),
        "SeriesInstanceUID": generate_uid(),
        "PatientName": "DOE^JOHN",
        "PatientID": "P-1",
        "Modality": "CT",
        "StudyDate": "20240101",
        "SeriesNumber": 1,
        "InstanceNumber": 1,
        "Rows": 8,
        "Columns": 8,
        "SamplesPerPixel": 1,
        "PhotometricInterpretation": "MONOCHROME2",
        "BitsAllocated": 16,
        "BitsStored": 12,
        "HighBit": 11,
        "PixelRepresentation": 0,
        **elements,
    }
    for keyword, value in values.items():
        setattr(ds, keyword, value)
    if frames > 1:
        ds.NumberOfFrames = frames
    ds.PixelData = bytes(ds.Rows * ds.Columns * 2 * frames)
    ds.file_meta = FileMetaDataset()
    ds.file_meta.MediaStorageSOPClassUID = ds.SOPClassUID
    ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    path.parent.mkdir(parents=True, exist_ok=True)
    ds.save_as(path, enforce_file_format=True)
    return path


# --- A real Celery worker (moved here from tests/studies/test_upload_with_worker.py so the browser
# test can use it too).

CELERY = str(REPO / ".venv" / "bin" / "celery") if (REPO / ".venv" / "bin" / "celery").exists() else "celery"


@pytest.fixture
def task_queue(settings, data_dir, monkeypatch):
    """A queue of our own, so no other worker on the same broker takes these tasks."""
    from pacs.celery import app as celery_app

    queue = f"lumen-test-{uuid.uuid4().hex[:10]}"
    settings.CELERY_TASK_DEFAULT_QUEUE = queue
    monkeypatch.setitem(celery_app.conf, "task_default_queue", queue)
    if celery_app.conf.broker_url.startswith("filesystem"):
        # The worker's queue folder follows its LUMEN_DATA_DIR: this test's data dir.
        folder = str(data_dir / "queue")
        (data_dir / "queue").mkdir(exist_ok=True)
        options = {**celery_app.conf.broker_transport_options, "data_folder_in": folder, "data_folder_out": folder}
        monkeypatch.setitem(celery_app.conf, "broker_transport_options", options)
    _reset_broker_connections()
    with celery_app.connection_for_write() as connection:
        connection.default_channel.queue_purge(queue)
    yield queue
    _reset_broker_connections()


def _reset_broker_connections():
    from pacs.celery import app as celery_app

    celery_app._pool = None
    celery_app.amqp._producer_pool = None


@pytest.fixture
def worker(task_queue, subprocess_env, tmp_path):
    """A Celery worker process on this test's queue, database and files; its log is tmp_path/worker.log."""
    env = {**subprocess_env, "LUMEN_TASK_QUEUE": task_queue}
    log = open(tmp_path / "worker.log", "wb")
    process = subprocess.Popen(
        [CELERY, "-A", "pacs", "worker", "--pool=threads", "--concurrency=2", "-Q", task_queue, "--loglevel=INFO", "--without-gossip", "--without-mingle"],
        cwd=REPO,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    yield process
    process.terminate()
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
    log.close()
