"""Pending C-FIND responses on the wire: P-DATA-TF PDUs framed here, many per socket write.

pynetdicom sends every DIMSE message the same way: a command-set Dataset built and encoded
with pydicom, then one P-DATA primitive per fragment, each handed to the DUL thread, which
wakes, runs the state machine and writes one PDU per send(). For the hundreds of Pending
responses of one C-FIND that was most of the listener's time (~1 ms each), and each hand-off
between the two threads can wait for the GIL up to the 5 ms switch interval.

The Pending responses of one C-FIND share their command set (PS3.7 9.3.2.2: Affected SOP
Class UID, Message ID Being Responded To, Status FF00), so it is encoded once.
Each response is that command PDU plus its identifier's PDU(s), framed as pynetdicom and DCMTK
frame them: one PDV per P-DATA-TF PDU, no PDU longer than the peer's Maximum Length (PS3.8
9.3.5, E.2). Responses are handed to the DUL in batches, each one P-DATA request (Evt9) that
LimitedDUL writes with one send() (limits.py); the state machine still sees every request.
"""
from __future__ import annotations

import struct
import threading
import time
from collections import deque

from pynetdicom.pdu_primitives import P_DATA

PENDING = 0xFF00
C_FIND_RSP_COMMAND = 0x8020
DATA_SET_PRESENT = 0x0001  # any value but 0x0101 (PS3.7 Table E.1-1); pynetdicom's
COMMAND_TAG = struct.Struct("<HHL")  # group, element, value length (Implicit VR)
US = struct.Struct("<H")
UL = struct.Struct("<L")
P_DATA_TF = 0x04
# A P-DATA-TF PDU of one PDV item: PDU-type, reserved, PDU-length (PS3.8 Table 9-22), then the
# item's length, presentation context ID and message control header (Table 9-23, E.2).
PDU = struct.Struct(">BBLLBB")
PDV_OVERHEAD = 6  # a PDV item's length field, context ID and control header count against the Maximum Length
# A batch goes to the DUL once it holds this many bytes (~100 responses of ten keys): few
# thread hand-offs, and the first batch is sent after the first response, not after the hundredth.
BATCH_BYTES = 32 * 1024
# Batches queued for the DUL but not yet written: beyond this the handler waits, so a peer
# that reads slowly holds ~128 KiB of responses in memory, not the whole result.
MAX_QUEUED_BATCHES = 4
WAIT_STEP = 0.05  # seconds between looks at the association while waiting for the DUL
READ_PAUSE = 0.0005  # seconds between looks at whether the DUL has read what the peer sent


class EncodedPData(P_DATA):
    """A P-DATA request whose P-DATA-TF PDUs are already encoded; ``sent`` is set once written."""

    def __init__(self, encoded: bytes):
        super().__init__()
        self.encoded = encoded
        self.sent = threading.Event()


def pdus(context_id: int, data: bytes, max_pdu: int, *, command: bool) -> bytes:
    """``data`` (a command set or a data set) as P-DATA-TF PDUs of one PDV each.

    ``max_pdu`` is the peer's Maximum Length Received (0: unlimited), which bounds each PDU's
    variable field: a PDV item of ``max_pdu - 6`` bytes of data fills it (PS3.8 D.1).
    """
    room = max_pdu - PDV_OVERHEAD if max_pdu else max(len(data), 1)
    more, last = (0x01, 0x03) if command else (0x00, 0x02)  # PS3.8 E.2: bit 0 command, bit 1 last fragment
    if len(data) <= room:  # the usual case: one PDU
        return PDU.pack(P_DATA_TF, 0, len(data) + PDV_OVERHEAD, len(data) + 2, context_id, last) + data
    frames = []
    for start in range(0, len(data), room):
        fragment = data[start : start + room]
        control = last if start + room >= len(data) else more
        frames.append(PDU.pack(P_DATA_TF, 0, len(fragment) + PDV_OVERHEAD, len(fragment) + 2, context_id, control))
        frames.append(fragment)
    return b"".join(frames)


def pending_command_set(request) -> bytes:
    """The command set of every Pending C-FIND-RSP to ``request`` (PS3.7 9.3.2.2), in
    Implicit VR Little Endian like every command set (PS3.7 6.3.1): what pynetdicom would
    encode for each response, encoded once here without building a Dataset."""
    uid = str(request.AffectedSOPClassUID).encode()
    if len(uid) & 1:
        uid += b"\0"  # UIDs are padded with NUL to an even length (PS3.5 9.1)
    elements = (
        _command_element(0x0002, uid),  # Affected SOP Class UID
        _command_element(0x0100, US.pack(C_FIND_RSP_COMMAND)),  # Command Field
        _command_element(0x0120, US.pack(request.MessageID)),  # Message ID Being Responded To
        _command_element(0x0800, US.pack(DATA_SET_PRESENT)),  # Command Data Set Type
        _command_element(0x0900, US.pack(PENDING)),  # Status
    )
    body = b"".join(elements)
    return _command_element(0x0000, UL.pack(len(body))) + body  # Command Group Length first


def _command_element(element: int, value: bytes) -> bytes:
    return COMMAND_TAG.pack(0x0000, element, len(value)) + value


class PendingResponses:
    """The Pending C-FIND-RSPs of one request, in the order added, handed to the DUL in batches."""

    def __init__(self, assoc, context_id: int, request, *, batch_bytes: int = BATCH_BYTES):
        self.assoc = assoc
        self.context_id = context_id
        self.max_pdu = assoc.dimse.maximum_pdu_size
        self.command = pdus(context_id, pending_command_set(request), self.max_pdu, command=True)
        self.batch_bytes = batch_bytes
        self.batch: list[bytes] = []
        self.batch_size = 0
        self.queued: deque[EncodedPData] = deque()
        self.count = 0  # responses added and not discarded
        self.in_batch = 0

    def add(self, identifier: bytes) -> bool:
        """Queue one Pending response carrying ``identifier`` (encoded in the context's transfer
        syntax); False once the association is ending (stop answering)."""
        frames = pdus(self.context_id, identifier, self.max_pdu, command=False)
        self.batch.append(self.command)
        self.batch.append(frames)
        self.batch_size += len(self.command) + len(frames)
        self.count += 1
        self.in_batch += 1
        if self.count == 1 or self.batch_size >= self.batch_bytes:
            return self.flush()
        return True

    def flush(self) -> bool:
        """Hand the batch to the DUL; False if the association ended meanwhile (nothing more to send)."""
        self._let_the_dul_read()
        if not self._room_in_queue():
            return False
        if not self.batch:
            return True
        batch = EncodedPData(b"".join(self.batch))
        self.batch, self.batch_size, self.in_batch = [], 0, 0
        self.queued.append(batch)
        self.assoc.dul.send_pdu(batch)
        return True

    def discard(self) -> None:
        """Drop the responses not yet handed to the DUL (after a C-CANCEL they are not wanted)."""
        self.count -= self.in_batch
        self.batch, self.batch_size, self.in_batch = [], 0, 0

    def _let_the_dul_read(self) -> None:
        # Reading a PDU takes the DUL thread several system calls, and after each it waits for
        # the GIL, up to the 5 ms switch interval while this thread encodes: a C-CANCEL took
        # ~30 ms (2,000 responses) to be read. When the peer has sent something, pause until
        # the DUL has read it; event.is_cancelled then sees the C-CANCEL at the next match.
        peer_has_data = getattr(self.assoc.dul, "peer_has_data", None)
        deadline = time.monotonic() + WAIT_STEP
        while peer_has_data is not None and peer_has_data() and time.monotonic() < deadline:
            time.sleep(READ_PAUSE)

    def _room_in_queue(self) -> bool:
        while self.queued and self.queued[0].sent.is_set():
            self.queued.popleft()
        while len(self.queued) >= MAX_QUEUED_BATCHES:
            if self.queued[0].sent.wait(WAIT_STEP):
                self.queued.popleft()
            elif self._ending():
                return False
        return not self._ending()

    def _ending(self) -> bool:
        # What pynetdicom checks between a handler's yields: aborted, or the peer asked to release.
        assoc = self.assoc
        return not assoc.is_established or assoc.acse.is_aborted() or assoc.acse.is_release_requested() or not assoc.dul.is_alive()
