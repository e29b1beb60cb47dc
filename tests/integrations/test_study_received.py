"""study.received: a study that stays quiet for the stable time is announced to the RIS, once,
with identifiers and counts but no name, birth date or description."""
from __future__ import annotations

import json
import time

import pytest
from pydicom.uid import generate_uid

from integrations.models import WebhookDelivery
from integrations.webhooks import verify
from studies.ingest import Origin, ingest_file
from tests.conftest import write_dicom
from tests.integrations.conftest import SECRET

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def quick_worker(settings, monkeypatch, fast_retries, task_queue, subprocess_env, request):
    settings.LUMEN_STUDY_STABLE_SECONDS = 1
    monkeypatch.setenv("LUMEN_STUDY_STABLE_SECONDS", "1")
    subprocess_env["LUMEN_STUDY_STABLE_SECONDS"] = "1"  # built before this fixture ran
    return request.getfixturevalue("worker")


def test_a_complete_study_is_announced_once_with_minimal_phi(quick_worker, endpoint, receiver, tmp_path, settings):
    uid = generate_uid()
    series = {"CT": generate_uid(), "PT": generate_uid()}
    for number, modality in ((1, "CT"), (2, "CT"), (3, "PT")):
        path = write_dicom(tmp_path / "in" / f"{number}.dcm", StudyInstanceUID=uid, SeriesInstanceUID=series[modality],
                           Modality=modality, PatientName="SECRET^NAME", PatientID="MRN-42", PatientBirthDate="19700101",
                           AccessionNumber="ACC-42", StudyDescription="PET-CT WHOLE BODY")
        assert ingest_file(path, origin=Origin(calling_ae_title="MODALITY")).ok

    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not receiver.requests:
        time.sleep(0.2)
    assert receiver.requests, (tmp_path / "worker.log").read_text(errors="replace")[-4000:]
    time.sleep(2)  # two more stable periods: a second announcement would have come
    [got] = receiver.requests

    assert got.headers["x-lumen-event"] == "study.received"
    assert verify(SECRET, got.headers["x-lumen-timestamp"], got.body, got.headers["x-lumen-signature"])
    data = json.loads(got.body)["data"]
    assert data["study_instance_uid"] == uid and data["accession_number"] == "ACC-42" and data["patient_id"] == "MRN-42"
    assert data["modalities"] == ["CT", "PT"] and (data["number_of_series"], data["number_of_instances"]) == (2, 3)
    assert data["url"] == f"{settings.LUMEN_BASE_URL}/studies/{uid}/"
    assert data["api_url"] == f"{settings.LUMEN_BASE_URL}/api/studies/{uid}/"
    assert data["completed_at"]
    for phi in (b"SECRET", b"NAME", b"19700101", b"1970-01-01", b"WHOLE BODY"):
        assert phi not in got.body
    assert WebhookDelivery.objects.get().status == "succeeded"
