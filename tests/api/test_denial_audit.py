"""A REST request for a study the user may not see answers the plain 404 and writes one
110113 access-denied row, like the pages and DICOMweb; a study that does not exist writes none."""
import pytest

from audit.models import AuditEvent, Outcome
from tests.api.conftest import HEAD, POOL

pytestmark = pytest.mark.django_db

MISSING = "1.2.826.0.1.3680043.8.498.999"

# One URL per endpoint family, with where the study UID sits in it.
FAMILIES = {
    "study detail": "/api/studies/{uid}/",
    "study series list": "/api/studies/{uid}/series/",
    "series detail": "/api/series/{uid}.1/",
    "series instances list": "/api/series/{uid}.1/instances/",
    "instance detail": "/api/instances/{uid}.1.1/",
    "frame image": "/api/studies/{uid}/series/{uid}.1/instances/{uid}.1.1/frames/1/image",
    "series thumbnail": "/api/studies/{uid}/series/{uid}.1/thumbnail",
}


def denials():
    return list(AuditEvent.objects.filter(action="access-denied"))


@pytest.mark.parametrize("family", FAMILIES)
def test_charlie_asking_for_alices_study_leaves_one_denial_row(charlie_api, charlie, archive, family):
    url = FAMILIES[family].format(uid=HEAD)
    response = charlie_api.get(url)
    assert response.status_code == 404 and response.json()["code"] == "not_found"
    [row] = denials()
    assert (row.event, row.outcome, row.user_id, row.study_uid, row.detail["path"]) == ("110113", Outcome.MINOR_FAILURE, charlie.pk, HEAD, url)


@pytest.mark.parametrize("family", FAMILIES)
def test_a_study_that_does_not_exist_is_no_denial(charlie_api, archive, family):
    assert charlie_api.get(FAMILIES[family].format(uid=MISSING)).status_code == 404
    assert denials() == []


@pytest.mark.parametrize("family", FAMILIES)
def test_alice_is_denied_the_study_received_over_dicom(alice_api, alice, archive, family):
    assert alice_api.get(FAMILIES[family].format(uid=POOL)).status_code == 404
    assert [(r.user_id, r.study_uid) for r in denials()] == [(alice.pk, POOL)]


def test_a_missing_series_inside_a_visible_study_is_no_denial(alice_api, archive):
    assert alice_api.get(f"/api/studies/{HEAD}/series/{HEAD}.9/thumbnail").status_code == 404
    assert alice_api.get(f"/api/series/{HEAD}.9/").status_code == 404
    assert denials() == []


def test_sending_a_study_one_may_not_see_is_a_denial_too(charlie_api, charlie, archive):
    response = charlie_api.post(f"/api/studies/{HEAD}/send", {"node": "VIEWER"}, format="json")
    assert response.status_code == 404
    assert [(r.user_id, r.study_uid) for r in denials()] == [(charlie.pk, HEAD)]

