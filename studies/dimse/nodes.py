"""Remote nodes: who may associate, what each calling AE may ask of us, and where we may send.

A registered node (studies.models.RemoteNode, matched on its AE title) has the rights its
flags give it. An unknown calling AE is refused at association when DICOM_REQUIRE_KNOWN_NODES
is on (A-ASSOCIATE-RJ "calling AE title not recognised", PS3.8 9.3.4); otherwise it gets the
default rights: store, query and retrieve, with C-MOVE only to registered destinations.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass

from django.conf import settings
from django.db import close_old_connections
from pynetdicom import AE
from pynetdicom.sop_class import Verification

from studies.dimse.limits import peer_label
from studies.models import RemoteNode

logger = logging.getLogger("studies.dimse")

# PS3.7 Annex C.5.x general status "Refused: Not Authorized": the DIMSE-service-user is not
# authorized to invoke the operation. Every DIMSE-C service may answer with it (PS3.7 9.1.x
# lists the general statuses for each), so it is the one refusal for store, find, move and get.
NOT_AUTHORIZED = 0x0124

# An AE title is at most 16 characters (PS3.5 6.2): this entry keeps pynetdicom's allow-list
# non-empty (an empty list would accept everyone) and can never match a real calling AE.
NOBODY = "<no calling AE matches this>"


@dataclass(frozen=True)
class Rights:
    ae_title: str
    known: bool
    store: bool
    query: bool
    retrieve: bool


def rights_for(ae_title: str) -> Rights:
    """What a calling AE may do: its node's flags, or the default rights of an unknown AE."""
    title = ae_title.strip()
    node = RemoteNode.objects.filter(ae_title=title).first()
    if node is None:
        return Rights(title, known=False, store=True, query=True, retrieve=True)
    return Rights(title, known=True, store=node.may_store, query=node.may_query, retrieve=node.may_retrieve)


def rights_of(assoc) -> Rights:
    """The calling AE's rights, read once per association (one indexed lookup)."""
    rights = getattr(assoc, "node_rights", None)
    if rights is None:
        close_old_connections()
        # requestor.ae_title is filled in only after negotiation; the A-ASSOCIATE-RQ has it from the start.
        primitive = assoc.requestor.primitive
        rights = rights_for(primitive.calling_ae_title if primitive is not None else assoc.requestor.ae_title)
        assoc.node_rights = rights
    return rights


def refuse(assoc, operation: str, why: str) -> None:
    """Log a refusal with the peer's AE title and address (the audit trail of who asked for what)."""
    logger.warning("%s from %s refused (0x%04X Not Authorized): %s", operation, peer_label(assoc), NOT_AUTHORIZED, why)


def allowed_calling_aes(configured: list[str] | tuple[str, ...]) -> list[str]:
    """The calling AE allow-list pynetdicom checks at association (empty: anyone).

    With DICOM_REQUIRE_KNOWN_NODES the registered nodes join DICOM_ALLOWED_CALLING_AES; read
    at every association so a node added in the admin may associate at once.
    """
    configured = [title.strip() for title in configured]
    if not settings.DICOM_REQUIRE_KNOWN_NODES:
        return configured
    close_old_connections()
    return [NOBODY, *configured, *RemoteNode.objects.values_list("ae_title", flat=True)]


def move_destination(ae_title: str) -> RemoteNode | None:
    """The registered node a C-MOVE may send to, or None (PS3.4 C.4.2.1.4: 0xA801 Move Destination Unknown)."""
    return RemoteNode.objects.filter(ae_title=ae_title.strip(), is_move_destination=True).first()


@dataclass(frozen=True)
class EchoResult:
    ok: bool
    message: str


def echo(node: RemoteNode, *, timeout: float = 10) -> EchoResult:
    """C-ECHO the node (PS3.7 9.1.5) as our AE title: the admin's "test connection"."""
    ae = AE(ae_title=settings.DICOM_AE_TITLE)
    ae.acse_timeout = ae.dimse_timeout = ae.network_timeout = timeout
    ae.add_requested_context(Verification)
    assoc = ae.associate(node.host, node.port, ae_title=node.ae_title)
    if not assoc.is_established:
        if assoc.is_rejected:
            return EchoResult(False, f"{node.ae_title} rejected the association")
        return EchoResult(False, f"no association with {node.ae_title} at {node.host}:{node.port}")
    try:
        answer = assoc.send_c_echo()
    finally:
        assoc.release()
    code = answer.get("Status")
    if code == 0x0000:
        return EchoResult(True, f"C-ECHO to {node.ae_title} at {node.host}:{node.port} succeeded")
    if code is None:
        return EchoResult(False, f"{node.ae_title} did not answer the C-ECHO")
    return EchoResult(False, f"{node.ae_title} answered the C-ECHO with status 0x{code:04X}")
