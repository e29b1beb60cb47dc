"""The listener's event handlers: plain functions that answer with explicit DICOM statuses.

C-STORE hands the spooled file to the ingest funnel and answers Success only once ingest
says the instance is stored (or was already: the same dataset, whatever File Meta the
sender wrote): the file is durable and its index row committed. Every failure names the peer and the reason in the log and in the
response's Error Comment (0000,0902), which modalities show to their operator.

Statuses (PS3.4 B.2.3, Table B.2-1):
  0x0000 Success                    stored, or the same dataset was already stored
  0xA700 Refused: Out of Resources  disk or database unavailable: the sender should retry later
  0xC000 Error: Cannot Understand   the dataset cannot be archived (malformed, truncated,
                                    missing or invalid UIDs, nesting too deep, a DICOMDIR)
  0xC001 Error: Cannot Understand   an unexpected error in the archive (logged with a traceback)
  0xC002 Error: Cannot Understand   the SOP Instance UID is already stored with different
                                    content; the keep-first policy keeps the first copy
The Cxxx range is the one Table B.2-1 gives C-STORE for "the SCP cannot process the data
set"; every SCU treats it as a failure. PS3.7 Annex C's 0x0111 "Duplicate SOP Instance" is
defined for N-CREATE, so the conflict gets its own Cxxx code and an explicit Error Comment.
"""
from __future__ import annotations

import logging
from pathlib import Path

from django.db import DatabaseError, close_old_connections
from pydicom import Dataset

from audit import events as audit_events
from studies.dimse.limits import peer_label
from studies.ingest import IngestResult, Origin, Outcome, ingest_file

logger = logging.getLogger("studies.dimse")

SUCCESS = 0x0000
OUT_OF_RESOURCES = 0xA700
CANNOT_UNDERSTAND = 0xC000
INTERNAL_ERROR = 0xC001
CONFLICT = 0xC002

# Error Comment is LO: at most 64 characters (PS3.7 Annex E, PS3.5 6.2).
ERROR_COMMENT_LENGTH = 64

# (Result source, Reason/Diag.) of an A-ASSOCIATE-RJ (PS3.8 9.3.4, Table 9-21), for the log.
REJECT_REASONS = {
    (0x01, 0x01): "no reason given",
    (0x01, 0x02): "application context name not supported",
    (0x01, 0x03): "calling AE title not recognised",
    (0x01, 0x07): "called AE title not recognised",
    (0x02, 0x01): "no reason given",
    (0x02, 0x02): "protocol version not supported",
    (0x03, 0x01): "temporary congestion",
    (0x03, 0x02): "local limit exceeded (too many associations)",
}


def handle_echo(event) -> int:
    """C-ECHO (PS3.7 9.1.5): the Verification service always succeeds once associated."""
    return SUCCESS


def handle_store(event) -> Dataset:
    """C-STORE (PS3.4 B.2): ingest the spooled dataset, delete the spool file, answer with a status."""
    assoc = event.assoc
    path = Path(event.dataset_path)
    try:
        close_old_connections()  # a long-lived process: drop connections the database has closed
        from studies.dimse import nodes

        if not nodes.rights_of(assoc).store:
            nodes.refuse(assoc, "C-STORE", "this node may not store")
            audit_events.store_counted(assoc, stored=False)
            return status(nodes.NOT_AUTHORIZED, "not authorized to store to this archive")
        # The spool file holds the bytes to store: linked into the archive, not copied.
        result = ingest_file(path, origin=origin_of(assoc), may_link=True)
        audit_events.store_counted(assoc, stored=result.ok, study_uid=result.study_instance_uid)
        return response_for(result, assoc)
    except DatabaseError as exc:
        logger.error("C-STORE from %s: the archive database failed: %s", peer_label(assoc), exc)
        return status(OUT_OF_RESOURCES, "out-of-resources: the archive database is unavailable")
    except Exception:
        logger.exception("C-STORE from %s: unexpected error while storing", peer_label(assoc))
        return status(INTERNAL_ERROR, "internal-error: see the archive's log")
    finally:
        # ingest linked or copied the bytes into the archive (or refused them); the spool name goes now.
        path.unlink(missing_ok=True)
        getattr(assoc, "spool_files", set()).discard(path)
        try:
            close_old_connections()
        except DatabaseError:
            pass  # the next C-STORE reconnects


def response_for(result: IngestResult, assoc) -> Dataset:
    """Map an ingest answer to the C-STORE response status, logging failures."""
    if result.outcome is Outcome.STORED or result.outcome is Outcome.ALREADY_STORED:
        logger.debug("C-STORE from %s: %s %s", peer_label(assoc), result.sop_instance_uid, result.outcome)
        return status(SUCCESS)
    if result.code == "out-of-resources":
        code = OUT_OF_RESOURCES
    elif result.code == "conflict":
        code = CONFLICT
    else:
        code = CANNOT_UNDERSTAND
    uid = f" {result.sop_instance_uid}" if result.sop_instance_uid else ""
    logger.warning(
        "C-STORE from %s refused%s with 0x%04X (%s): %s", peer_label(assoc), uid, code, result.code, _printable(result.reason)
    )
    if code == CONFLICT:
        comment = "duplicate SOP Instance UID with different content"
    else:
        # The reason code first: the 64-character Error Comment may cut the sentence short.
        comment = f"{result.code}: {result.reason}" if result.code else result.reason
    return status(code, comment)


def origin_of(assoc) -> Origin:
    requestor = assoc.requestor
    return Origin(calling_ae_title=requestor.ae_title.strip(), peer_address=requestor.address_info.address)


def status(code: int, comment: str = "") -> Dataset:
    answer = Dataset()
    answer.Status = code
    if comment:
        answer.ErrorComment = _error_comment(comment)
    return answer


def _printable(text: str) -> str:
    # Reasons can quote the sender's bytes: no control characters (forged log lines) and
    # no backslash (the LO value separator); ASCII keeps every SCU's decoder happy.
    return "".join(ch if " " <= ch <= "~" and ch != "\\" else " " for ch in text)


def _error_comment(text: str) -> str:
    cleaned = _printable(text)
    if len(cleaned) > ERROR_COMMENT_LENGTH:
        cleaned = cleaned[: ERROR_COMMENT_LENGTH - 3].rstrip() + "..."
    return cleaned


def handle_rejected(event) -> None:
    """Log every refused association with the peer and the reason (e.g. an unknown calling AE)."""
    assoc = event.assoc
    answer = assoc.acceptor.primitive
    reason = REJECT_REASONS.get((getattr(answer, "result_source", None), getattr(answer, "diagnostic", None)), "")
    logger.warning("association from %s refused: %s", peer_label(assoc), reason or "rejected")


def handle_established(event) -> None:
    logger.info("association from %s established", peer_label(event.assoc))


def handle_released(event) -> None:
    logger.info("association from %s released", peer_label(event.assoc))
    audit_events.association_ended(event.assoc)


def handle_aborted(event) -> None:
    logger.warning("association from %s aborted", peer_label(event.assoc))
    audit_events.association_ended(event.assoc, aborted=True)
