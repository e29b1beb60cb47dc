"""The viewer page (/studies/<uid>/viewer/): the visibility rule, the audit trail, and the
configuration the script gets through json_script (never as markup)."""
import json
import re

import pytest
from pydicom.uid import generate_uid

from audit.models import Action, AuditEvent
from studies.ingest import Origin, ingest_file
from tests.conftest import write_dicom

pytestmark = pytest.mark.django_db

PAYLOAD = '</script><script>window.pwned=1</script>^<img src=x onerror="alert(1)">'


def _study(tmp_path, owner, **elements) -> str:
    study_uid = elements.pop("StudyInstanceUID", generate_uid())
    path = write_dicom(tmp_path / f"{generate_uid()}.dcm", StudyInstanceUID=study_uid, **elements)
    assert ingest_file(path, origin=Origin(user_id=owner.id)).ok
    return study_uid


def _config(response) -> dict:
    match = re.search(r'<script id="viewer-config" type="application/json">(.*?)</script>', response.content.decode())
    assert match, "the page carries its configuration in a json_script block"
    return json.loads(match.group(1))


def test_the_uploader_opens_the_viewer_with_its_configuration(client, alice, tmp_path):
    study_uid = _study(tmp_path, alice, PatientName=PAYLOAD)
    client.force_login(alice)
    response = client.get(f"/studies/{study_uid}/viewer/")
    assert response.status_code == 200
    config = _config(response)
    assert config["dicomwebRoot"] == "/dicomweb"
    assert config["studies"] == [
        {
            "studyInstanceUID": study_uid,
            "annotationsUrl": f"/api/studies/{study_uid}/annotations/",
            "keyImagesUrl": f"/api/studies/{study_uid}/key-images/",
        }
    ]
    assert config["user"]["username"] == "alice"
    assert config["csrfToken"]
    assert config["studyUrl"] == f"/studies/{study_uid}/"
    html = response.content.decode()
    # The built bundle through {% static %}, as a module; no inline script (CSP) and no raw payload.
    assert re.search(r'<script type="module" src="/static/frontend/viewer/viewer\.js">', html)
    assert "<script>window.pwned" not in html and '<img src=x' not in html
    assert "&lt;/script&gt;&lt;script&gt;window.pwned=1" in html  # the title, escaped
    assert "script-src 'self'" in response.headers["Content-Security-Policy"]


def test_opening_the_viewer_is_audited_as_a_study_view(client, alice, tmp_path):
    study_uid = _study(tmp_path, alice)
    client.force_login(alice)
    client.get(f"/studies/{study_uid}/viewer/")
    assert AuditEvent.objects.filter(action=Action.STUDY_VIEW, study_uid=study_uid, user=alice).count() == 1


def test_an_outsider_gets_404_and_the_denial_is_audited(client, alice, charlie, tmp_path):
    study_uid = _study(tmp_path, alice)
    client.force_login(charlie)
    response = client.get(f"/studies/{study_uid}/viewer/")
    assert response.status_code == 404
    assert client.get(f"/studies/{generate_uid()}/viewer/").status_code == 404
    assert AuditEvent.objects.filter(action=Action.ACCESS_DENIED, study_uid=study_uid).count() == 1


def test_a_visitor_who_is_not_logged_in_is_sent_to_the_login_page(client, alice, tmp_path):
    study_uid = _study(tmp_path, alice)
    response = client.get(f"/studies/{study_uid}/viewer/")
    assert response.status_code == 302
    assert "/login/" in response["Location"]


def test_compare_opens_up_to_four_studies_of_the_same_patient(client, alice, tmp_path):
    first = _study(tmp_path, alice, PatientID="P-7")
    second = _study(tmp_path, alice, PatientID="P-7")
    client.force_login(alice)
    config = _config(client.get(f"/studies/{first}/viewer/?compare={second},{first}"))
    assert [s["studyInstanceUID"] for s in config["studies"]] == [first, second]
    assert AuditEvent.objects.filter(action=Action.STUDY_VIEW, study_uid=second).count() == 1


def test_compare_refuses_another_patients_study_and_one_not_visible(client, alice, radiologist, tmp_path):
    mine = _study(tmp_path, alice, PatientID="P-7")
    other_patient = _study(tmp_path, alice, PatientID="P-8")
    not_mine = _study(tmp_path, radiologist, PatientID="P-7")
    client.force_login(alice)
    assert client.get(f"/studies/{mine}/viewer/?compare={other_patient}").status_code == 404
    assert client.get(f"/studies/{mine}/viewer/?compare={not_mine}").status_code == 404
    assert AuditEvent.objects.filter(action=Action.ACCESS_DENIED, study_uid=not_mine).count() == 1
    many = ",".join(_study(tmp_path, alice, PatientID="P-7") for _ in range(4))
    assert client.get(f"/studies/{mine}/viewer/?compare={many}").status_code == 404


def test_the_study_page_links_to_the_viewer(client, alice, tmp_path):
    study_uid = _study(tmp_path, alice)
    client.force_login(alice)
    html = client.get(f"/studies/{study_uid}/").content.decode()
    assert f'href="/studies/{study_uid}/viewer/" id="open-viewer"' in html
