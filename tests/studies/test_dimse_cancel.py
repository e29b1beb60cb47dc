"""C-CANCEL of a C-FIND against a running `manage.py dicomserver`, with pynetdicom as the
workstation (DCMTK's findscu cannot cancel on demand)."""
from __future__ import annotations

import pytest
from pydicom import Dataset
from pynetdicom import AE
from pynetdicom.sop_class import StudyRootQueryRetrieveInformationModelFind

from studies.models import Patient, Study
from tests.studies import test_dicomserver
from tests.studies.test_dicomserver import AE_TITLE

pytestmark = [pytest.mark.dcmtk, pytest.mark.django_db(transaction=True)]

start_listener = test_dicomserver.start_listener  # the fixture that starts `manage.py dicomserver`

PENDING, CANCEL, SUCCESS = 0xFF00, 0xFE00, 0x0000
# Enough matches that the listener is still answering when the C-CANCEL arrives: it is sent
# right after the first Pending, and each answer costs the listener a look-up of the stored
# header (study_query asks for InstitutionName, which the index has no column for).
MATCHES = 3000


@pytest.fixture
def many_studies() -> int:
    """MATCHES studies of one patient, written straight to the index (only C-FIND reads them)."""
    patient = Patient.objects.create(patient_key="P-MANY", patient_id="P-MANY", patient_name="MANY^STUDIES")
    Study.objects.bulk_create(
        Study(study_instance_uid=f"1.2.826.0.1.3680043.8.498.{n}", patient=patient, study_description=f"study {n}")
        for n in range(1, MATCHES + 1)
    )
    return MATCHES


def study_query(**keys) -> Dataset:
    query = Dataset()
    query.QueryRetrieveLevel = "STUDY"
    query.StudyInstanceUID = ""
    query.StudyDescription = ""
    # Answered from the stored header, one query per match: ~1 ms per answer instead of ~20 µs
    # from the index alone, which could send all 3,000 before a busy machine delivered the
    # C-CANCEL (the cancel path is the same for both).
    query.InstitutionName = ""
    for keyword, value in keys.items():
        setattr(query, keyword, value)
    return query


def test_a_workstation_cancels_a_big_search_after_the_first_answer_and_gets_cancel(start_listener, many_studies):
    listener = start_listener()
    ae = AE(ae_title="WORKSTATION")
    ae.add_requested_context(StudyRootQueryRetrieveInformationModelFind)
    assoc = ae.associate("127.0.0.1", listener.port, ae_title=AE_TITLE)
    assert assoc.is_established, listener.log

    statuses, answers = [], []
    try:
        for status, identifier in assoc.send_c_find(study_query(PatientID="P-MANY"), StudyRootQueryRetrieveInformationModelFind, msg_id=7):
            assert status, f"no response from the listener:\n{listener.log}"
            statuses.append(status.Status)
            if status.Status == PENDING:
                answers.append(identifier.StudyInstanceUID)
                if len(answers) == 1:
                    # PS3.7 9.3.2.3: C-CANCEL-RQ names the operation by its Message ID.
                    assoc.send_c_cancel(7, query_model=StudyRootQueryRetrieveInformationModelFind)
    finally:
        assoc.release()

    assert statuses[-1] == CANCEL, (hex(statuses[-1]), listener.log)
    assert all(code == PENDING for code in statuses[:-1])
    assert 1 <= len(answers) < many_studies
    assert len(set(answers)) == len(answers)
    assert "cancelled after" in listener.log_when("cancelled after")


def test_the_same_search_without_cancel_answers_every_match(start_listener, many_studies):
    """The control: what the cancelled search would have returned."""
    listener = start_listener()
    ae = AE(ae_title="WORKSTATION")
    ae.add_requested_context(StudyRootQueryRetrieveInformationModelFind)
    assoc = ae.associate("127.0.0.1", listener.port, ae_title=AE_TITLE)
    assert assoc.is_established, listener.log
    try:
        statuses = [status.Status for status, _ in assoc.send_c_find(study_query(PatientID="P-MANY"), StudyRootQueryRetrieveInformationModelFind)]
    finally:
        assoc.release()

    assert statuses[-1] == SUCCESS
    assert statuses.count(PENDING) == many_studies
