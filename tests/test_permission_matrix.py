"""The visibility rule, route by route: every role × every way to a study × {own study,
someone else's, the unassigned DICOM-received study}. A study someone may not see answers
exactly like one that does not exist, and no list ever carries a foreign study."""
from dataclasses import dataclass

import pytest
from django.urls import reverse
from pydicom.uid import generate_uid

from studies.ingest import Origin, ingest_file
from studies.models import Study
from tests.conftest import write_dicom

pytestmark = pytest.mark.django_db


@dataclass(frozen=True)
class Stored:
    study: str
    series: str
    sop: str


def _store(tmp_path, name: str, origin: Origin, patient: str) -> Stored:
    ids = Stored(generate_uid(), generate_uid(), generate_uid())
    path = write_dicom(tmp_path / f"{name}.dcm", StudyInstanceUID=ids.study, SeriesInstanceUID=ids.series,
                       SOPInstanceUID=ids.sop, PatientName=patient, PatientID=f"ID-{name}")
    assert ingest_file(path, origin=origin).ok
    return ids


@pytest.fixture
def studies(tmp_path, alice, patient_user):
    return {
        # Alice (referrer) uploaded it for her own records: not submitted for reading.
        "alice": _store(tmp_path, "alice", Origin(user_id=alice.id), "ALICE^STUDY"),
        # Paul (patient) uploaded his CD and asked for a read: it joins the reading pool.
        "paul": _store(tmp_path, "paul", Origin(user_id=patient_user.id, for_reading=True), "PAUL^STUDY"),
        # Sent by a modality over DICOM: nobody's upload, in the reading pool.
        "dicom": _store(tmp_path, "dicom", Origin(calling_ae_title="CT1", peer_address="10.0.0.9"), "DICOM^STUDY"),
    }


# Who sees which of the three studies.
VISIBLE = {
    "admin_user": {"alice", "paul", "dicom"},
    "radiologist": {"paul", "dicom"},
    "alice": {"alice"},
    "patient_user": {"paul"},
    "charlie": set(),
}

ROUTES = {
    "study page": lambda s: reverse("study-detail", args=[s.study]),
    "series view": lambda s: reverse("series-view", args=[s.study, s.series]),
    "diagnostic viewer": lambda s: reverse("study-viewer", args=[s.study]),
    "WADO series metadata": lambda s: reverse("dicomweb:series-metadata", args=[s.study, s.series]),
    "REST frame image": lambda s: reverse("api:frame-image", args=[s.study, s.series, s.sop, 1]),
    "series thumbnail": lambda s: reverse("api:series-thumbnail", args=[s.study, s.series]),
    "WADO study metadata": lambda s: reverse("dicomweb:study-metadata", args=[s.study]),
    "WADO instance": lambda s: reverse("dicomweb:instance", args=[s.study, s.series, s.sop]),
    "rendered frame": lambda s: reverse("dicomweb:rendered-frame", args=[s.study, s.series, s.sop, "1"]),
    "share page": lambda s: reverse("study-share", args=[s.study]),
    "REST study": lambda s: reverse("api:study-detail", args=[s.study]),
    "REST series": lambda s: reverse("api:series-detail", args=[s.series]),
    "REST instance": lambda s: reverse("api:instance-detail", args=[s.sop]),
    "REST annotations": lambda s: reverse("annotations:annotation-list", args=[s.study]),
    "REST key images": lambda s: reverse("annotations:key-image-list", args=[s.study]),
}


@pytest.mark.parametrize("persona", VISIBLE)
def test_each_role_reaches_exactly_its_studies_on_every_route(request, client, studies, persona):
    user = request.getfixturevalue(persona)
    client.force_login(user)
    unknown = Stored(generate_uid(), generate_uid(), generate_uid())
    for route, url_of in ROUTES.items():
        missing = client.get(url_of(unknown))
        assert missing.status_code == 404, route
        for owner, ids in studies.items():
            response = client.get(url_of(ids))
            if owner in VISIBLE[persona]:
                assert response.status_code == 200, (persona, route, owner)
            else:
                # Byte for byte the answer for UIDs that exist nowhere: nothing tells them apart.
                assert (response.status_code, response.content) == (missing.status_code, missing.content), (persona, route, owner)
                assert response.get("Content-Type") == missing.get("Content-Type"), (persona, route, owner)


@pytest.mark.parametrize("persona", VISIBLE)
def test_lists_carry_only_the_studies_a_role_may_see(request, client, studies, persona):
    client.force_login(request.getfixturevalue(persona))
    expected = {studies[owner].study for owner in VISIBLE[persona]}
    everything = {ids.study for ids in studies.values()}

    page = client.get(reverse("study-list")).content.decode()
    assert {uid for uid in everything if uid in page} == expected

    qido = client.get(reverse("dicomweb:studies"), HTTP_ACCEPT="application/dicom+json")
    assert qido.status_code == 200
    assert {s["0020000D"]["Value"][0] for s in qido.json()} == expected

    rest = client.get(reverse("api:study-list"), {"limit": 1000})
    assert rest.status_code == 200
    assert {row["study_instance_uid"] for row in rest.json()["results"]} == expected

    series = client.get(reverse("dicomweb:search-series"), HTTP_ACCEPT="application/dicom+json")
    assert series.status_code == 200
    assert {s["0020000E"]["Value"][0] for s in series.json()} == {studies[owner].series for owner in VISIBLE[persona]}


def test_anonymous_visitors_reach_no_study_on_any_route(client, studies):
    for route, url_of in ROUTES.items():
        response = client.get(url_of(studies["dicom"]))
        assert response.status_code in (302, 401, 403), route
        assert b"DICOM^STUDY" not in response.content, route


def test_is_staff_opens_django_admin_but_widens_no_visibility(client, charlie, studies):
    charlie.is_staff = True
    charlie.save()
    client.force_login(charlie)
    assert client.get(reverse("study-detail", args=[studies["dicom"].study])).status_code == 404


def test_an_upload_joins_the_pool_when_the_dicom_node_sends_more_of_it(client, tmp_path, alice, radiologist, studies):
    # Alice's own study later arrives from a modality (e.g. the original exam): the radiologists must see it.
    ids = studies["alice"]
    path = write_dicom(tmp_path / "more.dcm", StudyInstanceUID=ids.study, SeriesInstanceUID=generate_uid(), PatientName="ALICE^STUDY",
                       PatientID="ID-alice")
    assert ingest_file(path, origin=Origin(calling_ae_title="CT1")).ok
    client.force_login(radiologist)
    assert client.get(reverse("study-detail", args=[ids.study])).status_code == 200


def test_an_admin_assigns_a_private_upload_to_a_radiologist_who_then_sees_it(client, admin_user, alice, radiologist, studies):
    from studies import sharing

    url = reverse("study-detail", args=[studies["alice"].study])
    client.force_login(radiologist)
    assert client.get(url).status_code == 404
    with pytest.raises(sharing.ShareRefused):
        sharing.assign_to_radiologist(by=alice, study_uid=studies["alice"].study, username="rita")
    with pytest.raises(sharing.ShareRefused):
        sharing.assign_to_radiologist(by=admin_user, study_uid=studies["alice"].study, username="alice")
    sharing.assign_to_radiologist(by=admin_user, study_uid=studies["alice"].study, username="rita")
    assert client.get(url).status_code == 200


@pytest.mark.parametrize("persona, offered", [("admin_user", True), ("radiologist", True), ("alice", False)])
def test_the_send_form_is_for_admins_and_radiologists(request, client, studies, persona, offered):
    client.force_login(request.getfixturevalue(persona))
    owner = "alice" if persona == "alice" else "dicom"
    page = client.get(reverse("study-detail", args=[studies[owner].study])).content.decode()
    assert ('id="send-to"' in page) is offered


def test_a_staff_radiologist_sees_only_the_pool_in_django_admin_too(client, radiologist, studies):
    radiologist.is_staff = True
    radiologist.save()
    client.force_login(radiologist)
    page = client.get(reverse("admin:studies_study_changelist"))
    assert page.status_code == 200
    html = page.content.decode()
    assert studies["dicom"].study in html and studies["paul"].study in html
    assert studies["alice"].study not in html
    study_id = Study.objects.get(study_instance_uid=studies["alice"].study).pk
    assert client.get(reverse("admin:studies_study_change", args=[study_id])).status_code == 302  # "does not exist" → admin index
    assert "ALICE^STUDY" not in client.get(reverse("admin:studies_patient_changelist")).content.decode()
