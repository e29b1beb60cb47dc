"""One rule for "send to node" (studies.sending.may_send): Admin and Radiologist roles send; a
referrer or patient who sees the study gets 403 on the page's POST and on the REST API alike,
and the study page shows them no form. Who cannot see the study still gets 404."""
from pathlib import Path

import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from studies import sending
from studies.ingest import Origin, ingest_file
from studies.models import RemoteNode, SendJob
from tests.conftest import write_dicom

pytestmark = pytest.mark.django_db

STUDY = "1.2.826.0.1.3680043.8.498.700"


@pytest.fixture
def uploaded(tmp_path, alice, patient_user, radiologist):
    """One study uploaded by each of Alice (referrer), Paul (patient) and Rita (radiologist)."""
    uids = {}
    for n, person in enumerate((alice, patient_user, radiologist)):
        uid = f"{STUDY}.{n}"
        path = write_dicom(tmp_path / f"{n}.dcm", StudyInstanceUID=uid, SeriesInstanceUID=f"{uid}.1", SOPInstanceUID=f"{uid}.1.1")
        assert ingest_file(Path(path), origin=Origin(user_id=person.pk)).ok
        uids[person.username] = uid
    RemoteNode.objects.create(ae_title="VIEWER", host="127.0.0.1", port=105, is_move_destination=True)
    return uids


def test_the_rule(admin_user, radiologist, alice, patient_user, charlie):
    assert [sending.may_send(u) for u in (admin_user, radiologist, alice, patient_user, charlie)] == [True, True, False, False, False]


@pytest.mark.parametrize("persona", ["alice", "patient_user"])
def test_portal_users_get_403_on_both_paths_and_no_form(client, persona, request, uploaded):
    person = request.getfixturevalue(persona)
    uid = uploaded[person.username]
    client.force_login(person)
    page = client.get(reverse("study-detail", args=[uid]))
    assert page.status_code == 200 and b'id="send-to"' not in page.content

    assert client.post(reverse("study-send", args=[uid]), {"node": "VIEWER"}).status_code == 403
    api = APIClient()
    api.force_authenticate(person)
    response = api.post(reverse("api:study-send", args=[uid]), {"node": "VIEWER"}, format="json")
    assert response.status_code == 403 and "radiologists" in response.json()["detail"]
    assert not SendJob.objects.exists()


@pytest.mark.parametrize("persona", ["admin_user", "radiologist"])
def test_admins_and_radiologists_send_on_both_paths(client, persona, request, uploaded, django_capture_on_commit_callbacks, monkeypatch):
    person = request.getfixturevalue(persona)
    monkeypatch.setattr("studies.tasks.send_job.delay", lambda job_id: None)
    uid = uploaded["rita"]
    client.force_login(person)
    page = client.get(reverse("study-detail", args=[uid]))
    assert b'id="send-to"' in page.content

    assert client.post(reverse("study-send", args=[uid]), {"node": "VIEWER"}).status_code == 302
    api = APIClient()
    api.force_authenticate(person)
    assert api.post(reverse("api:study-send", args=[uid]), {"node": "VIEWER"}, format="json").status_code == 202
    assert SendJob.objects.filter(requested_by=person).count() == 2


def test_who_cannot_see_the_study_still_gets_404_not_403(client, charlie, uploaded):
    client.force_login(charlie)
    assert client.post(reverse("study-send", args=[uploaded["alice"]]), {"node": "VIEWER"}).status_code == 404
    api = APIClient()
    api.force_authenticate(charlie)
    assert api.post(reverse("api:study-send", args=[uploaded["alice"]]), {"node": "VIEWER"}, format="json").status_code == 404
