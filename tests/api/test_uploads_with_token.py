"""A RIS uploads with its API token alone (no session, no CSRF token): create, send a batch, complete."""
import pytest

from studies.models import UploadItem
from tests.conftest import write_dicom
from tests.studies.test_uploads_api import batch

pytestmark = pytest.mark.django_db


def test_a_ris_uploads_files_with_its_token(alice_api, charlie_api, tmp_path):
    job = alice_api.post("/api/uploads/", headers={"Idempotency-Key": "order-42"}).json()

    sent = alice_api.post(job["files_url"], batch(("CT/1.dcm", write_dicom(tmp_path / "1.dcm"))), format="multipart")
    assert sent.status_code == 201, sent.content
    assert sent.json()["received"] == 1
    assert list(UploadItem.objects.filter(job_id=job["id"]).values_list("name", flat=True)) == ["CT/1.dcm"]
    # Charlie's token does not reach Alice's job: 404, as for a job that does not exist.
    assert charlie_api.post(job["files_url"], batch(("2.dcm", b"x")), format="multipart").status_code == 404
    assert alice_api.get(job["url"]).json()["files"]["total"] == 1


def test_a_batch_with_a_wrong_token_is_a_401(alice_api, tmp_path):
    from rest_framework.test import APIClient

    job = alice_api.post("/api/uploads/").json()
    stranger = APIClient()
    stranger.credentials(HTTP_AUTHORIZATION="Bearer wrong")

    response = stranger.post(job["files_url"], batch(("1.dcm", b"x")), format="multipart")
    assert (response.status_code, response.json()["code"]) == (401, "authentication_failed")
    assert UploadItem.objects.count() == 0
