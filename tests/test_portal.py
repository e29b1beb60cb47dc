"""The portal: the upload form's clinical fields, "My uploads" with each upload's status, and
submitting an upload for reading, which puts its studies in the radiologists' pool."""
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from pydicom.uid import generate_uid

from studies.models import UploadJob
from studies.uploads import upload_complete, upload_process, upload_receive_batch
from tests.conftest import write_dicom

pytestmark = pytest.mark.django_db


def _upload(client, tmp_path, fields: dict) -> tuple[UploadJob, str]:
    """Create the job through the API as the upload page does, then send and ingest one file."""
    created = client.post(reverse("api:upload-list"), fields)
    assert created.status_code == 201, created.content
    job = UploadJob.objects.get(pk=created.json()["id"])
    study_uid = generate_uid()
    path = write_dicom(tmp_path / f"{study_uid}.dcm", StudyInstanceUID=study_uid, PatientName="PORTAL^PAT", StudyDescription="Knee MR")
    upload_receive_batch(job=job, files=[("knee.dcm", SimpleUploadedFile("knee.dcm", path.read_bytes()))])
    upload_complete(job=job)
    upload_process(job_id=job.id)
    job.refresh_from_db()
    return job, study_uid


def test_a_referrer_sends_a_clinical_question_for_reading_and_the_radiologist_sees_it(client, tmp_path, alice, radiologist):
    client.force_login(alice)
    job, study_uid = _upload(client, tmp_path, {
        "reason_for_exam": "Knee pain after fall, <b>rule out</b> fracture",
        "referring_physician": "Dr. House",
        "priority": "stat",
        "submit_for_reading": "on",
    })
    assert (job.reason_for_exam, job.referring_physician, job.priority, job.submit_for_reading) == (
        "Knee pain after fall, <b>rule out</b> fracture", "Dr. House", "stat", True)

    page = client.get(reverse("my-uploads")).content.decode()
    assert '<td class="status">in reading</td>' in page
    assert reverse("study-detail", args=[study_uid]) in page
    assert "&lt;b&gt;rule out&lt;/b&gt;" in page and "<b>rule out</b>" not in page
    assert "STAT" in page

    client.force_login(radiologist)
    assert client.get(reverse("study-detail", args=[study_uid])).status_code == 200


def test_an_upload_kept_for_oneself_is_received_until_submitted_for_reading(client, tmp_path, patient_user, radiologist):
    client.force_login(patient_user)
    job, study_uid = _upload(client, tmp_path, {})
    assert (job.priority, job.submit_for_reading) == ("routine", False)
    assert '<td class="status">received</td>' in client.get(reverse("my-uploads")).content.decode()
    client.force_login(radiologist)
    assert client.get(reverse("study-detail", args=[study_uid])).status_code == 404

    client.force_login(patient_user)
    response = client.post(reverse("submit-for-reading", args=[job.id]))
    assert response.status_code == 302
    assert '<td class="status">in reading</td>' in client.get(reverse("my-uploads")).content.decode()
    client.force_login(radiologist)
    assert client.get(reverse("study-detail", args=[study_uid])).status_code == 200


def test_an_upload_still_arriving_is_processing(client, alice):
    client.force_login(alice)
    client.post(reverse("api:upload-list"), {"priority": "urgent"})
    page = client.get(reverse("my-uploads")).content.decode()
    assert '<td class="status">processing</td>' in page and "Urgent" in page


def test_an_unknown_priority_is_refused_with_a_json_message(client, alice):
    client.force_login(alice)
    response = client.post(reverse("api:upload-list"), {"priority": "whenever"})
    assert response.status_code == 400
    assert "priority must be routine, urgent or stat" in response.json()["detail"]
    assert not UploadJob.objects.exists()


def test_charlie_sees_none_of_alices_uploads_and_cannot_submit_them(client, tmp_path, alice, charlie):
    client.force_login(alice)
    job, study_uid = _upload(client, tmp_path, {"reason_for_exam": "ALICE-ONLY"})
    client.force_login(charlie)
    page = client.get(reverse("my-uploads")).content.decode()
    assert "ALICE-ONLY" not in page and study_uid not in page and "No upload yet." in page
    assert client.post(reverse("submit-for-reading", args=[job.id])).status_code == 404
    job.refresh_from_db()
    assert job.submit_for_reading is False


def test_the_upload_page_offers_the_clinical_fields(client, alice):
    client.force_login(alice)
    page = client.get(reverse("upload")).content.decode()
    for name in ("reason_for_exam", "referring_physician", "priority", "submit_for_reading"):
        assert f'name="{name}"' in page
