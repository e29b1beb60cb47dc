"""The study list page: login, search by each criterion, paging, visibility and escaping."""
from datetime import date, timedelta

import pytest
from django.urls import reverse

from studies.ingest import Origin, Outcome, ingest_file
from studies.models import Patient, Study
from tests.conftest import write_dicom

pytestmark = pytest.mark.django_db


def store(user, folder, accession, **elements):
    path = write_dicom(folder / f"{accession}.dcm", AccessionNumber=accession, **elements)
    assert ingest_file(path, origin=Origin(user_id=user.id)).outcome is Outcome.STORED


def listed(response) -> list[str]:
    """Accession numbers of the rows shown, in order."""
    assert response.status_code == 200
    return [study.accession_number for study in (response.context["page"].items if response.context["page"] else [])]


@pytest.fixture
def alices_studies(alice, tmp_path):
    store(alice, tmp_path, "A1", PatientName="DOE^JOHN", PatientID="ID-1", PatientBirthDate="19700101", PatientSex="M",
          StudyDate="20240301", Modality="CT", StudyDescription="CT Abdomen")
    store(alice, tmp_path, "A2", PatientName="DOERR^ANNA", PatientID="ID-2", PatientBirthDate="19800202", PatientSex="F",
          StudyDate="20240201", Modality="MR", StudyDescription="MR Knee")
    store(alice, tmp_path, "A3", PatientName="ROE^JANE", PatientID="ID-3", PatientBirthDate="19900303", PatientSex="F",
          StudyDate="20231201", Modality="PT", StudyDescription="PET whole body")


def test_the_study_list_asks_for_a_login_first(client):
    response = client.get(reverse("study-list"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_alice_sees_her_upload_with_every_column(client, alice, alices_studies):
    client.force_login(alice)
    response = client.get(reverse("study-list"))

    assert listed(response) == ["A1", "A2", "A3"]  # newest study date first
    html = response.content.decode()
    first_row = html[html.index('<tr data-study-uid'):html.index("</tr>", html.index('<tr data-study-uid'))]
    for text in ("DOE^JOHN", "ID-1", "1970-01-01", ">M<", "2024-03-01", "CT Abdomen", ">CT<", "A1", "1 / 1"):
        assert text in first_row, text
    study = Study.objects.get(accession_number="A1")
    assert reverse("study-detail", args=[study.study_instance_uid]) in first_row


def test_charlie_the_outsider_sees_an_empty_list(client, charlie, alices_studies):
    client.force_login(charlie)
    response = client.get(reverse("study-list"))
    assert listed(response) == []
    assert "No studies match." in response.content.decode()
    assert "DOE^JOHN" not in response.content.decode()


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({"patient_name": "DOE*"}, ["A1", "A2"]),
        ({"patient_name": "doe"}, ["A1", "A2"]),
        ({"patient_name": "*JAN?"}, ["A3"]),
        ({"patient_name": "?OE^J*"}, ["A1", "A3"]),
        ({"patient_id": "ID-2"}, ["A2"]),
        ({"patient_id": "ID-*"}, ["A1", "A2", "A3"]),
        ({"birth_date": "1980-02-02"}, ["A2"]),
        ({"birth_date": "19800202"}, ["A2"]),  # a DICOM DA value works too
        ({"date_from": "2024-01-01", "date_to": "2024-02-01"}, ["A2"]),
        ({"date_from": "2024-02-01"}, ["A1", "A2"]),
        ({"date_to": "2023-12-31"}, ["A3"]),
        ({"modality": "ct"}, ["A1"]),
        ({"modality": "CT, PT"}, ["A1", "A3"]),
        ({"accession": "A3"}, ["A3"]),
        ({"description": "knee"}, ["A2"]),
        ({"patient_name": "DOE*", "modality": "MR"}, ["A2"]),
        ({"patient_name": "NOBODY"}, []),
    ],
)
def test_alice_searches_by_each_criterion(client, alice, alices_studies, query, expected):
    client.force_login(alice)
    assert listed(client.get(reverse("study-list"), query)) == expected


def test_a_malformed_search_shows_its_errors_instead_of_every_study(client, alice, alices_studies):
    client.force_login(alice)
    response = client.get(reverse("study-list"), {"date_from": "2024-13-45", "modality": "C;T"})
    assert response.status_code == 200
    assert response.context["page"] is None
    html = response.content.decode()
    assert "Enter a valid date." in html and "A modality is a code such as CT or MR." in html
    assert "DOE^JOHN" not in html

    reversed_range = client.get(reverse("study-list"), {"date_from": "2024-02-01", "date_to": "2024-01-01"})
    assert reversed_range.context["page"] is None
    assert "The end of the range is before its start." in reversed_range.content.decode()


def test_pages_of_fifty_keep_the_search_in_their_links(client, admin_user):
    patient = Patient.objects.create(patient_key="k", patient_id="MANY", patient_name="MANY^STUDIES")
    Study.objects.bulk_create(
        Study(study_instance_uid=f"1.2.3.{i}", patient=patient, study_date=date(2001 + i % 20, 1 + i % 12, 1),
              accession_number=f"M{i:03d}", modalities_in_study="CT")
        for i in range(120)
    )
    client.force_login(admin_user)

    first = client.get(reverse("study-list"), {"modality": "CT"})
    assert len(listed(first)) == 50
    assert "Studies 1–50 of 120" in first.content.decode()
    assert 'href="?modality=CT&amp;page=2"' in first.content.decode()

    third = client.get(reverse("study-list"), {"modality": "CT", "page": "3"})
    assert len(listed(third)) == 20
    assert "Studies 101–120 of 120" in third.content.decode()
    every = listed(first) + listed(client.get(reverse("study-list"), {"modality": "CT", "page": "2"})) + listed(third)
    assert sorted(every) == sorted(f"M{i:03d}" for i in range(120))
    shown_dates = [Study.objects.get(accession_number=a).study_date for a in every]
    assert shown_dates == sorted(shown_dates, reverse=True)

    assert listed(client.get(reverse("study-list"), {"page": "nonsense"})) == listed(first)


def test_a_broad_search_says_more_than_it_counted_and_every_next_page_works(client, admin_user):
    """320 matches, counted five pages ahead of the one shown: "of 300+" on the first page, exact from the second."""
    patient = Patient.objects.create(patient_key="k", patient_id="MANY", patient_name="MANY^STUDIES")
    Study.objects.bulk_create(
        Study(study_instance_uid=f"1.2.4.{i}", patient=patient, study_date=date(2000, 1, 1) + timedelta(days=i),
              accession_number=f"B{i:03d}", modalities_in_study="CT\\SEG" if i % 2 else "MR")
        for i in range(640)
    )
    client.force_login(admin_user)

    first = client.get(reverse("study-list"), {"modality": "SEG"})
    assert "Studies 1–50 of 300+" in first.content.decode()
    seen, number, response = [], 1, first
    while True:
        seen += listed(response)
        html = response.content.decode()
        if 'rel="next"' not in html:
            break
        assert f'rel="next" href="?modality=SEG&amp;page={number + 1}"' in html
        number += 1
        response = client.get(reverse("study-list"), {"modality": "SEG", "page": str(number)})
    assert number == 7
    assert "Studies 301–320 of 320" in response.content.decode()  # the count reached the end: exact
    assert seen == [f"B{i:03d}" for i in range(639, 0, -2)]  # each odd (CT\SEG) study once, newest first
    assert "Studies 51–100 of 320" in client.get(reverse("study-list"), {"modality": "SEG", "page": "2"}).content.decode()


def test_a_patient_name_is_shown_escaped(client, alice, tmp_path):
    store(alice, tmp_path, "X1", PatientName="<script>alert(1)</script>^EVIL", StudyDescription='<img src=x onerror="alert(2)">')
    client.force_login(alice)
    html = client.get(reverse("study-list")).content.decode()
    assert "&lt;script&gt;alert(1)&lt;/script&gt;^EVIL" in html
    assert "<script>alert(1)" not in html
    assert "&lt;img src=x onerror=&quot;alert(2)&quot;&gt;" in html
    assert "<img src=x" not in html


def test_the_search_box_gives_back_what_was_typed_escaped(client, alice):
    client.force_login(alice)
    html = client.get(reverse("study-list"), {"patient_name": '"><script>alert(3)</script>'}).content.decode()
    assert 'value="&quot;&gt;&lt;script&gt;alert(3)&lt;/script&gt;"' in html
    assert "<script>alert(3)" not in html
