"""End to end with a real Celery worker: Alice uploads a ZIP of the 51-slice abdomen CT through
the HTTP API, the batch's commit enqueues the ingest task, a worker process (on Redis when
CELERY_BROKER_URL says so, else on the default filesystem queue) stores every slice.
The ``worker`` fixture lives in tests/conftest.py."""
import time
import zipfile

import pytest
from django.test import Client
from django.urls import reverse

from studies.models import Instance, UploadJob
from tests.conftest import CT_ABDOMEN, archived_files

pytestmark = pytest.mark.django_db(transaction=True)

WAIT_SECONDS = 180  # a safety net for a hung worker, not a speed check (bench/upload_zip.py times it)


def wait_until_done(job_id) -> UploadJob:
    deadline = time.monotonic() + WAIT_SECONDS
    while time.monotonic() < deadline:
        job = UploadJob.objects.get(pk=job_id)
        if job.status == UploadJob.Status.DONE:
            return job
        time.sleep(0.2)
    return UploadJob.objects.get(pk=job_id)


def test_a_zip_of_the_abdomen_ct_is_stored_by_the_worker(alice, worker, data_dir, tmp_path):
    slices = sorted(CT_ABDOMEN.iterdir())
    archive = tmp_path / "abdomen.zip"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as z:
        for path in slices:
            z.write(path, f"CRLM/CT/{path.name}")
        z.writestr("CRLM/README.txt", "exported from the workstation")
    client = Client()
    client.force_login(alice)

    job = client.post(reverse("api:upload-list")).json()
    with open(archive, "rb") as fp:
        sent = client.post(job["files_url"], {"file": fp})
    assert sent.status_code == 201, sent.content
    assert client.post(job["complete_url"]).status_code == 200

    finished = wait_until_done(job["id"])
    log = (tmp_path / "worker.log").read_text(errors="replace")
    assert finished.status == UploadJob.Status.DONE, log[-4000:]

    progress = client.get(job["url"]).json()
    assert progress["files"] == {"total": 52, "done": 52}
    assert progress["counts"] == {"stored": 51, "duplicate": 0, "rejected": 0, "skipped": 1, "pending": 0, "processing": 0}
    assert {i["name"] for i in progress["items"] if i["status"] == "stored"} == {f"abdomen.zip/CRLM/CT/{p.name}" for p in slices}
    assert [(i["name"], i["reason"]) for i in progress["items"] if i["status"] == "skipped"] == [
        ("abdomen.zip/CRLM/README.txt", "not a DICOM file")
    ]
    assert len(progress["studies"]) == 1 and progress["studies"][0]["patient_name"] == "CRLM-CT-1006"
    assert Instance.objects.filter(upload_job_id=job["id"], uploaded_by=alice).count() == 51
    assert len(archived_files(data_dir)) == 51
    assert [p for p in (data_dir / "spool").rglob("*") if p.is_file()] == []
    assert "studies.ingest_upload" in log  # the worker, not this process, did the work
