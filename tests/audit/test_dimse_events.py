"""DIMSE over loopback with real DCMTK peers: a C-STORE association is one 110104 row with
its counts (as IHE ATNA records a transfer), a C-FIND is one 110112 row."""
import subprocess

import pytest

from audit.models import AuditEvent, Outcome
from tests.conftest import require_tool, write_dicom
from tests.studies.test_dicomserver import AE_TITLE, storescu

pytestmark = [pytest.mark.dcmtk, pytest.mark.django_db(transaction=True)]


def test_a_modality_sending_three_images_in_one_association_is_one_transfer_row(start_listener, tmp_path):
    listener = start_listener()
    files = [write_dicom(tmp_path / f"{n}.dcm", StudyInstanceUID="1.2.826.0.1.55", InstanceNumber=n) for n in (1, 2, 3)]
    assert storescu(listener, files, calling_ae="CT_SCANNER").returncode == 0
    listener.log_when("released")
    listener.stop()  # the row is written on release: stopping waits for the handler to finish

    rows = list(AuditEvent.objects.filter(action="c-store"))
    assert len(rows) == 1
    row = rows[0]
    assert (row.event, row.outcome, row.calling_ae, row.ip, row.study_uid) == ("110104", Outcome.SUCCESS, "CT_SCANNER", "127.0.0.1", "1.2.826.0.1.55")
    assert row.detail == {"stored": 3, "failed": 0, "studies": ["1.2.826.0.1.55"]}


def test_an_echo_only_association_writes_no_transfer_row(start_listener):
    listener = start_listener()
    assert subprocess.run([require_tool("echoscu"), "-aet", "PING", "-aec", AE_TITLE, "127.0.0.1", str(listener.port)], capture_output=True).returncode == 0
    listener.log_when("released")
    listener.stop()
    assert not AuditEvent.objects.filter(action="c-store").exists()


def test_a_c_find_is_one_query_row(start_listener, tmp_path):
    listener = start_listener()
    storescu(listener, [write_dicom(tmp_path / "a.dcm", PatientID="FIND-ME")], calling_ae="CT_SCANNER")
    answer = subprocess.run(
        [require_tool("findscu"), "-S", "-aet", "WORKSTATION", "-aec", AE_TITLE, "-k", "QueryRetrieveLevel=STUDY", "-k", "PatientID=FIND-ME",
         "-k", "StudyInstanceUID", "127.0.0.1", str(listener.port)],
        capture_output=True, text=True, timeout=60,
    )
    assert answer.returncode == 0, answer.stderr
    listener.log_when("matches")
    listener.stop()
    rows = list(AuditEvent.objects.filter(action="c-find"))
    assert len(rows) == 1
    assert (rows[0].event, rows[0].outcome, rows[0].calling_ae, rows[0].detail) == ("110112", Outcome.SUCCESS, "WORKSTATION", {"level": "STUDY", "matches": 1})
