"""The listener's defences, over loopback: the calling-AE allow-list, the association timeout,
the association limit, PDU lengths pynetdicom would otherwise read into memory whole, and
transfers cut off half-way."""
from __future__ import annotations

import socket
import struct
import time
from io import BytesIO

import pytest
from pydicom.uid import ExplicitVRLittleEndian, generate_uid
from pynetdicom import AE
from pynetdicom.dimse_messages import C_STORE_RQ
from pynetdicom.dimse_primitives import C_STORE
from pynetdicom.pdu import P_DATA_TF
from pynetdicom.sop_class import CTImageStorage, Verification

from studies.models import Instance
from tests.studies import test_dicomserver
from tests.studies.test_dicomserver import AE_TITLE, echoscu

start_listener = test_dicomserver.start_listener  # the fixture that starts `manage.py dicomserver`

pytestmark = [pytest.mark.dcmtk, pytest.mark.django_db(transaction=True)]

A_ABORT = 0x07


def test_an_unknown_calling_ae_is_refused_when_the_allow_list_is_on(start_listener):
    listener = start_listener(DICOM_ALLOWED_CALLING_AES="CT_SCANNER,MR_SCANNER")

    refused = echoscu(listener, calling_ae="INTRUDER")
    allowed = echoscu(listener, calling_ae="MR_SCANNER")

    assert refused.returncode != 0
    assert "Association Rejected" in refused.stderr and "Calling AE Title Not Recognized" in refused.stderr
    assert allowed.returncode == 0, allowed.stderr
    assert 'association from AE "INTRUDER" at 127.0.0.1:' in listener.log_when('association from AE "INTRUDER" at 127.0.0.1:')
    assert "calling AE title not recognised" in listener.log_when("calling AE title not recognised")


def test_a_connection_that_never_associates_is_dropped_after_the_association_timeout(start_listener):
    listener = start_listener(DICOM_ASSOCIATION_TIMEOUT="2")
    with socket.create_connection(("127.0.0.1", listener.port)) as idle:
        idle.settimeout(2 + 13)  # generous margin for a loaded CI machine; the point is "not 30-60 s"
        assert idle.recv(16) == b""  # the listener closed the connection


def test_a_trickling_half_header_does_not_hold_the_connection_either(start_listener):
    listener = start_listener(DICOM_ASSOCIATION_TIMEOUT="2")
    with socket.create_connection(("127.0.0.1", listener.port)) as slow:
        slow.sendall(b"\x01\x00\x00")  # three bytes of a six-byte PDU header, then silence
        slow.settimeout(2 + 13)
        assert slow.recv(16) == b""


def test_idle_connections_do_not_use_up_the_association_slots(start_listener):
    listener = start_listener(DICOM_MAX_ASSOCIATIONS="2", DICOM_ASSOCIATION_TIMEOUT="30")
    idle = [socket.create_connection(("127.0.0.1", listener.port)) for _ in range(5)]
    try:
        first, second = echoscu(listener), echoscu(listener)
    finally:
        for connection in idle:
            connection.close()
    assert first.returncode == 0, first.stderr
    assert second.returncode == 0, second.stderr


def test_the_association_limit_holds_across_listener_processes(start_listener):
    listener = start_listener("--processes", "2", DICOM_MAX_ASSOCIATIONS="1")
    ae = AE(ae_title="HOLDER")
    ae.add_requested_context(Verification)
    holder = ae.associate("127.0.0.1", listener.port, ae_title=AE_TITLE)
    assert holder.is_established
    try:
        # The kernel spreads connections over both processes; each must see the holder's slot.
        latecomers = [echoscu(listener, calling_ae=f"LATECOMER{n}") for n in range(4)]
    finally:
        holder.release()
    assert all(result.returncode != 0 for result in latecomers), listener.log
    assert all("Local Limit Exceeded" in result.stderr for result in latecomers)
    assert listener.log.count("refused: local limit exceeded") == 4
    assert echoscu(listener).returncode == 0  # the slot is free again


def test_a_huge_associate_request_is_aborted_without_being_read(start_listener):
    listener = start_listener()
    with socket.create_connection(("127.0.0.1", listener.port)) as peer:
        peer.sendall(struct.pack(">BBL", 0x01, 0, 0x7FFF_FFF0))  # A-ASSOCIATE-RQ header declaring 2 GiB
        peer.settimeout(15)
        answer = _read_until_closed(peer)
    assert answer[:1] == bytes([A_ABORT])  # A-ABORT PDU (PS3.8 9.3.8), then the connection closes
    assert "A-ASSOCIATE-RQ) of 2147483632 bytes, over the 65536-byte limit" in listener.log_when("A-ASSOCIATE-RQ) of 2147483632 bytes, over the 65536-byte limit")
    assert echoscu(listener).returncode == 0  # the listener is still healthy


def test_a_p_data_pdu_longer_than_our_maximum_aborts_the_association(start_listener):
    listener = start_listener(DICOM_MAX_PDU="65536")
    ae = AE(ae_title="BLOATED")
    ae.add_requested_context(CTImageStorage, ExplicitVRLittleEndian)
    assoc = ae.associate("127.0.0.1", listener.port, ae_title=AE_TITLE)
    assert assoc.is_established
    assert assoc.acceptor.maximum_length == 65536  # what we announced in the A-ASSOCIATE-AC

    # A P-DATA-TF header declaring 96 MiB, written under pynetdicom's feet.
    assoc.dul.socket.socket.sendall(struct.pack(">BBL", 0x04, 0, 96 * 1024 * 1024))
    assoc.join(timeout=30)  # the association thread ends once the peer aborts

    assert assoc.is_aborted
    assert 'AE "BLOATED" at 127.0.0.1:' in listener.log_when('AE "BLOATED" at 127.0.0.1:')
    assert "(P-DATA-TF) of 100663296 bytes, over the 65536-byte limit" in listener.log_when("(P-DATA-TF) of 100663296 bytes, over the 65536-byte limit")
    assert echoscu(listener).returncode == 0


def _read_until_closed(peer: socket.socket) -> bytes:
    received = b""
    try:
        while chunk := peer.recv(4096):
            received += chunk
    except ConnectionResetError:
        pass
    return received


def test_a_transfer_cut_off_half_way_leaves_no_spool_file_and_no_row(start_listener, data_dir):
    listener = start_listener()
    ae = AE(ae_title="FLAKY")
    ae.add_requested_context(CTImageStorage, ExplicitVRLittleEndian)
    assoc = ae.associate("127.0.0.1", listener.port, ae_title=AE_TITLE)
    assert assoc.is_established
    request = C_STORE()
    request.MessageID = 1
    request.AffectedSOPClassUID = CTImageStorage
    request.AffectedSOPInstanceUID = generate_uid()
    request.Priority = 2
    request.DataSet = BytesIO(bytes(200_000))  # the dataset bytes: only a part will be sent
    message = C_STORE_RQ()
    message.primitive_to_message(request)
    fragments = list(message.encode_msg(assoc.accepted_contexts[0].context_id, 16384))

    raw = assoc.dul.socket.socket
    for fragment in fragments[: len(fragments) // 2]:  # the command and half of the dataset
        raw.sendall(P_DATA_TF(fragment).encode())
    spool = data_dir / "spool" / "dicom"
    assert _eventually(lambda: any(spool.iterdir()))  # the listener is writing the dataset to its spool
    assoc.abort()

    assert _eventually(lambda: not any(spool.iterdir())), list(spool.iterdir())
    assert 'association from AE "FLAKY" at 127.0.0.1:' in listener.log_when('association from AE "FLAKY" at 127.0.0.1:')
    assert Instance.objects.count() == 0


def _eventually(condition, within: float = 20) -> bool:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return condition()
