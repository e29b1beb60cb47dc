"""A prepared query (studies/prepared.py) runs the SQL its selector compiled once, with each
call's values: the same rows the selector finds, per shape, converted as Django converts them."""
import pytest
from django.db.models.expressions import RawSQL
from pydicom.uid import generate_uid

from studies import selectors
from studies.ingest import Origin, ingest_file
from studies.models import Instance
from studies.prepared import PreparedQuery
from tests.conftest import write_dicom

pytestmark = pytest.mark.django_db


@pytest.fixture
def two_instances(tmp_path, alice):
    """Two of Alice's uploads, in two studies."""
    made = []
    for name in ("one", "two"):
        path = write_dicom(tmp_path / f"{name}.dcm", PatientID=name.upper())
        assert ingest_file(path, origin=Origin(user_id=alice.pk)).ok
    for instance in Instance.objects.select_related("series__study").order_by("pk"):
        made.append((instance.series.study.study_instance_uid, instance.series.series_instance_uid, instance.sop_instance_uid))
    return made


def by_sop(shape, *, sop):
    return Instance.objects.filter(sop_instance_uid=sop).values_list("sop_instance_uid", "dicom_json")


def test_the_rows_of_each_call_are_those_of_its_values(two_instances):
    query = PreparedQuery(by_sop, sop=str)
    for _, _, sop in two_instances:
        ((found, header),) = query.rows(sop=sop)
        assert found == sop
        assert header["00080018"] == {"vr": "UI", "Value": [sop]}  # the JSON column decoded, as values_list does
    assert query.rows(sop=generate_uid()) == []


def test_stored_instance_finds_what_instance_for_finds_and_nothing_else(two_instances, alice, charlie, admin_user):
    for uids in two_instances:
        stored = selectors.stored_instance(alice, *uids)
        instance = selectors.instance_for(alice, *uids)
        assert stored == (instance.pk, instance.series_id, instance.storage_key, instance.transfer_syntax_uid, instance.sha256)
        assert selectors.stored_instance(admin_user, *uids) == stored  # another role: SQL of its own
        with pytest.raises(Exception, match="No such instance"):
            selectors.stored_instance(charlie, *uids)
    (study, series, sop), (other_study, _, _) = two_instances
    with pytest.raises(Exception, match="No such instance"):
        selectors.stored_instance(alice, other_study, series, sop)  # the whole path must match


def test_a_value_written_into_the_sql_is_refused():
    query = PreparedQuery(lambda shape, *, sop: Instance.objects.annotate(x=RawSQL(f"'{sop}'", ())).values_list("x"), sop=str)
    with pytest.raises(ValueError, match="written into the SQL"):
        query.rows(sop="1.2.3")
