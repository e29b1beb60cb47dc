"""The archive resources as a RIS reads them: studies, their series, the instances of a series, patients."""
import pytest

from tests.api.conftest import HEAD, KNEE

pytestmark = pytest.mark.django_db


def uids(response, field="study_instance_uid"):
    assert response.status_code == 200, response.content
    return [row[field] for row in response.json()["results"]]


def test_alice_lists_her_studies_newest_first_with_their_patient(alice_api, archive):
    response = alice_api.get("/api/studies/")

    assert uids(response) == [KNEE, HEAD]
    head = response.json()["results"][1]
    assert head["patient"]["patient_name"] == "DOE^JOHN"
    assert head["patient"]["patient_id"] == "P-1"
    assert head["accession_number"] == "ACC-100"
    assert head["study_date"] == "2024-01-15"
    assert head["modalities"] == ["CT"]
    assert (head["number_of_study_related_series"], head["number_of_study_related_instances"]) == (2, 4)
    assert head["url"] == f"http://testserver/api/studies/{HEAD}/"


def test_alice_reads_one_study_by_its_uid(alice_api, archive):
    response = alice_api.get(f"/api/studies/{HEAD}/")

    assert response.status_code == 200
    assert response.json()["study_description"] == "CT HEAD"
    assert response.json()["series_url"] == f"http://testserver/api/studies/{HEAD}/series/"


def test_the_series_of_a_study_come_in_series_number_order(alice_api, archive):
    response = alice_api.get(f"/api/studies/{HEAD}/series/")

    assert uids(response, "series_instance_uid") == [f"{HEAD}.1", f"{HEAD}.2"]
    first = response.json()["results"][0]
    assert (first["modality"], first["series_number"], first["number_of_series_related_instances"]) == ("CT", 1, 3)
    assert first["study_instance_uid"] == HEAD
    assert alice_api.get(f"/api/series/{HEAD}.2/").json()["series_number"] == 2


def test_the_instances_of_a_series_come_in_reading_order(alice_api, archive):
    response = alice_api.get(f"/api/series/{HEAD}.1/instances/")

    # Sorted along the slice normal (z 0, 10, 20), not by InstanceNumber (2, 3, 1).
    assert uids(response, "sop_instance_uid") == [f"{HEAD}.1.2", f"{HEAD}.1.3", f"{HEAD}.1.1"]
    instance = alice_api.get(f"/api/instances/{HEAD}.1.2/").json()
    assert (instance["rows"], instance["columns"], instance["number_of_frames"]) == (8, 8, 1)
    assert (instance["series_instance_uid"], instance["study_instance_uid"]) == (f"{HEAD}.1", HEAD)
    assert "dicom_json" not in instance


def test_alice_lists_the_patients_of_her_studies(alice_api, archive):
    response = alice_api.get("/api/patients/")

    assert uids(response, "patient_id") == ["P-1", "P-2"]
    patient = response.json()["results"][0]
    assert alice_api.get(patient["url"]).json()["patient_name"] == "DOE^JOHN"
    studies = alice_api.get("/api/studies/", {"patient": patient["id"]})
    assert uids(studies) == [HEAD]


def test_the_admin_sees_every_study(admin_api, archive):
    assert sorted(uids(admin_api.get("/api/studies/"))) == sorted(archive.values())


def test_the_resources_are_read_only(alice_api, archive):
    assert alice_api.post("/api/studies/", {}, format="json").status_code == 405
    assert alice_api.delete(f"/api/studies/{HEAD}/").status_code == 405
    assert alice_api.put(f"/api/series/{HEAD}.1/", {}, format="json").json()["code"] == "method_not_allowed"
