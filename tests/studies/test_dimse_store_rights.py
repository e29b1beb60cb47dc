"""A registered node without store rights: its C-STORE is refused (0x0124) and nothing is kept,
against a running `manage.py dicomserver` with pynetdicom as the modality."""
from __future__ import annotations

import pytest
from pydicom import dcmread
from pynetdicom import AE
from pynetdicom.sop_class import CTImageStorage

from studies.models import Instance, RemoteNode
from tests.conftest import archived_files, write_dicom
from tests.studies import test_dicomserver
from tests.studies.test_dicomserver import AE_TITLE

pytestmark = [pytest.mark.dcmtk, pytest.mark.django_db(transaction=True)]

start_listener = test_dicomserver.start_listener  # the fixture that starts `manage.py dicomserver`

NOT_AUTHORIZED = 0x0124  # PS3.7 Annex C: Refused: Not Authorized


def c_store(listener, path, calling_ae: str):
    ae = AE(ae_title=calling_ae)
    ae.add_requested_context(CTImageStorage)
    assoc = ae.associate("127.0.0.1", listener.port, ae_title=AE_TITLE)
    assert assoc.is_established, listener.log
    try:
        return assoc.send_c_store(dcmread(path))
    finally:
        assoc.release()


def test_a_viewer_registered_without_store_rights_is_refused_and_nothing_is_stored(start_listener, data_dir, tmp_path):
    RemoteNode.objects.create(ae_title="READONLY", host="127.0.0.1", port=104, may_store=False)
    listener = start_listener()

    answer = c_store(listener, write_dicom(tmp_path / "ct.dcm"), calling_ae="READONLY")

    assert answer.Status == NOT_AUTHORIZED, listener.log
    assert answer.ErrorComment == "not authorized to store to this archive"
    assert Instance.objects.count() == 0
    assert archived_files(data_dir) == []
    assert [p for p in (data_dir / "spool").rglob("*") if p.is_file()] == []  # the spooled copy is gone too
    assert 'C-STORE from AE "READONLY" at 127.0.0.1' in listener.log_when('C-STORE from AE "READONLY" at 127.0.0.1') and "refused" in listener.log_when("refused")


def test_a_modality_registered_with_store_rights_is_stored_on_the_same_listener(start_listener, data_dir, tmp_path):
    """The control: the refusal above is the node's rights, not the listener or the file."""
    RemoteNode.objects.create(ae_title="MODALITY", host="127.0.0.1", port=104, may_store=True)
    listener = start_listener()

    answer = c_store(listener, write_dicom(tmp_path / "ct.dcm"), calling_ae="MODALITY")

    assert answer.Status == 0x0000, listener.log
    assert Instance.objects.get().calling_ae_title == "MODALITY"
