"""Charlie the outsider sees nothing of Alice's: empty lists, and 404s identical to those of
things that do not exist."""
import pytest

from tests.api.conftest import HEAD, POOL

pytestmark = pytest.mark.django_db

LISTS = ["/api/patients/", "/api/studies/", "/api/series/", "/api/instances/"]
MISSING = "1.2.826.0.1.3680043.8.498.999"


def test_charlie_gets_empty_lists(charlie_api, archive):
    for url in LISTS:
        response = charlie_api.get(url)
        assert response.status_code == 200, url
        assert (response.json()["count"], response.json()["results"]) == (0, []), url


def test_charlie_gets_nothing_from_filters_that_name_alices_study(charlie_api, archive):
    for params in ({"patient_name": "DOE*"}, {"accession_number": "ACC-100"}, {"patient_id": "P-1"}):
        assert charlie_api.get("/api/studies/", params).json()["results"] == []


@pytest.mark.parametrize(
    "template",
    [
        "/api/studies/{uid}/",
        "/api/studies/{uid}/series/",
        "/api/series/{uid}.1/",
        "/api/series/{uid}.1/instances/",
        "/api/instances/{uid}.1.1/",
    ],
)
def test_alices_study_answers_charlie_exactly_like_a_missing_one(charlie_api, archive, template):
    alices = charlie_api.get(template.format(uid=HEAD))
    missing = charlie_api.get(template.format(uid=MISSING))

    assert alices.status_code == missing.status_code == 404
    assert alices.json() == missing.json()
    assert alices.json()["code"] == "not_found"


def test_alice_does_not_see_the_study_received_over_dicom(alice_api, archive):
    assert POOL not in [row["study_instance_uid"] for row in alice_api.get("/api/studies/").json()["results"]]
    assert alice_api.get(f"/api/studies/{POOL}/").status_code == 404
    assert "P-3" not in [row["patient_id"] for row in alice_api.get("/api/patients/").json()["results"]]


def test_charlie_cannot_guess_a_patient_id(charlie_api, archive, alice_api):
    patient = alice_api.get("/api/patients/").json()["results"][0]
    assert charlie_api.get(f"/api/patients/{patient['id']}/").json() == charlie_api.get("/api/patients/999999/").json()
    assert charlie_api.get(f"/api/patients/{patient['id']}/").status_code == 404
