"""Many-match C-FINDs against a running `manage.py dicomserver`: every answer readable by DCMTK's
findscu and by pynetdicom, whatever the transfer syntax and the peer's Maximum Length, names
in their own script, and a C-CANCEL honoured while answers are still streaming."""
from __future__ import annotations

import re
import subprocess
from datetime import date, timedelta

import pytest
from pydicom import Dataset
from pydicom.uid import DeflatedExplicitVRLittleEndian, ExplicitVRBigEndian, ExplicitVRLittleEndian, ImplicitVRLittleEndian
from pynetdicom import AE
from pynetdicom.sop_class import StudyRootQueryRetrieveInformationModelFind

from studies.models import Patient, Study
from tests.conftest import require_tool
from tests.studies import test_dicomserver
from tests.studies.test_dicomserver import AE_TITLE

pytestmark = [pytest.mark.dcmtk, pytest.mark.django_db(transaction=True)]

start_listener = test_dicomserver.start_listener  # the fixture that starts `manage.py dicomserver`

PENDING, CANCEL, SUCCESS = 0xFF00, 0xFE00, 0x0000
NAME = "Müller^Jürgen=山田^太郎"
SEVERAL_BATCHES = 1000  # stream.BATCH_BYTES holds ~100 answers
MANY = 10000  # the listener's first fetch of 50 rows, then ten of 1,000


def uid(n: int) -> str:
    return f"1.2.826.0.1.3680043.8.498.{n}"


def studies_of_müller(count: int) -> int:
    """``count`` studies of one patient with a non-ASCII name, one a day, written straight to the index."""
    patient = Patient.objects.create(
        patient_key="P-MULLER", patient_id="P-MULLER", patient_name=NAME, patient_name_search="MÜLLER JÜRGEN=山田 太郎"
    )
    Study.objects.bulk_create(
        Study(
            study_instance_uid=uid(n),
            patient=patient,
            study_date=date(2000, 1, 1) + timedelta(days=n),
            study_description=f"CT THORAX {n}",
            modalities_in_study="CT\\PT",
            number_of_study_related_instances=n,
        )
        for n in range(count)
    )
    return count


@pytest.fixture
def müller_studies() -> int:
    return studies_of_müller(SEVERAL_BATCHES)


@pytest.fixture
def many_müller_studies() -> int:
    return studies_of_müller(MANY)


def study_query() -> Dataset:
    query = Dataset()
    query.QueryRetrieveLevel = "STUDY"
    query.PatientID = "P-MULLER"
    for keyword in ("StudyInstanceUID", "PatientName", "StudyDate", "StudyDescription", "ModalitiesInStudy", "NumberOfStudyRelatedInstances", "InstitutionName"):
        setattr(query, keyword, "")
    return query


def find_with_pynetdicom(listener, syntax: str, max_pdu: int = 16382) -> list[tuple[int, Dataset | None]]:
    ae = AE(ae_title="WORKSTATION")
    ae.maximum_pdu_size = max_pdu
    ae.add_requested_context(StudyRootQueryRetrieveInformationModelFind, [syntax])
    assoc = ae.associate("127.0.0.1", listener.port, ae_title=AE_TITLE)
    assert assoc.is_established, listener.log
    try:
        return [(status.Status, answer) for status, answer in assoc.send_c_find(study_query(), StudyRootQueryRetrieveInformationModelFind)]
    finally:
        assoc.release()


@pytest.mark.parametrize(
    ("syntax", "max_pdu"),
    [
        (ImplicitVRLittleEndian, 16382),
        (ExplicitVRLittleEndian, 16382),
        (ExplicitVRLittleEndian, 64),  # every answer in several PDUs
        (ExplicitVRBigEndian, 16382),  # answered through pydicom
        (DeflatedExplicitVRLittleEndian, 16382),
    ],
    ids=["implicit", "explicit", "explicit-64-byte-pdus", "big-endian", "deflated"],
)
def test_a_workstation_reads_every_answer_in_order_with_the_name_as_stored(start_listener, müller_studies, syntax, max_pdu):
    listener = start_listener()

    responses = find_with_pynetdicom(listener, syntax, max_pdu)

    assert [status for status, _ in responses] == [PENDING] * müller_studies + [SUCCESS], listener.log
    answers = [answer for _, answer in responses[:-1]]
    assert [answer.StudyInstanceUID for answer in answers] == [uid(n) for n in range(müller_studies)]
    assert {str(answer.PatientName) for answer in answers} == {NAME}
    last = answers[-1]
    assert last.SpecificCharacterSet == "ISO_IR 192"
    assert last.StudyDate == (date(2000, 1, 1) + timedelta(days=müller_studies - 1)).strftime("%Y%m%d")
    assert last.StudyDescription == f"CT THORAX {müller_studies - 1}"
    assert list(last.ModalitiesInStudy) == ["CT", "PT"]
    assert last.NumberOfStudyRelatedInstances == müller_studies - 1
    assert last.InstitutionName == ""  # asked for, not in the index nor in a stored header: zero-length
    assert last.QueryRetrieveLevel == "STUDY"


def findscu(listener, *options: str, keys: tuple[str, ...] = ()) -> subprocess.CompletedProcess:
    args = [require_tool("findscu"), "-v", "-S", "-aet", "WORKSTATION", "-aec", AE_TITLE, *options]
    for key in ("QueryRetrieveLevel=STUDY", "PatientID=P-MULLER", "PatientName", "StudyInstanceUID", *keys):
        args += ["-k", key]
    return subprocess.run([*args, "127.0.0.1", str(listener.port)], capture_output=True, timeout=300)


def test_findscu_prints_every_answer_in_order_with_the_name_in_its_own_script(start_listener, many_müller_studies):
    listener = start_listener()

    result = findscu(listener, "--max-pdu", "4096")

    output = (result.stdout + result.stderr).decode("utf-8")
    assert result.returncode == 0, output[-2000:]
    assert output.count("(Pending)") == many_müller_studies
    assert output.count(f"PN [{NAME} ]") == many_müller_studies  # 29 bytes of UTF-8, padded to 30 with a space
    # In order across the listener's fetches (find.FIRST_CHUNK, then find.CHUNK rows).
    assert re.findall(r"UI \[([\d.]+)\W*\]", output) == [uid(n) for n in range(many_müller_studies)]
    assert "Received Final Find Response (Success)" in output


def test_findscu_cancelling_after_fifty_answers_gets_cancel_instead_of_the_rest(start_listener, many_müller_studies):
    listener = start_listener()

    # InstitutionName comes from the stored header, one query per match (~1 ms): from the index
    # alone the listener could send all 10,000 answers into the sockets' buffers before a busy
    # machine ran findscu far enough to cancel. The cancel path is the same for both.
    result = findscu(listener, "--cancel", "50", keys=("InstitutionName",))

    output = (result.stdout + result.stderr).decode("utf-8")
    pending = len(re.findall(r"Find Response: \d+ \(Pending\)", output))
    assert "Received Final Find Response (Cancel" in output, output[-2000:]
    assert 50 <= pending < many_müller_studies
    assert "cancelled after" in listener.log_when("cancelled after")
