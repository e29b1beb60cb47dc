"""C-MOVE and C-GET SCP (PS3.4 C.4.2, C.4.3): send stored instances to a registered node or back
over the requesting association.

An instance goes as stored, byte for byte, when the peer accepted its SOP class in the stored
transfer syntax; otherwise it is decompressed to Explicit VR Little Endian (or Implicit, if that
is all the peer accepted), the one encoding every Storage SCP must accept (PS3.4 B.4.1).

pynetdicom (3.0) only passes Datasets from a C-MOVE/C-GET handler to the C-STORE
sub-operations, while its ``send_c_store(path)`` streams a file without loading it
(_config.STORE_SEND_CHUNKED_DATASET). ``stream_stored_files`` bridges the two: a "stored
file" Dataset carries the path and is sent from the file unchanged.
"""
from __future__ import annotations

import logging
from pathlib import Path

from django.db import DatabaseError, close_old_connections
from pydicom import Dataset, dcmread
from pydicom.uid import ExplicitVRLittleEndian, ImplicitVRLittleEndian, UID
from pynetdicom import _config, build_context, evt

from audit import events as audit_events
from studies.dimse import nodes
from studies.dimse.find import CANCELLED, IMAGE, PATIENT, SERIES, STUDY, QueryError, level_of, match_values
from studies.dimse.find import IDENTIFIER_DOES_NOT_MATCH, PATIENT_ROOT_MODELS, STUDY_ROOT_MODELS
from studies.dimse.limits import peer_label
from studies.models import Instance
from studies.ordering import INSTANCE_ORDER
from studies.storage import dicom_storage

logger = logging.getLogger("studies.dimse")

PENDING = 0xFF00
UNCOMPRESSED = (ExplicitVRLittleEndian, ImplicitVRLittleEndian)
MAX_CONTEXTS = 128  # presentation context IDs are odd numbers 1-255 (PS3.8 9.3.2.2)
UNIQUE_KEY = {PATIENT: "PatientID", STUDY: "StudyInstanceUID", SERIES: "SeriesInstanceUID", IMAGE: "SOPInstanceUID"}
RETRIEVE_MODELS = {uid for uid in PATIENT_ROOT_MODELS | STUDY_ROOT_MODELS if "Find" not in UID(uid).keyword}

_config.STORE_SEND_CHUNKED_DATASET = True  # send_c_store(path) streams the file (this process only)


def restrict_contexts(event) -> None:
    """EVT_REQUESTED: a node without retrieve rights gets the C-MOVE/C-GET presentation contexts
    rejected (PS3.8 9.3.3.2: "abstract-syntax-not-supported"), before any transfer can start.

    pynetdicom's C-MOVE handler cannot answer a status before it has a destination, so the
    refusal happens at negotiation; it is logged like every other refusal.
    """
    assoc = event.assoc
    try:
        rights = nodes.rights_of(assoc)
    except DatabaseError as exc:
        logger.error("association from %s: node rights unavailable: %s", peer_label(assoc), exc)
        return
    if rights.retrieve:
        return
    contexts = assoc.acceptor.supported_contexts
    kept = [cx for cx in contexts if cx.abstract_syntax not in RETRIEVE_MODELS]
    asked = {cx.abstract_syntax for cx in assoc.requestor.primitive.presentation_context_definition_list}
    if asked & RETRIEVE_MODELS:
        nodes.refuse(assoc, "C-MOVE/C-GET", "this node may not retrieve (presentation contexts rejected)")
    assoc.acceptor.supported_contexts = kept


def retrieve_set(identifier: Dataset, model: str) -> list[Instance]:
    """The instances a C-MOVE/C-GET identifier names through its unique keys (PS3.4 C.4.2.2.1)."""
    level = level_of(identifier, model)
    values = {k: v for k, v in match_values(identifier, IMAGE).items() if k in UNIQUE_KEY.values()}
    if UNIQUE_KEY[level] not in values:
        raise QueryError(IDENTIFIER_DOES_NOT_MATCH, f"a {level} retrieve needs {UNIQUE_KEY[level]}")
    from studies.dicomweb import matching

    rows = Instance.objects.only("sop_instance_uid", "sop_class_uid", "transfer_syntax_uid", "storage_key")
    for keyword, value in values.items():
        rows = rows.filter(matching.condition(matching.INSTANCE, keyword, value))
    return list(rows.order_by("series__study_id", "series_id", *INSTANCE_ORDER))


def proposed_contexts(instances: list[Instance]) -> list:
    """For C-MOVE: each SOP class in its stored transfer syntaxes, then uncompressed as the fallback."""
    stored = dict.fromkeys((i.sop_class_uid, i.transfer_syntax_uid) for i in instances)
    classes = dict.fromkeys(i.sop_class_uid for i in instances)
    contexts = [build_context(sop, list(UNCOMPRESSED)) for sop in classes]
    contexts += [build_context(sop, [ts]) for sop, ts in stored if ts not in UNCOMPRESSED]
    if len(contexts) > MAX_CONTEXTS:
        logger.warning("C-MOVE needs %d presentation contexts; proposing the first %d", len(contexts), MAX_CONTEXTS)
    return contexts[:MAX_CONTEXTS]


def accepted_syntaxes(assoc) -> set[tuple[str, str]]:
    """(SOP class, transfer syntax) pairs on which we may send C-STORE requests over ``assoc``."""
    pairs = set()
    for cx in assoc.accepted_contexts:
        if assoc.is_acceptor and not cx.as_scu:  # C-GET: the requestor must have taken the SCP role
            continue
        pairs.add((str(cx.abstract_syntax), str(cx.transfer_syntax[0])))
    return pairs


def stream_stored_files(assoc) -> None:
    """Make ``assoc.send_c_store`` send a stored-file Dataset from its file, bytes unchanged."""
    if getattr(assoc, "streams_stored_files", False):
        return
    original = assoc.send_c_store

    def send_c_store(dataset, *args, **kwargs):
        path = getattr(dataset, "lumen_stored_path", None)
        return original(path if path is not None else dataset, *args, **kwargs)

    assoc.send_c_store = send_c_store
    assoc.streams_stored_files = True


def sub_operation(instance: Instance, accepted: set[tuple[str, str]]):
    """What to hand pynetdicom for one instance: the file as stored, a decompressed Dataset, or a
    non-Dataset marker that pynetdicom counts as a failed sub-operation."""
    path = Path(dicom_storage().path(instance.storage_key))
    if (instance.sop_class_uid, instance.transfer_syntax_uid) in accepted:
        marker = Dataset()
        marker.SOPClassUID = instance.sop_class_uid
        marker.SOPInstanceUID = instance.sop_instance_uid
        marker.lumen_stored_path = path
        return marker
    if not any((instance.sop_class_uid, ts) in accepted for ts in UNCOMPRESSED):
        logger.warning("%s: the peer accepted no transfer syntax for SOP class %s", instance.sop_instance_uid, instance.sop_class_uid)
        return f"no accepted presentation context for {instance.sop_instance_uid}"
    try:
        dataset = dcmread(path)
        if dataset.file_meta.TransferSyntaxUID.is_compressed:
            # Same instance, same pixel values: a change of transfer syntax keeps the SOP Instance
            # UID (PS3.5 10, lossless decoding). Explicit VR Little Endian; pynetdicom converts to Implicit if needed.
            dataset.decompress(generate_instance_uid=False)
        return dataset
    except Exception as exc:  # no decoder for this syntax, or a corrupt stream
        logger.warning("%s cannot be decompressed for the peer: %s", instance.sop_instance_uid, exc)
        return f"cannot decompress {instance.sop_instance_uid}"


def _retrieve(event, instances: list[Instance], store_assoc):
    accepted = accepted_syntaxes(store_assoc)
    for done, instance in enumerate(instances):
        if event.is_cancelled:  # PS3.4 C.4.2.3.1: C-CANCEL ends the sub-operations with Cancel
            logger.info("retrieve for %s cancelled after %d of %d", peer_label(event.assoc), done, len(instances))
            yield CANCELLED, None
            return
        yield PENDING, sub_operation(instance, accepted)


def handle_move(event):
    """C-MOVE (PS3.4 C.4.2.3): only to a registered destination (0xA801 otherwise, no connection)."""
    assoc = event.assoc
    close_old_connections()
    try:
        destination = nodes.move_destination(event.move_destination.decode("ascii", "replace") if isinstance(event.move_destination, bytes) else event.move_destination)
        if destination is None:
            logger.warning("C-MOVE from %s refused (0xA801): %r is not a registered move destination", peer_label(assoc), event.move_destination)
            yield None, None
            return
        try:
            instances = retrieve_set(event.identifier, event.request.AffectedSOPClassUID)
        except QueryError as exc:
            logger.warning("C-MOVE from %s refused: %s", peer_label(assoc), exc.message)
            raise
        captured = {}

        def established(store_event):
            captured["assoc"] = store_event.assoc
            stream_stored_files(store_event.assoc)

        logger.info("C-MOVE from %s: %d instances to %s", peer_label(assoc), len(instances), destination)
        audit_events.retrieve_started(assoc, "c-move", instances, destination=str(destination))
        handlers = [(evt.EVT_ESTABLISHED, established)]
        yield destination.host, destination.port, {"contexts": proposed_contexts(instances) or None, "evt_handlers": handlers}
        yield len(instances)
        yield from _retrieve(event, instances, captured["assoc"])
    finally:
        close_old_connections()


def handle_get(event):
    """C-GET (PS3.4 C.4.3.3): C-STORE sub-operations over the requesting association."""
    assoc = event.assoc
    close_old_connections()
    try:
        try:
            instances = retrieve_set(event.identifier, event.request.AffectedSOPClassUID)
        except QueryError as exc:
            logger.warning("C-GET from %s refused: %s", peer_label(assoc), exc.message)
            raise
        logger.info("C-GET from %s: %d instances", peer_label(assoc), len(instances))
        audit_events.retrieve_started(assoc, "c-get", instances)
        stream_stored_files(assoc)
        yield len(instances)
        yield from _retrieve(event, instances, assoc)
    finally:
        close_old_connections()
