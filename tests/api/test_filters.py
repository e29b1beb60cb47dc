"""Filtering, ordering and paging of the study list (and the smaller lists)."""
import pytest

from tests.api.conftest import HEAD, KNEE

pytestmark = pytest.mark.django_db


def study_uids(client, **params):
    response = client.get("/api/studies/", params)
    assert response.status_code == 200, response.content
    return [row["study_instance_uid"] for row in response.json()["results"]]


def test_a_ris_finds_studies_by_patient_name_with_dicom_wildcards(alice_api, archive):
    assert study_uids(alice_api, patient_name="DOE") == [HEAD]
    assert study_uids(alice_api, patient_name="doe^john") == [HEAD]  # case and PN separators ignored
    assert study_uids(alice_api, patient_name="*JANE") == [KNEE]
    assert study_uids(alice_api, patient_name="NOBODY") == []


def test_a_ris_finds_studies_by_patient_id_and_accession_number(alice_api, archive):
    assert study_uids(alice_api, patient_id="P-2") == [KNEE]
    assert study_uids(alice_api, patient_id="P") == []  # an identifier matches exactly…
    assert sorted(study_uids(alice_api, patient_id="P-*")) == sorted([HEAD, KNEE])  # …or by wildcard
    assert study_uids(alice_api, accession_number="ACC-100") == [HEAD]


def test_a_ris_finds_studies_in_a_date_range(alice_api, archive):
    assert study_uids(alice_api, study_date_from="2024-02-01") == [KNEE]
    assert study_uids(alice_api, study_date_to="2024-02-01") == [HEAD]
    assert study_uids(alice_api, study_date_from="2024-01-15", study_date_to="2024-01-15") == [HEAD]


def test_a_bad_date_is_a_json_400_naming_the_parameter(alice_api, archive):
    response = alice_api.get("/api/studies/", {"study_date_from": "yesterday"})

    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "invalid"
    assert "study_date_from" in body["errors"]


def test_a_ris_finds_studies_by_modality(alice_api, archive):
    assert study_uids(alice_api, modality="MR") == [KNEE]
    assert study_uids(alice_api, modality="ct") == [HEAD]
    assert study_uids(alice_api, modality="C") == []  # a whole element of ModalitiesInStudy, not a prefix
    assert study_uids(alice_api, modality="%") == []


def test_the_study_list_can_be_ordered(alice_api, archive):
    assert study_uids(alice_api) == [KNEE, HEAD]  # newest study date first by default
    assert study_uids(alice_api, ordering="study_date") == [HEAD, KNEE]
    assert study_uids(alice_api, ordering="-accession_number") == [KNEE, HEAD]
    assert study_uids(alice_api, ordering="patient__patient_name") == [HEAD, KNEE]


def test_an_unknown_ordering_field_is_ignored(alice_api, archive):
    assert study_uids(alice_api, ordering="patient__patient_key") == [KNEE, HEAD]


def test_lists_are_paged_with_limit_and_offset(alice_api, archive):
    first = alice_api.get("/api/studies/", {"limit": 1}).json()
    assert first["count"] == 2
    assert [row["study_instance_uid"] for row in first["results"]] == [KNEE]
    second = alice_api.get(first["next"]).json()
    assert [row["study_instance_uid"] for row in second["results"]] == [HEAD]
    assert second["next"] is None


def test_series_and_instances_filter_too(alice_api, admin_api, archive):
    series = admin_api.get("/api/series/", {"modality": "mr"}).json()["results"]
    assert [row["series_instance_uid"] for row in series] == [f"{KNEE}.1"]
    instances = alice_api.get(f"/api/series/{HEAD}.1/instances/", {"instance_number": 3}).json()["results"]
    assert [row["sop_instance_uid"] for row in instances] == [f"{HEAD}.1.3"]
    by_number = alice_api.get(f"/api/series/{HEAD}.1/instances/", {"ordering": "-instance_number"}).json()["results"]
    assert [row["instance_number"] for row in by_number] == [3, 2, 1]
