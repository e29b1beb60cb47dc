"""The listener's handlers, called directly with pynetdicom's own Event and Association objects:
which status each ingest answer becomes, and what is logged, without a network in between."""
from __future__ import annotations

import errno
import hashlib
import logging
from pathlib import Path

import pytest
from django.db import OperationalError
from pydicom import Dataset
from pydicom.dataset import FileMetaDataset
from pydicom.uid import ExplicitVRLittleEndian, generate_uid
from pynetdicom import AE, evt
from pynetdicom.association import Association
from pynetdicom.dimse_primitives import C_STORE
from pynetdicom.events import Event
from pynetdicom.pdu_primitives import A_ASSOCIATE
from pynetdicom.sop_class import CTImageStorage
from pynetdicom.transport import AddressInformation

from studies import ingest
from studies.dimse import handlers
from studies.dimse.limits import MAX_ASSOCIATE_RQ, Limits
from studies.models import Instance
from studies.storage import DicomFileStorage, dicom_storage
from tests.conftest import archived_files

# transaction=True: the handler closes stale connections as the long-lived listener must, which a
# test wrapped in one transaction would not survive.
pytestmark = pytest.mark.django_db(transaction=True)


def modality_association(ae_title: str = "CT_SCANNER", address: str = "10.1.2.3", port: int = 40112) -> Association:
    """An acceptor association as the listener sees it once the A-ASSOCIATE-RQ is in."""
    assoc = Association(AE(ae_title="LUMEN"), "acceptor")
    request = A_ASSOCIATE()
    request.calling_ae_title = ae_title
    assoc.requestor.primitive = request
    assoc.requestor.ae_title = ae_title
    assoc.requestor.address_info = AddressInformation(address, port)
    return assoc


def spooled_instance(folder: Path, *, sop_uid: str | None = None, rows: int = 4, truncate: int = 0) -> Path:
    """A file as pynetdicom spools a C-STORE: preamble, File Meta, then the dataset as received."""
    ds = Dataset()
    ds.file_meta = FileMetaDataset()
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.SOPClassUID = CTImageStorage
    ds.SOPInstanceUID = sop_uid or generate_uid()
    ds.StudyInstanceUID = "1.2.826.0.1.3680043.8.498.1"
    ds.SeriesInstanceUID = "1.2.826.0.1.3680043.8.498.2"
    ds.PatientID = "P-1"
    ds.PatientName = "Doe^Jane"
    ds.Modality = "CT"
    ds.Rows = ds.Columns = rows
    ds.BitsAllocated = ds.BitsStored = 16
    ds.HighBit = 15
    ds.PixelRepresentation = 0
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.PixelData = bytes(rows * rows * 2)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"cstore-{generate_uid()[-12:]}.dcm"
    ds.save_as(path, enforce_file_format=True)
    if truncate:
        path.write_bytes(path.read_bytes()[:-truncate])
    return path


def c_store_event(assoc: Association, path: Path) -> Event:
    request = C_STORE()
    request.MessageID = 1
    request.AffectedSOPClassUID = CTImageStorage
    request._dataset_path = path
    return Event(assoc, evt.EVT_C_STORE, {"request": request, "context": None})


@pytest.fixture
def spool(data_dir) -> Path:
    return data_dir / "spool" / "dicom"


def test_a_valid_instance_is_answered_success_once_it_is_indexed_with_its_origin(spool):
    path = spooled_instance(spool)

    answer = handlers.handle_store(c_store_event(modality_association(), path))

    assert answer.Status == 0x0000
    instance = Instance.objects.get()
    assert (instance.calling_ae_title, instance.peer_address) == ("CT_SCANNER", "10.1.2.3")
    assert Path(dicom_storage().path(instance.storage_key)).exists()
    assert not path.exists()  # the spool copy is gone; the archive has its own


def test_an_identical_resend_is_success_without_a_second_row(spool):
    uid = generate_uid()
    handlers.handle_store(c_store_event(modality_association(), spooled_instance(spool, sop_uid=uid)))

    answer = handlers.handle_store(c_store_event(modality_association(), spooled_instance(spool, sop_uid=uid)))

    assert answer.Status == 0x0000
    assert Instance.objects.count() == 1


def test_different_content_under_a_stored_uid_is_refused_and_the_first_copy_kept(spool, data_dir):
    uid = generate_uid()
    handlers.handle_store(c_store_event(modality_association(), spooled_instance(spool, sop_uid=uid, rows=4)))
    first = Instance.objects.get()

    answer = handlers.handle_store(c_store_event(modality_association(), spooled_instance(spool, sop_uid=uid, rows=8)))

    assert answer.Status == handlers.CONFLICT
    assert answer.ErrorComment == "duplicate SOP Instance UID with different content"
    assert Instance.objects.get().sha256 == first.sha256
    assert len(archived_files(data_dir)) == 1


def test_a_truncated_dataset_is_refused_as_cannot_understand_and_leaves_no_file(spool, data_dir, caplog):
    path = spooled_instance(spool, rows=16, truncate=100)

    with caplog.at_level(logging.WARNING, logger="studies.dimse"):
        answer = handlers.handle_store(c_store_event(modality_association(ae_title="OLD_CR"), path))

    assert answer.Status == 0xC000
    assert answer.ErrorComment.startswith("truncated: the pixel data needs 512 bytes")
    assert Instance.objects.count() == 0
    assert archived_files(data_dir) == []
    assert not path.exists()
    assert 'C-STORE from AE "OLD_CR" at 10.1.2.3:40112 refused' in caplog.text and "(truncated)" in caplog.text


def test_an_archive_that_cannot_be_written_is_answered_out_of_resources(spool, settings, tmp_path):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("the archive cannot create folders under a file")
    archive = {"BACKEND": "studies.storage.DicomFileStorage", "OPTIONS": {"location": blocker}}
    settings.STORAGES = {**settings.STORAGES, "dicom": archive}

    answer = handlers.handle_store(c_store_event(modality_association(), spooled_instance(spool)))

    assert answer.Status == 0xA700  # Refused: Out of Resources — the modality will retry later
    assert Instance.objects.count() == 0


def test_a_database_outage_is_answered_out_of_resources(spool, monkeypatch):
    def database_down(path, *, origin, may_link):
        raise OperationalError("connection refused")

    monkeypatch.setattr(handlers, "ingest_file", database_down)
    path = spooled_instance(spool)

    answer = handlers.handle_store(c_store_event(modality_association(), path))

    assert answer.Status == 0xA700
    assert not path.exists()


def test_an_unexpected_error_becomes_a_failure_status_not_a_dead_listener(spool, monkeypatch, caplog):
    def broken(path, *, origin, may_link):
        raise RuntimeError("a bug")

    monkeypatch.setattr(handlers, "ingest_file", broken)
    path = spooled_instance(spool)

    with caplog.at_level(logging.ERROR, logger="studies.dimse"):
        answer = handlers.handle_store(c_store_event(modality_association(), path))

    assert answer.Status == handlers.INTERNAL_ERROR
    assert answer.ErrorComment
    assert not path.exists()
    assert 'AE "CT_SCANNER" at 10.1.2.3:40112' in caplog.text and "RuntimeError: a bug" in caplog.text


def test_error_comments_fit_the_lo_value_representation():
    answer = handlers.status(0xC000, "line one\nline two \\ with a backslash " + "x" * 100)

    assert len(answer.ErrorComment) <= 64
    assert "\n" not in answer.ErrorComment and "\\" not in answer.ErrorComment


def test_c_echo_always_succeeds():
    assert handlers.handle_echo(Event(modality_association(), evt.EVT_C_ECHO, {})) == 0x0000


def test_a_refused_association_is_logged_with_the_peer_and_the_reason(caplog):
    assoc = modality_association(ae_title="INTRUDER", address="192.0.2.7", port=5000)
    rejection = A_ASSOCIATE()
    rejection.result, rejection.result_source, rejection.diagnostic = 0x01, 0x01, 0x03
    assoc.acceptor.primitive = rejection

    with caplog.at_level(logging.WARNING, logger="studies.dimse"):
        handlers.handle_rejected(Event(assoc, evt.EVT_REJECTED, {}))

    assert 'association from AE "INTRUDER" at 192.0.2.7:5000 refused: calling AE title not recognised' in caplog.text


def test_only_p_data_pdus_may_be_as_long_as_the_negotiated_maximum():
    limits = Limits(max_pdu=1024 * 1024, association_timeout=5, network_timeout=60)
    assert limits.max_pdu_length(0x04) == 1024 * 1024  # P-DATA-TF
    assert limits.max_pdu_length(0x01) == MAX_ASSOCIATE_RQ == 64 * 1024  # A-ASSOCIATE-RQ
    assert limits.max_pdu_length(0x07) == MAX_ASSOCIATE_RQ  # A-ABORT (really 10 bytes)


def test_a_spooled_instance_is_linked_into_the_archive_not_copied(spool):
    path = spooled_instance(spool)
    sent, inode = path.read_bytes(), path.stat().st_ino

    assert handlers.handle_store(c_store_event(modality_association(), path)).Status == 0x0000

    stored = Path(dicom_storage().path(Instance.objects.get().storage_key))
    assert stored.stat().st_ino == inode and stored.stat().st_nlink == 1  # the spool name is gone
    assert stored.read_bytes() == sent and stored.stat().st_mode & 0o777 == 0o644
    assert Instance.objects.get().sha256 == hashlib.sha256(sent).hexdigest()


def test_a_spool_file_with_a_nonzero_preamble_is_copied_with_a_zeroed_one(spool):
    path = spooled_instance(spool)
    sent = path.read_bytes()
    path.write_bytes(b"MZ" + bytes(126) + sent[128:])  # a polyglot's preamble (CVE-2019-11687)
    inode = path.stat().st_ino

    assert handlers.handle_store(c_store_event(modality_association(), path)).Status == 0x0000

    stored = Path(dicom_storage().path(Instance.objects.get().storage_key))
    assert stored.stat().st_ino != inode
    assert stored.read_bytes() == sent


def test_a_failed_index_write_after_linking_leaves_neither_file_nor_row(spool, data_dir, monkeypatch):
    def index_down(*args, **kwargs):
        raise OperationalError("connection lost")

    monkeypatch.setattr(ingest, "_index", index_down)
    path = spooled_instance(spool)

    answer = handlers.handle_store(c_store_event(modality_association(), path))

    assert answer.Status == 0xA700
    assert Instance.objects.count() == 0
    assert archived_files(data_dir) == []
    assert not path.exists()


def test_a_spool_on_another_filesystem_is_copied(spool, data_dir, monkeypatch):
    def cross_device(self, name, source):
        raise OSError(errno.EXDEV, "Invalid cross-device link")

    monkeypatch.setattr(DicomFileStorage, "save_by_linking", cross_device)
    path = spooled_instance(spool)
    sent = path.read_bytes()

    assert handlers.handle_store(c_store_event(modality_association(), path)).Status == 0x0000

    assert [p.read_bytes() for p in archived_files(data_dir)] == [sent]
    assert not path.exists()
