"""An API token brings its person's role along (studies/api/authentication.py): the visibility
rule then needs no second look at the groups, and a person left in two role groups gets the
wider one, as with a session (accounts.roles.role_of)."""
import pytest
from django.contrib.auth.models import Group
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from studies.ingest import Origin, ingest_file
from tests.conftest import client_with_token, write_dicom

pytestmark = pytest.mark.django_db


@pytest.fixture
def pool_study(tmp_path) -> str:
    """A study received over DICOM: in the reading pool, uploaded by nobody."""
    path = write_dicom(tmp_path / "ct.dcm", PatientID="POOL-1")
    assert ingest_file(path, origin=Origin(calling_ae_title="CT1")).ok
    from studies.models import Study

    return Study.objects.get().study_instance_uid


def found_by(user) -> set[str]:
    answer = client_with_token(user).get(reverse("dicomweb:studies"), HTTP_ACCEPT="application/dicom+json")
    assert answer.status_code == 200
    return {study["0020000D"]["Value"][0] for study in answer.json()}


def test_ritas_token_reads_the_pool_and_the_groups_are_read_once(radiologist, pool_study):
    with CaptureQueriesContext(connection) as queries:
        assert found_by(radiologist) == {pool_study}
    assert sum('"auth_group"' in q["sql"] for q in queries) == 1  # the token's own query


def test_alices_token_does_not_read_the_pool(alice, pool_study):
    assert found_by(alice) == set()


def test_a_person_in_two_role_groups_gets_the_wider_one_through_a_token(alice, pool_study):
    alice.groups.add(Group.objects.get(name="Radiologist"))  # left a referrer too
    assert found_by(alice) == {pool_study}
