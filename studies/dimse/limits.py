"""What pynetdicom leaves unchecked, enforced before it costs memory or a worker.

pynetdicom 3.0.4's ``DULServiceProvider._read_pdu_data`` unpacks the 6-byte PDU header and then
reads ``pdu_length`` bytes into memory, whatever the length: one P-DATA-TF PDU declaring
96 MiB grew the listener by 97 MB, and nothing compares it with the Maximum Length we
announced (PS3.8 D.1: the peer "shall not" send P-DATA-TF PDUs longer than it). Its reads
also block without a timeout on accepted sockets, so a peer that connects and sends half a
header holds two threads until it goes away.

``LimitedDUL`` replaces that one method (the rest of the upper layer, state machine included,
is pynetdicom's): the header is checked before the body is read, an over-long PDU is answered
as an invalid PDU (Evt19: A-ABORT, PS3.8 9.2), and every read has a timeout — a deadline of
DICOM_ASSOCIATION_TIMEOUT from the connection until the A-ASSOCIATE-RQ has arrived, then
DICOM_NETWORK_TIMEOUT per read. A subclass installed through our own Association subclass
is used (rather than patching pynetdicom's class) so that only the listener's associations
get the stricter behaviour.

The same two subclasses stop pynetdicom's busy polling: both threads of an association wake
every millisecond (``time.sleep(0.001)`` loops) even when idle, ~5% of a core per open
association, and each wake-up takes the GIL from the thread running ingest. Here the DUL
thread blocks in select() on its socket and a wake-up pipe, and the association thread on an
Event set whenever the DUL hands it something; both still look around every 50 ms for
timers (ARTIM, network timeout) and shutdown.

Two more changes serve C-FIND responses streamed by studies/dimse/stream.py: a P-DATA request
that arrives as encoded PDUs (``EncodedPData``) is written as it is, by the state machine's
DT-1/AR-7 transitions; and while there is something to send in Sta6 the DUL still reads
what the peer sends first, so a C-CANCEL is not stuck behind hundreds of queued responses
(pynetdicom reads the socket only when nothing waits to be sent).
"""
from __future__ import annotations

import logging
import os
import queue
import select
import socket
import struct
import threading
import time
from dataclasses import dataclass

from django.db import connections
from pynetdicom.association import Association
from pynetdicom.dimse import DIMSEServiceProvider
from pynetdicom.dul import DULServiceProvider
from pynetdicom.fsm import StateMachine

from studies.dimse import spool
from studies.dimse.stream import EncodedPData

QUICKACK = getattr(socket, "TCP_QUICKACK", 0)  # Linux only; elsewhere the peer's Nagle stall stays

logger = logging.getLogger("studies.dimse")

# The largest sensible A-ASSOCIATE-RQ (128 presentation contexts × all 45 transfer syntaxes)
# is ~155 KiB; 64 KiB still fits 128 contexts of 18 syntaxes each, far beyond what requestors
# send (DCMTK's storescu: ~9 KiB).
MAX_ASSOCIATE_RQ = 64 * 1024
PDU_HEADER = struct.Struct(">BBL")
PDU_NAMES = {
    0x01: "A-ASSOCIATE-RQ",
    0x02: "A-ASSOCIATE-AC",
    0x03: "A-ASSOCIATE-RJ",
    0x04: "P-DATA-TF",
    0x05: "A-RELEASE-RQ",
    0x06: "A-RELEASE-RP",
    0x07: "A-ABORT",
}
P_DATA_TF = 0x04
A_ASSOCIATE_RQ = 0x01
# How long an idle association thread sleeps before re-checking timers and shutdown.
IDLE_WAKEUP = 0.05


@dataclass(frozen=True)
class Limits:
    max_pdu: int  # our Maximum Length Received (PS3.8 D.1), announced in the A-ASSOCIATE-AC
    association_timeout: float  # seconds a new connection has to deliver its A-ASSOCIATE-RQ
    network_timeout: float | None  # seconds a read may wait once associated
    max_associate_rq: int = MAX_ASSOCIATE_RQ

    def max_pdu_length(self, pdu_type: int) -> int:
        """The longest PDU-length field accepted for ``pdu_type``."""
        # PS3.8 9.3.5: the PDU-length of a P-DATA-TF is its variable field, which D.1 bounds
        # by the receiver's Maximum Length. Every other PDU is small by construction.
        return self.max_pdu if pdu_type == P_DATA_TF else self.max_associate_rq


class AssociationCounts:
    """How many associations each listener process holds, in memory shared across fork().

    Each process writes only its own cell; a process decides on a new association from the
    sum of the others' cells plus its own live count. Two processes deciding at the same
    instant may both accept, so the total can exceed DICOM_MAX_ASSOCIATIONS by at most
    (processes - 1), briefly: that is the price of having no cross-process lock, which a
    crashed child could leave held forever.
    """

    def __init__(self, cells, index: int = 0):
        self.cells = cells  # multiprocessing.Array("i", processes, lock=False)
        self.index = index
        self._lock = threading.Lock()  # += on a shared cell is not atomic across our threads

    def others(self) -> int:
        return sum(self.cells) - self.cells[self.index]

    def add(self, delta: int) -> None:
        with self._lock:
            self.cells[self.index] += delta

    def busier_than_idlest(self) -> bool:
        return self.cells[self.index] > min(self.cells)



def count_association(event) -> None:
    """EVT_REQUESTED: the association now takes a slot (pynetdicom checks the limit right after)."""
    assoc = event.assoc
    counts = getattr(assoc.ae, "counts", None)
    if counts is not None and not getattr(assoc, "counted", False):
        counts.add(1)
        assoc.counted = True


def peer_label(assoc: Association) -> str:
    """'AE "CT01" at 10.0.0.5:40112' for log lines (the AE title is unknown before the A-ASSOCIATE-RQ)."""
    requestor = assoc.requestor
    info = requestor.address_info
    where = f"{info.address}:{info.port}" if info is not None else "an unknown address"
    title = requestor.primitive.calling_ae_title if requestor.primitive is not None else ""
    return f'AE "{title}" at {where}' if title else f"a peer at {where}"


class StreamingStateMachine(StateMachine):
    """pynetdicom's state machine, writing ``EncodedPData`` requests without re-encoding them."""

    def do_action(self, event: str) -> None:
        # PS3.8 Table 9-10: Sta6 + Evt9 is DT-1 and Sta8 + Evt9 is AR-7, both "send P-DATA-TF
        # PDU" and stay in the same state; every other pair goes to pynetdicom's table.
        if event == "Evt9" and self.current_state in ("Sta6", "Sta8"):
            queued = self.dul.to_provider_queue
            primitive = queued.queue[0] if queued.queue else None  # the request _process_recv_primitive saw
            if isinstance(primitive, EncodedPData):
                queued.get(False)
                self.dul.socket.send(primitive.encoded)  # on failure it queues Evt17 (connection closed)
                primitive.sent.set()
                return
        super().do_action(event)


class LimitedDUL(DULServiceProvider):
    """pynetdicom's upper layer with bounded PDU lengths and reads that time out."""

    def __init__(self, assoc: Association, limits: Limits):
        super().__init__(assoc)
        self.limits = limits
        self.connected_at = time.monotonic()
        self.associate_rq_received = False
        self.refused = False
        self._current_timeout: float | None = -1.0
        # pynetdicom makes the DUL thread non-daemon; a listener told to stop would then wait
        # for every idle peer. Shutdown is handled by server.serve() instead.
        self.daemon = True
        # Event-driven instead of sleep(0.001) polling: see the module docstring.
        self._run_loop_delay = 0
        self._wake_lock = threading.Lock()
        self._wake_read, self._wake_write = os.pipe()
        os.set_blocking(self._wake_read, False)
        os.set_blocking(self._wake_write, False)
        self.state_machine = StreamingStateMachine(self)

    def run_reactor(self) -> None:
        try:
            super().run_reactor()
        finally:
            self.close_wakeup()

    def send_pdu(self, primitive) -> None:
        super().send_pdu(primitive)
        self._wake()

    def kill_dul(self) -> None:
        super().kill_dul()
        self._wake()

    def _wake(self) -> None:
        with self._wake_lock:
            if self._wake_write is not None:
                try:
                    os.write(self._wake_write, b"\0")
                except OSError:  # the pipe is full: the thread is awake already
                    pass

    def close_wakeup(self) -> None:
        with self._wake_lock:
            if self._wake_write is not None:
                os.close(self._wake_read)
                os.close(self._wake_write)
                self._wake_read = self._wake_write = None

    def _process_recv_primitive(self) -> bool:
        # run_reactor sends what is queued before it reads the socket; while data transfer
        # streams responses, read first (a C-CANCEL, an A-ABORT), then send.
        if self.state_machine.current_state == "Sta6" and not self.to_provider_queue.empty() and self.peer_has_data():
            return False
        return super()._process_recv_primitive()

    def peer_has_data(self) -> bool:
        """Whether the peer sent something this thread has not read yet."""
        raw = self.socket.socket if self.socket is not None else None
        if raw is None or raw.fileno() < 0:
            return False
        try:
            readable, _, _ = select.select([raw], [], [], 0)
        except (OSError, ValueError):  # closed under us: the normal path reports it
            return False
        return bool(readable)

    def _is_transport_event(self) -> bool:
        # Called by run_reactor when no local primitive is waiting: block here (not in a
        # 1 ms sleep) until the peer sends something, the association thread queues a
        # primitive (send_pdu wakes us), or it is time to look at the timers again.
        self._wait_for_work()
        return super()._is_transport_event()

    def _wait_for_work(self) -> None:
        if self._kill_thread or not self.event_queue.empty() or not self.to_provider_queue.empty():
            return
        wake = self._wake_read
        if wake is None:
            return
        raw = self.socket.socket if self.socket is not None else None
        watched = [wake] if raw is None or raw.fileno() < 0 else [wake, raw]
        try:
            readable, _, _ = select.select(watched, [], [], IDLE_WAKEUP)
        except (OSError, ValueError):  # the socket was closed under us
            return
        if wake in readable:
            try:
                os.read(wake, 4096)
            except OSError:
                pass

    def _read_pdu_data(self) -> None:
        # Same contract as DULServiceProvider._read_pdu_data: read one PDU, queue its event.
        if self.refused:
            # We aborted; whatever the peer still sends is not read (PS3.8 Sta13 ignores it).
            self.socket.close()
            return
        header = bytearray(PDU_HEADER.size)
        try:
            complete = self._receive_into(memoryview(header))
        except OSError:  # includes TimeoutError
            complete = False
        if not complete:
            self.event_queue.put("Evt17")  # transport connection closed
            return
        pdu_type, _, length = PDU_HEADER.unpack(header)
        if pdu_type not in PDU_NAMES:
            logger.warning("%s sent an unknown PDU type 0x%02X; aborting", peer_label(self.assoc), pdu_type)
            self.refused = True
            self.event_queue.put("Evt19")  # unrecognised PDU → A-ABORT
            return
        limit = self.limits.max_pdu_length(pdu_type)
        if length > limit:
            logger.warning(
                "%s sent a PDU (%s) of %d bytes, over the %d-byte limit; aborting the association",
                peer_label(self.assoc),
                PDU_NAMES[pdu_type],
                length,
                limit,
            )
            self.refused = True
            self.event_queue.put("Evt19")  # invalid PDU → A-ABORT, then the connection is closed
            return
        pdu_bytes = bytearray(PDU_HEADER.size + length)
        pdu_bytes[: PDU_HEADER.size] = header
        try:
            complete = self._receive_into(memoryview(pdu_bytes)[PDU_HEADER.size :])
        except OSError:
            complete = False
        if not complete:
            logger.warning("%s closed or stalled in the middle of a %s PDU", peer_label(self.assoc), PDU_NAMES[pdu_type])
            self.event_queue.put("Evt17")
            return
        if pdu_type == A_ASSOCIATE_RQ:
            self.associate_rq_received = True
        try:
            pdu, event = self._decode_pdu(pdu_bytes)
        except Exception:
            logger.warning("%s sent a %s PDU that cannot be decoded; aborting", peer_label(self.assoc), PDU_NAMES[pdu_type])
            self.event_queue.put("Evt19")
            return
        self.event_queue.put(event)
        self._recv_pdu.put(pdu)

    def _receive_into(self, view: memoryview) -> bool:
        """Fill ``view`` from the socket; False if the peer closed the connection first."""
        raw = self.socket.socket
        if raw is None:
            return False
        while len(view):
            timeout = self._read_timeout()
            if timeout != self._current_timeout:
                raw.settimeout(timeout)
                self._current_timeout = timeout
            received = raw.recv_into(view)
            if received == 0:
                return False
            view = view[received:]
        if QUICKACK:
            # DCMTK leaves Nagle on and sends a request as two PDUs (command, then data set):
            # its second PDU waits for our ACK of the first, which Linux delays up to 40 ms
            # because we have nothing to send yet. Acknowledge every complete read at once.
            raw.setsockopt(socket.IPPROTO_TCP, QUICKACK, 1)
        return True

    def _read_timeout(self) -> float | None:
        if self.associate_rq_received:
            return self.limits.network_timeout
        # Until the A-ASSOCIATE-RQ is in, the whole exchange has one deadline: a peer that
        # trickles one byte per second must not hold the connection longer than one that is silent.
        remaining = self.connected_at + self.limits.association_timeout - time.monotonic()
        if remaining <= 0:
            raise TimeoutError("no A-ASSOCIATE-RQ within the association timeout")
        return remaining


class LimitedAssociation(Association):
    """An acceptor association using ``LimitedDUL``, which cleans up after itself when it ends."""

    def __init__(self, ae, mode: str, limits: Limits):
        super().__init__(ae, mode)
        self.dul = LimitedDUL(self, limits)
        # Association.__init__ pushed its timeouts into the DUL it built; push them into ours.
        self.acse_timeout = limits.association_timeout  # also the ARTIM timer (PS3.8 9.1.5)
        self.network_timeout = limits.network_timeout
        self.spool_files: set = set()  # filled by spool._spool_file in the DUL thread
        self.counted = False  # set by count_association
        self.connection_counts: AssociationCounts | None = None
        # The acceptor reactor (Association._run_reactor) polls dimse.get_msg(block=False) after
        # a 1 ms sleep; make that call wait for something to do instead (module docstring).
        self._activity = threading.Event()
        self.dimse.msg_queue = _NotifyingQueue(self._activity)
        self.dul.to_user_queue = _NotifyingQueue(self._activity)
        self.dimse.get_msg = self._next_message

    def _next_message(self, block: bool = False):
        if not block and self.dimse.msg_queue.empty() and self.dul.to_user_queue.empty():
            self._activity.wait(IDLE_WAKEUP)
        self._activity.clear()  # anything queued from here on sets it again
        return DIMSEServiceProvider.get_msg(self.dimse, block)

    def run_reactor(self) -> None:
        try:
            super().run_reactor()
            if self.requestor.primitive is None and not self.dul.refused:
                logger.info("%s closed without associating (association timeout or disconnect)", peer_label(self))
        finally:
            # A transfer cut off half-way leaves its spool file; handlers ran in this thread,
            # so the DB connections they opened are this thread's to close.
            spool.remove(self.spool_files)
            connections.close_all()
            if self.counted:
                self.ae.counts.add(-1)
                self.counted = False
            if self.connection_counts is not None:  # set by the server that accepted the connection
                self.connection_counts.add(-1)
                self.connection_counts = None
            if not self.dul.is_alive():
                self.dul.close_wakeup()


class _NotifyingQueue(queue.Queue):
    """A queue that sets ``event`` on every put: what the association thread waits on."""

    def __init__(self, event: threading.Event):
        super().__init__()
        self._event = event

    def put(self, item, block=True, timeout=None) -> None:
        super().put(item, block, timeout)
        self._event.set()
