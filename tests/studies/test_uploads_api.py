"""The upload API over HTTP: Alice creates a job, sends batches, completes it and follows its
progress; the task body runs in-process here (the worker test runs it in a real worker).
Charlie, an outsider, gets 404 for Alice's job; nobody gets in without a session and CSRF token."""
import json
from pathlib import Path

import pytest
from django.test import Client
from django.urls import reverse

from studies.models import Instance, UploadJob
from studies.uploads import job_folder, upload_process
from tests.conftest import CT_ABDOMEN, write_dicom

pytestmark = pytest.mark.django_db


def batch(*files: tuple[str, Path | bytes]) -> dict:
    """A multipart batch the way upload.js sends it: parts named by index, paths beside them."""
    parts, paths = [], []
    for index, (path, data) in enumerate(files):
        content = data.read_bytes() if isinstance(data, Path) else data
        parts.append(_NamedBytes(content, str(index)))
        paths.append(path)
    return {"file": parts, "path": paths}


class _NamedBytes:
    """A file-like part with a chosen file name, for the test client's multipart encoder."""

    def __init__(self, content: bytes, name: str):
        import io

        self._io = io.BytesIO(content)
        self.name = name

    def read(self, *args):
        return self._io.read(*args)


@pytest.fixture
def alices_client(alice) -> Client:
    client = Client()
    client.force_login(alice)
    return client


def create_job(client) -> dict:
    response = client.post(reverse("api:upload-list"))
    assert response.status_code == 201, response.content
    return response.json()


def spooled_files(data_dir: Path) -> list[Path]:
    return [p for p in (data_dir / "spool").rglob("*") if p.is_file()]


def test_alice_uploads_a_folder_in_batches_and_reads_the_summary(alices_client, alice, data_dir, tmp_path):
    job = create_job(alices_client)
    assert job["status"] == "receiving" and job["files"] == {"total": 0, "done": 0}
    assert job["files_url"] == f"/api/uploads/{job['id']}/files"
    slices = sorted(CT_ABDOMEN.iterdir())[:3]  # ~1.6 MB: streamed to temporary files, not kept in memory

    first = alices_client.post(job["files_url"], batch(*[(f"CT ABDO/series 2/{p.name}", p) for p in slices]))
    second = alices_client.post(job["files_url"], batch(("CT ABDO/readme.txt", b"hello"), ("CT ABDO/series 2/again.dcm", slices[0])))

    assert first.status_code == 201 and first.json()["received"] == 3
    assert second.status_code == 201 and second.json()["received"] == 2
    assert second.json()["bytes_received"] == sum(p.stat().st_size for p in slices) + slices[0].stat().st_size + 5
    # The request bodies went to temporary files that were moved (not copied) into the job's spool.
    assert list(Path(data_dir / "spool" / "incoming").iterdir()) == []
    assert len(spooled_files(data_dir)) == 5 and all(p.parent == job_folder(job["id"]) for p in spooled_files(data_dir))

    completed = alices_client.post(job["complete_url"])
    assert completed.status_code == 200 and completed.json()["upload_complete"] is True
    upload_process(job_id=job["id"])  # what the worker does once the batch is committed

    done = alices_client.get(job["url"]).json()
    assert done["status"] == "done"
    assert done["files"] == {"total": 5, "done": 5}
    assert done["counts"] == {"stored": 3, "duplicate": 1, "rejected": 0, "skipped": 1, "pending": 0, "processing": 0}
    assert [(i["name"], i["status"]) for i in done["items"]] == [
        *[(f"CT ABDO/series 2/{p.name}", "stored") for p in slices],
        ("CT ABDO/readme.txt", "skipped"),
        ("CT ABDO/series 2/again.dcm", "duplicate"),
    ]
    study_uid = Instance.objects.first().series.study.study_instance_uid
    assert [(s["study_instance_uid"], s["url"]) for s in done["studies"]] == [(study_uid, reverse("study-detail", args=[study_uid]))]
    assert done["studies"][0]["patient_name"] == "CRLM-CT-1006"
    assert spooled_files(data_dir) == []


def test_a_zip_sent_over_http_is_expanded_into_its_entries(alices_client, tmp_path):
    import zipfile

    archive = tmp_path / "exam.zip"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("DICOM/IM1", write_dicom(tmp_path / "1.dcm").read_bytes())
        z.writestr("DICOM/IM2", write_dicom(tmp_path / "2.dcm").read_bytes())
    job = create_job(alices_client)
    assert alices_client.post(job["files_url"], batch(("exam.zip", archive))).status_code == 201
    alices_client.post(job["complete_url"])
    upload_process(job_id=job["id"])

    done = alices_client.get(job["url"]).json()
    assert done["zips_expanded"] == 1
    assert [(i["name"], i["status"]) for i in done["items"]] == [("exam.zip/DICOM/IM1", "stored"), ("exam.zip/DICOM/IM2", "stored")]


def test_a_batch_past_the_job_limit_is_refused_with_413_and_leaves_nothing(alices_client, data_dir, settings):
    settings.LUMEN_UPLOAD_MAX_BYTES = 800 * 1024
    slices = sorted(CT_ABDOMEN.iterdir())[:2]  # ~1 MB
    job = create_job(alices_client)

    refused = alices_client.post(job["files_url"], batch(*[(p.name, p) for p in slices]))

    assert refused.status_code == 413
    assert refused.json()["detail"] == "Upload refused: one upload may hold at most 800 kB. Send the rest as a new upload."
    assert UploadJob.objects.get(pk=job["id"]).bytes_received == 0
    assert UploadJob.objects.get(pk=job["id"]).items.count() == 0
    assert spooled_files(data_dir) == []
    # What fits still goes through.
    assert alices_client.post(job["files_url"], batch((slices[0].name, slices[0]))).status_code == 201


def test_a_batch_for_a_completed_job_is_refused(alices_client, tmp_path):
    job = create_job(alices_client)
    alices_client.post(job["complete_url"])
    response = alices_client.post(job["files_url"], batch(("1.dcm", write_dicom(tmp_path / "1.dcm"))))
    assert response.status_code == 409
    assert "already complete" in response.json()["detail"]


def test_a_batch_without_files_is_a_bad_request(alices_client):
    job = create_job(alices_client)
    response = alices_client.post(job["files_url"], {"path": "x"})
    assert response.status_code == 400
    assert response.json()["detail"] == 'No files in this batch: send them as multipart "file" parts.'


def test_parts_named_by_their_own_file_name_keep_it(alices_client, tmp_path):
    # A client that sends no "path" fields (curl -F file=@IM1) gets its file names in the summary.
    job = create_job(alices_client)
    with open(write_dicom(tmp_path / "IM1.dcm"), "rb") as fp:
        assert alices_client.post(job["files_url"], {"file": fp}).status_code == 201
    assert list(UploadJob.objects.get(pk=job["id"]).items.values_list("name", flat=True)) == ["IM1.dcm"]


def test_charlie_gets_404_for_alices_job(alices_client, charlie, tmp_path):
    job = create_job(alices_client)
    outsider = Client()
    outsider.force_login(charlie)

    assert outsider.get(job["url"]).status_code == 404
    assert outsider.post(job["files_url"], batch(("1.dcm", write_dicom(tmp_path / "1.dcm")))).status_code == 404
    assert outsider.post(job["complete_url"]).status_code == 404
    assert UploadJob.objects.get(pk=job["id"]).items.count() == 0
    assert UploadJob.objects.get(pk=job["id"]).upload_complete is False
    # …exactly like a job that does not exist.
    assert outsider.get("/api/uploads/00000000-0000-0000-0000-000000000000").status_code == 404


def test_nobody_uploads_without_logging_in(client, tmp_path):
    assert client.post(reverse("api:upload-list")).status_code == 401  # with a WWW-Authenticate challenge
    assert UploadJob.objects.count() == 0


def test_uploads_need_the_csrf_token(alice):
    client = Client(enforce_csrf_checks=True)
    client.force_login(alice)
    client.get(reverse("upload"))  # sets the CSRF cookie, as the page does for upload.js

    assert client.post(reverse("api:upload-list")).status_code == 403
    token = client.cookies["csrftoken"].value
    response = client.post(reverse("api:upload-list"), headers={"X-CSRFToken": token})
    assert response.status_code == 201
    job = response.json()
    with_token = client.post(job["files_url"], batch(("a.txt", b"a")), headers={"X-CSRFToken": token})
    without = client.post(job["files_url"], batch(("b.txt", b"b")))
    assert (with_token.status_code, without.status_code) == (201, 403)
    assert json.loads(without.content)["detail"].startswith("CSRF Failed")


def test_an_oversized_batch_is_cut_off_while_it_streams_in(data_dir, settings):
    """The job's remaining room is enforced by an upload handler ahead of the temporary-file one:
    parsing stops at the first chunk past the room, the partial file is dropped, the rest of the
    body is read and thrown away (so the client still gets its 413)."""
    import io

    from django.core.files.uploadhandler import TemporaryFileUploadHandler
    from django.http.multipartparser import MultiPartParser
    from django.test.client import BOUNDARY, MULTIPART_CONTENT, encode_multipart

    from studies.api.uploads import JobQuota

    body = encode_multipart(BOUNDARY, {"file": [_NamedBytes(b"a" * 300_000, "0"), _NamedBytes(b"b" * 700_000, "1")], "path": ["a", "b"]})
    stream = io.BytesIO(body)
    quota = JobQuota(room=500_000)
    meta = {"CONTENT_TYPE": MULTIPART_CONTENT, "CONTENT_LENGTH": str(len(body))}

    _, files = MultiPartParser(meta, stream, [quota, TemporaryFileUploadHandler()]).parse()

    assert quota.exceeded
    assert [f.size for f in files.getlist("file")] == [300_000]  # the view answers 413 and records none of them
    assert stream.tell() == len(body)  # the body was drained, not left unread
    assert [p for p in Path(settings.FILE_UPLOAD_TEMP_DIR).iterdir() if p.stat().st_size > 300_000] == []


def test_a_batch_with_more_files_than_the_server_takes_is_refused_in_json(alices_client, settings):
    settings.DATA_UPLOAD_MAX_NUMBER_FILES = 2
    job = create_job(alices_client)
    response = alices_client.post(job["files_url"], batch(("a", b"a"), ("b", b"b"), ("c", b"c")))
    assert response.status_code == 400
    assert response.json()["detail"] == "Too much in one request: send at most 2 files per batch."
    assert UploadJob.objects.get(pk=job["id"]).items.count() == 0
