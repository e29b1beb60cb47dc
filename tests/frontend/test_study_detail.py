"""The study page: key patient and study tags, the series in number order with thumbnails,
and the same 404 for a study someone may not see as for one that does not exist."""
import re

import pytest
from django.urls import reverse
from pydicom.uid import generate_uid

from studies.ingest import Origin, ingest_file
from studies.models import Study
from tests.conftest import write_dicom

pytestmark = pytest.mark.django_db

STUDY_UID = "1.2.826.0.1.3680043.8.498.4242"


@pytest.fixture
def study(alice, tmp_path) -> Study:
    """Alice's study: three series stored out of order, the second with two images."""
    common = dict(StudyInstanceUID=STUDY_UID, PatientName="DOE^JOHN", PatientID="ID-7", PatientBirthDate="19700101",
                  PatientSex="M", StudyDate="20240301", StudyTime="101500", StudyDescription="CT Chest Abdomen",
                  AccessionNumber="ACC-7", ReferringPhysicianName="HOUSE^GREGORY")
    series = [
        (3, "MR", "T2 axial", "KNEE", 1),
        (1, "CT", "Scout", "CHEST", 1),
        (2, "CT", "Abdomen 5mm", "ABDOMEN", 2),
    ]
    for number, modality, description, body_part, images in series:
        series_uid = generate_uid()
        for i in range(images):
            path = write_dicom(tmp_path / f"{number}-{i}.dcm", SeriesInstanceUID=series_uid, SeriesNumber=number,
                               Modality=modality, SeriesDescription=description, BodyPartExamined=body_part,
                               InstanceNumber=i + 1, **common)
            assert ingest_file(path, origin=Origin(user_id=alice.id)).ok
    return Study.objects.get(study_instance_uid=STUDY_UID)


def test_alice_sees_the_patient_and_study_tags(client, alice, study):
    client.force_login(alice)
    response = client.get(reverse("study-detail", args=[STUDY_UID]))
    assert response.status_code == 200
    html = response.content.decode()
    for element_id, text in [
        ("patient-name", "DOE^JOHN"),
        ("patient-id", "ID-7"),
        ("patient-birth-date", "1970-01-01"),
        ("patient-sex", "M"),
        ("study-description", "CT Chest Abdomen"),
        ("study-date", "2024-03-01 10:15:00"),
        ("accession-number", "ACC-7"),
        ("study-modalities", "CT, MR"),
        ("study-counts", "3 / 4"),
        ("study-uid", STUDY_UID),
    ]:
        assert f'id="{element_id}">{text}</dd>' in html, element_id
    assert "HOUSE^GREGORY" in html


def test_the_series_are_listed_by_series_number_with_thumbnail_and_quick_view_link(client, alice, study):
    client.force_login(alice)
    response = client.get(reverse("study-detail", args=[STUDY_UID]))
    html = response.content.decode()

    cards = re.findall(r'<article class="card series-card" data-series-uid="([^"]+)">(.*?)</article>', html, re.S)
    assert [c.series_number for c in response.context["series_list"]] == [1, 2, 3]
    ordered_uids = [s.series_instance_uid for s in study.series.order_by("series_number")]
    assert [uid for uid, _ in cards] == ordered_uids

    expected = [("#1", "CT", "Scout", "CHEST", "1 instance"), ("#2", "CT", "Abdomen 5mm", "ABDOMEN", "2 instances"),
                ("#3", "MR", "T2 axial", "KNEE", "1 instance")]
    for (uid, card), texts in zip(cards, expected):
        for text in texts:
            assert f">{text}<" in card, (uid, text)
        assert f'src="/api/studies/{STUDY_UID}/series/{uid}/thumbnail' in card
        assert f'href="{reverse("series-view", args=[STUDY_UID, uid])}"' in card


def test_charlie_gets_the_same_404_for_alices_study_as_for_a_made_up_uid(client, charlie, study):
    client.force_login(charlie)
    hidden = client.get(reverse("study-detail", args=[STUDY_UID]))
    missing = client.get(reverse("study-detail", args=["1.2.3.4.5.6.7.8.9"]))
    assert hidden.status_code == missing.status_code == 404
    assert hidden.content == missing.content
    assert b"DOE" not in hidden.content


def test_the_study_page_asks_for_a_login_first(client, study):
    response = client.get(reverse("study-detail", args=[STUDY_UID]))
    assert response.status_code == 302 and response["Location"].startswith(reverse("login"))


def test_dicom_text_on_the_study_page_is_escaped(client, alice, tmp_path):
    path = write_dicom(tmp_path / "evil.dcm", PatientName="<script>alert(1)</script>^EVIL",
                       SeriesDescription="<b onmouseover=alert(2)>x</b>", BodyPartExamined="<i>")
    result = ingest_file(path, origin=Origin(user_id=alice.id))
    client.force_login(alice)
    html = client.get(reverse("study-detail", args=[result.study_instance_uid])).content.decode()
    assert "&lt;script&gt;alert(1)&lt;/script&gt;^EVIL" in html and "<script>alert(1)" not in html
    assert "&lt;b onmouseover=alert(2)&gt;x&lt;/b&gt;" in html and "<b onmouseover" not in html
    assert "&lt;i&gt;" in html
