"""Pending C-FIND responses framed by studies/dimse/stream.py read back with pynetdicom's own
decoders: the command set it would have encoded, PDUs within the peer's Maximum Length."""
from __future__ import annotations

import struct
from io import BytesIO
from types import SimpleNamespace

import pytest
from pynetdicom.dimse_messages import C_FIND_RSP
from pynetdicom.dimse_primitives import C_FIND
from pynetdicom.dsutils import encode
from pynetdicom.pdu import P_DATA_TF
from pynetdicom.sop_class import ModalityWorklistInformationFind, StudyRootQueryRetrieveInformationModelFind

from studies.dimse.stream import pdus, pending_command_set


def pynetdicom_command_set(message_id: int, sop_class: str) -> bytes:
    response = C_FIND()
    response.MessageIDBeingRespondedTo = message_id
    response.AffectedSOPClassUID = sop_class
    response.Status = 0xFF00
    response.Identifier = BytesIO(b"\0\0")
    message = C_FIND_RSP()
    message.primitive_to_message(response)
    return encode(message.command_set, True, True)


@pytest.mark.parametrize(
    "sop_class", [StudyRootQueryRetrieveInformationModelFind, ModalityWorklistInformationFind], ids=["odd-length UID", "even-length UID"]
)
def test_the_pending_command_set_is_the_one_pynetdicom_encodes(sop_class):
    request = SimpleNamespace(MessageID=65535, AffectedSOPClassUID=sop_class)

    assert pending_command_set(request) == pynetdicom_command_set(65535, sop_class)


def split_pdus(stream: bytes) -> list[bytes]:
    found = []
    while stream:
        (length,) = struct.unpack(">L", stream[2:6])
        found.append(stream[: 6 + length])
        stream = stream[6 + length :]
    return found


@pytest.mark.parametrize("max_pdu", [0, 16384, 100])
def test_a_data_set_is_cut_into_pdus_the_peer_accepts_and_pynetdicom_reads_back(max_pdu):
    data = bytes(range(256)) * 3

    frames = split_pdus(pdus(5, data, max_pdu, command=False))

    values = []
    for frame in frames:
        pdu = P_DATA_TF()
        pdu.decode(frame)
        assert max_pdu == 0 or pdu.pdu_length <= max_pdu  # PS3.8 D.1: the variable field fits the Maximum Length
        [(context_id, value)] = pdu.to_primitive().presentation_data_value_list
        assert context_id == 5
        values.append(value)
    assert [value[0] for value in values] == [0x00] * (len(values) - 1) + [0x02]  # data set; last-fragment bit once, at the end
    assert b"".join(value[1:] for value in values) == data
    assert (len(frames) > 1) == (max_pdu == 100)


def test_a_command_set_is_flagged_as_a_command_in_its_last_fragment():
    [frame] = split_pdus(pdus(1, b"\x00" * 88, 16384, command=True))
    pdu = P_DATA_TF()
    pdu.decode(frame)

    [(_, value)] = pdu.to_primitive().presentation_data_value_list
    assert value[0] == 0x03
