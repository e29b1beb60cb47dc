"""Wiring of the DICOM listener: the Application Entity, its TCP server, its processes.

One listener process serves many associations, one thread each (pynetdicom's model). Since
handlers hold the GIL while they parse headers and build JSON, ``run`` can start one process
per core. They accept from one listening socket the supervisor opened, and a process that
holds more connections than the idlest one lets that one accept first: two modalities
sending at once land in two processes, not (by the luck of a hash, as with SO_REUSEPORT)
in one.
"""
from __future__ import annotations

import ctypes
import ctypes.util
import gc
import logging
import multiprocessing
import os
import signal
import socket
import threading
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from django.conf import settings
from django.db import connections
from pynetdicom import AE as ApplicationEntity
from pynetdicom import ALL_TRANSFER_SYNTAXES, AllStoragePresentationContexts, _config, evt
from pynetdicom._globals import MODE_ACCEPTOR
from pynetdicom.sop_class import Verification
from pynetdicom.transport import AssociationSocket, RequestHandler, ThreadedAssociationServer

from studies.dimse import find, handlers, nodes, retrieve, spool
from studies.dimse.limits import AssociationCounts, LimitedAssociation, Limits, count_association

logger = logging.getLogger("studies.dimse")

# docker stop sends SIGKILL 10 s after SIGTERM: finish the transfers in flight within that.
SHUTDOWN_GRACE = 8.0
# A child that dies this soon after it started (port taken, bad config) is not restarted.
CRASH_LOOP_SECONDS = 3.0
# How long a busier process waits before accepting, so that an idler one takes the connection.
HANDOFF_DELAY = 0.02
STOP_SIGNALS = {signal.SIGTERM, signal.SIGINT}
PR_SET_PDEATHSIG = 1  # linux/prctl.h

EVENT_HANDLERS = [
    (evt.EVT_REQUESTED, count_association),
    (evt.EVT_C_ECHO, handlers.handle_echo),
    (evt.EVT_C_STORE, handlers.handle_store),
    (evt.EVT_REJECTED, handlers.handle_rejected),
    (evt.EVT_ESTABLISHED, handlers.handle_established),
    (evt.EVT_RELEASED, handlers.handle_released),
    (evt.EVT_ABORTED, handlers.handle_aborted),
    # Query/retrieve (studies/dimse/find.py, retrieve.py); rights per node (nodes.py).
    (evt.EVT_REQUESTED, retrieve.restrict_contexts),
    (evt.EVT_C_FIND, find.handle_find),
    (evt.EVT_C_MOVE, retrieve.handle_move),
    (evt.EVT_C_GET, retrieve.handle_get),
]


@dataclass(frozen=True)
class ListenerConfig:
    ae_title: str
    bind_address: str
    port: int
    allowed_calling_aes: tuple[str, ...]
    max_associations: int
    limits: Limits
    spool_dir: Path

    @classmethod
    def from_settings(cls, **overrides) -> "ListenerConfig":
        values = {
            "ae_title": settings.DICOM_AE_TITLE,
            "bind_address": settings.DICOM_BIND_ADDRESS,
            "port": settings.DICOM_PORT,
            "allowed_calling_aes": tuple(settings.DICOM_ALLOWED_CALLING_AES),
            "max_associations": settings.DICOM_MAX_ASSOCIATIONS,
            "limits": Limits(
                max_pdu=settings.DICOM_MAX_PDU,
                association_timeout=settings.DICOM_ASSOCIATION_TIMEOUT,
                network_timeout=settings.DICOM_NETWORK_TIMEOUT or None,
            ),
            "spool_dir": Path(settings.SPOOL_DIR) / "dicom",
        }
        values.update({key: value for key, value in overrides.items() if value is not None})
        return cls(**values)

    @property
    def max_pending_connections(self) -> int:
        # Connections that have not associated yet cost two threads each until the association
        # timeout drops them; bound them so a connection flood cannot exhaust the process.
        return max(4 * self.max_associations, 16)


class ListenerAE(ApplicationEntity):
    """pynetdicom's AE with an association limit that holds across listener processes."""

    def __init__(self, *args, counts: AssociationCounts, **kwargs):
        super().__init__(*args, **kwargs)
        self.counts = counts

    @property
    def active_associations(self):
        """This process's associations holding a slot.

        pynetdicom counts every accepted connection, so a few idle sockets would make it
        refuse modalities (A-ASSOCIATE-RJ "local limit exceeded") until they time out. Only
        connections that have sent their A-ASSOCIATE-RQ count here; the others are bounded by
        ListenerServer.verify_request and the association timeout instead.
        """
        return [assoc for assoc in super().active_associations if assoc.requestor.primitive is not None]

    @property
    def maximum_associations(self) -> int:
        # pynetdicom refuses a new association when this process's count exceeds this value
        # (ACSE._negotiate_as_acceptor); taking the other processes' associations off the
        # configured maximum makes that check hold for the listener as a whole.
        return self._maximum_associations - self.counts.others()

    @maximum_associations.setter
    def maximum_associations(self, value: int) -> None:
        self._maximum_associations = value

    @property
    def require_calling_aet(self) -> list[str]:
        # Read by pynetdicom at every A-ASSOCIATE-RQ: DICOM_ALLOWED_CALLING_AES, plus the
        # registered nodes when DICOM_REQUIRE_KNOWN_NODES is on (studies/dimse/nodes.py).
        return nodes.allowed_calling_aes(self._require_calling_aet)

    @require_calling_aet.setter
    def require_calling_aet(self, ae_titles: list[str]) -> None:
        ApplicationEntity.require_calling_aet.fset(self, ae_titles)


def build_ae(config: ListenerConfig, counts: AssociationCounts) -> ListenerAE:
    """The Storage SCP: every storage SOP class and Verification, every transfer syntax as sent."""
    # pynetdicom's "standard" logging formats every PDU and DIMSE message even when the log
    # level drops them; our handlers log what matters (per association, per failure).
    _config.LOG_HANDLER_LEVEL = "none"
    # Likewise its C-FIND/C-GET/C-MOVE SCPs decode and pretty-print every identifier for an
    # INFO/DEBUG line, whatever the level.
    _config.LOG_REQUEST_IDENTIFIERS = False
    _config.LOG_RESPONSE_IDENTIFIERS = False
    ae = ListenerAE(ae_title=config.ae_title, counts=counts)
    ae.maximum_associations = config.max_associations
    ae.maximum_pdu_size = config.limits.max_pdu  # announced as Maximum Length Received (PS3.8 D.1)
    ae.acse_timeout = config.limits.association_timeout
    ae.network_timeout = config.limits.network_timeout
    ae.require_calling_aet = list(config.allowed_calling_aes)
    # The requestor's order decides among the transfer syntaxes we share (PS3.8 9.3.3.2), so a
    # modality sending JPEG 2000 gets JPEG 2000 accepted and its bytes are archived untouched.
    # scp_role: a C-GET requestor proposes SCP/SCU Role Selection (PS3.7 D.3.3.4) to receive
    # the instances on these contexts; scu_role keeps storing to us possible on the same ones.
    for context in AllStoragePresentationContexts:
        ae.add_supported_context(context.abstract_syntax, ALL_TRANSFER_SYNTAXES, scu_role=True, scp_role=True)
    ae.add_supported_context(Verification, ALL_TRANSFER_SYNTAXES[:4])
    for model in sorted(find.QUERY_RETRIEVE_MODELS):
        ae.add_supported_context(model, ALL_TRANSFER_SYNTAXES[:4])
    return ae


class ListenerRequestHandler(RequestHandler):
    """pynetdicom's request handler, building our LimitedAssociation instead of its Association."""

    def _create_association(self):
        server: ListenerServer = self.server
        assoc = LimitedAssociation(self.ae, MODE_ACCEPTOR, server.limits)
        assoc._server = server
        server.unclaimed.discard(self.request)
        assoc.connection_counts = server.connections  # released when the association thread ends
        assoc.name = f"AcceptorThread@{datetime.now():%Y%m%d%H%M%S}"  # pynetdicom finds its threads by name
        assoc.set_socket(AssociationSocket(assoc, client_socket=self.request))
        assoc.acceptor.maximum_length = self.ae.maximum_pdu_size
        assoc.acceptor.ae_title = server.ae_title
        assoc.acceptor.address_info = self.local
        assoc.acceptor.implementation_class_uid = self.ae.implementation_class_uid
        assoc.acceptor.implementation_version_name = self.ae.implementation_version_name
        # pynetdicom deep-copies the 170 storage contexts × 45 transfer syntaxes here: ~70 ms of
        # CPU per association, paid again by every modality that sends one image per association.
        # Acceptor negotiation (presentation.negotiate_as_acceptor) only reads them and builds
        # new PresentationContext objects for its answer, so one shared list is safe.
        assoc.acceptor.supported_contexts = list(server.contexts)
        assoc.requestor.address_info = self.remote
        for event, bound in server._handlers.items():
            if event.is_intervention and bound:
                assoc.bind(event, *bound)
            elif isinstance(event, evt.NotificationEvent):
                for handler, args in bound:
                    assoc.bind(event, handler, args)
        return assoc


class ListenerServer(ThreadedAssociationServer):
    daemon_threads = True
    request_queue_size = 64  # listen backlog: a burst of modalities must not get "connection refused"

    def __init__(self, *args, limits: Limits, max_pending: int, connections: AssociationCounts, shared_socket=None, **kwargs):
        self.limits = limits
        self.max_pending = max_pending
        self.connections = connections  # open connections per listener process (shared memory)
        self.shared_socket = shared_socket  # the supervisor's listening socket, inherited by fork()
        self.unclaimed: set[socket.socket] = set()
        super().__init__(*args, **kwargs)

    def server_bind(self) -> None:
        if self.shared_socket is None:
            super().server_bind()
            return
        self.socket.close()  # the one socketserver just made; every process accepts from the shared one
        self.socket = self.shared_socket
        self.server_address = self.socket.getsockname()

    def server_activate(self) -> None:
        if self.shared_socket is None:
            super().server_activate()

    def get_request(self):
        if self.connections.busier_than_idlest():
            time.sleep(HANDOFF_DELAY)
        # Non-blocking: when another process took the connection meanwhile this raises
        # BlockingIOError, which socketserver ignores (an OSError from get_request).
        client, address = super().get_request()
        self.connections.add(1)
        self.unclaimed.add(client)  # until an association takes it over (ListenerRequestHandler)
        # DIMSE exchanges small PDUs (command sets, C-STORE-RSP); with Nagle's algorithm on, a
        # response waits for the peer's delayed ACK (~40 ms per message on Linux).
        client.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        client.settimeout(self.limits.association_timeout)
        return client, address

    def shutdown_request(self, request) -> None:
        # A connection dropped before it became an association (verify_request said no, or the
        # handler failed): its count is released here; an association releases its own.
        if request in self.unclaimed:
            self.unclaimed.discard(request)
            self.connections.add(-1)
        super().shutdown_request(request)

    def verify_request(self, request, client_address) -> bool:
        pending = sum(1 for assoc in self.active_associations if assoc.requestor.primitive is None)
        if pending >= self.max_pending:
            logger.warning(
                "connection from %s:%s dropped: %d connections are already waiting to associate",
                client_address[0],
                client_address[1],
                pending,
            )
            return False
        return True


def make_server(
    config: ListenerConfig, counts: AssociationCounts, *, connections: AssociationCounts | None = None, shared_socket=None
) -> ListenerServer:
    """Bind the listening socket, or take the supervisor's (raises OSError if the port is taken), without serving yet."""
    spool.install(config.spool_dir)
    ae = build_ae(config, counts)
    server = ae.make_server(
        (config.bind_address, config.port),
        evt_handlers=EVENT_HANDLERS,
        server_class=ListenerServer,
        request_handler=ListenerRequestHandler,
        limits=config.limits,
        max_pending=config.max_pending_connections,
        connections=connections or AssociationCounts([0]),
        shared_socket=shared_socket,
    )
    ae._servers.append(server)  # AssociationServer.shutdown() removes itself from this list
    return server


def serve(
    config: ListenerConfig,
    stop: threading.Event,
    counts: AssociationCounts,
    *,
    connections: AssociationCounts | None = None,
    shared_socket=None,
) -> None:
    """Serve until ``stop`` is set, then let the associations in flight finish (up to a grace period)."""
    server = make_server(config, counts, connections=connections, shared_socket=shared_socket)
    # Everything loaded so far (Django, pydicom, pynetdicom's 170 × 45 contexts: ~120,000
    # objects) lives as long as the process. Frozen, it is left out of every collection: the
    # gc.collect() pynetdicom's accept loop runs every 60 polls took 50-300 ms holding the GIL,
    # stalling every association's C-STORE for that long.
    gc.freeze()
    accept_loop = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.2}, name="dicom-accept", daemon=True)
    accept_loop.start()
    logger.info(
        "DICOM listener %s on %s:%s (pid %d, at most %d associations)",
        config.ae_title,
        config.bind_address,
        server.server_address[1],
        os.getpid(),
        config.max_associations,
    )
    while not stop.wait(0.5):
        pass
    logger.info("DICOM listener stopping: no new associations, finishing the ones in flight")
    server.shutdown()
    deadline = time.monotonic() + SHUTDOWN_GRACE
    for assoc in server.active_associations:
        assoc.join(max(deadline - time.monotonic(), 0))
    for assoc in server.active_associations:
        logger.warning("aborting an association still running at shutdown")
        assoc.abort(block=False)
    logger.info("DICOM listener stopped")
    close_database()


def stop_on_signals() -> threading.Event:
    """An event set by SIGTERM or SIGINT (call from the main thread)."""
    stop = threading.Event()

    def request_stop(signum, frame):
        stop.set()

    for signum in STOP_SIGNALS:
        signal.signal(signum, request_stop)
    return stop


def use_connection_pool(size: int) -> None:
    """Serve associations from a pool of PostgreSQL connections.

    Every association runs in a thread of its own, and Django opens one connection per thread:
    without a pool each association (one findscu call, one storescu run) pays a fresh
    PostgreSQL backend, 4 ms idle and tens of ms on a busy machine. Call before any query.
    """
    database = connections.settings["default"]
    if database["ENGINE"] != "django.db.backends.postgresql":
        return  # SQLite opens a file, not a server process: nothing to save
    connections.close_all()
    database["CONN_MAX_AGE"] = 0  # Django refuses persistent connections with a pool
    options = {**database.get("OPTIONS", {}), "pool": {"min_size": 2, "max_size": size, "timeout": 30}}
    # Handlers run in autocommit, so Django declares server-side cursors (QuerySet.iterator())
    # WITH HOLD and PostgreSQL computes the whole result at DECLARE: plan for all of it. Planned
    # for the first 10% of rows (the default), the 591 studies of a name wild card came from a
    # walk of the study-date index, 75 ms instead of 4 at 100,000 studies.
    options["options"] = f"{options.get('options', '')} -c cursor_tuple_fraction=1".strip()
    database["OPTIONS"] = options


def close_database() -> None:
    """Close this process's connections and pools, e.g. before fork(): a socket shared by
    two processes interleaves their protocol streams."""
    connections.close_all()
    for connection in connections.all(initialized_only=True):
        if getattr(connection, "_connection_pools", {}).get(connection.alias) is not None:
            connection.close_pool()


def run(config: ListenerConfig, processes: int = 1) -> int:
    """Run the listener in this process, or supervise ``processes`` children sharing the port."""
    # One connection per association at most, plus the C-MOVE/C-GET sub-operations' own.
    use_connection_pool(size=config.max_associations + 4)
    config.spool_dir.mkdir(parents=True, exist_ok=True)
    # A file still being received is rewritten with every fragment; an hour-old one is an orphan.
    spool.remove_stale(config.spool_dir, older_than=max(3600.0, 2 * (config.limits.network_timeout or 0)))
    stop = stop_on_signals()
    context = multiprocessing.get_context("fork")
    cells = context.Array("i", max(processes, 1), lock=False)
    if processes <= 1:
        serve(config, stop, AssociationCounts(cells))
        return 0
    return _supervise(config, processes, stop, context, cells)


def listening_socket(config: ListenerConfig) -> socket.socket:
    """The port every listener process accepts from (non-blocking: processes race for each connection)."""
    family = socket.AF_INET6 if ":" in config.bind_address else socket.AF_INET
    sock = socket.create_server(
        (config.bind_address, config.port), family=family, backlog=ListenerServer.request_queue_size
    )
    sock.setblocking(False)
    return sock


def _supervise(config: ListenerConfig, processes: int, stop: threading.Event, context, cells) -> int:
    shared_socket = listening_socket(config)
    connection_cells = context.Array("i", processes, lock=False)
    close_database()  # children open their own connections

    def start(index: int) -> tuple[multiprocessing.Process, float]:
        cells[index] = 0  # a dead child's associations died with it
        connection_cells[index] = 0
        # Signals stay blocked across fork() until the child has its own handlers installed.
        signal.pthread_sigmask(signal.SIG_BLOCK, STOP_SIGNALS)
        try:
            child = context.Process(
                target=_child,
                args=(config, cells, connection_cells, shared_socket, index, os.getpid()),
                name="dicom-listener",
                daemon=False,
            )
            child.start()
        finally:
            signal.pthread_sigmask(signal.SIG_UNBLOCK, STOP_SIGNALS)
        return child, time.monotonic()

    children = [start(index) for index in range(processes)]
    logger.info("DICOM listener supervising %d processes on port %s", processes, config.port)
    exit_code = 0
    while not stop.wait(0.5):
        for index, (child, started) in enumerate(children):
            if child.is_alive():
                continue
            if time.monotonic() - started < CRASH_LOOP_SECONDS:
                logger.error("listener process %d exited at start (code %s); stopping", child.pid, child.exitcode)
                exit_code = 1
                stop.set()
                break
            logger.warning("listener process %d exited (code %s); starting another", child.pid, child.exitcode)
            children[index] = start(index)
    for child, _ in children:
        if child.is_alive():
            os.kill(child.pid, signal.SIGTERM)
    for child, _ in children:
        child.join(SHUTDOWN_GRACE + 2)
        if child.is_alive():
            child.kill()
    return exit_code


def _child(config: ListenerConfig, cells, connection_cells, shared_socket, index: int, parent: int) -> None:
    stop = stop_on_signals()
    _stop_with_parent()
    if os.getppid() != parent:  # the supervisor died before prctl took effect
        return
    signal.pthread_sigmask(signal.SIG_UNBLOCK, STOP_SIGNALS)
    serve(config, stop, AssociationCounts(cells, index), connections=AssociationCounts(connection_cells, index), shared_socket=shared_socket)


def _stop_with_parent() -> None:
    """Get SIGTERM if the supervisor dies (even by SIGKILL): an orphaned child would keep
    the shared listening socket open and keep taking connections nobody supervises."""
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
    except (OSError, AttributeError):  # not Linux: the supervisor's own shutdown still stops us
        pass
