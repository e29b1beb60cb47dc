"""STOW-RS (PS3.18 10.5): store instances sent as ``multipart/related; type="application/dicom"``.

The body is read as a stream and each part spooled to its own file under SPOOL_DIR (never the
whole body in memory); every part then goes through the one ingest funnel, and the spool is
deleted whatever happens. The answer lists what was stored (ReferencedSOPSequence, with the
RetrieveURL of each instance) and what was not (FailedSOPSequence, with a FailureReason).

HTTP status per PS3.18 10.5.3: 200 every instance stored, 202 some failed, 409 none stored;
415 for a body that is not DICOM instances, 413 past LUMEN_UPLOAD_MAX_BYTES.
"""
from __future__ import annotations

import logging
import shutil
import uuid
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.http import JsonResponse
from pydicom import dcmread

from studies.dicomweb import dicomjson as dj
from studies.dicomweb.auth import DicomwebError, DicomwebView
from studies.dicomweb.multipart import BodyTooLarge, MultipartError, parse_media_type, spool_parts
from studies.dicomweb.qido import require_json
from audit import events as audit_events
from studies.ingest import IngestResult, Origin, ingest_file
from studies.models import Instance

logger = logging.getLogger(__name__)

# FailureReason (0008,1197) values: the C-STORE statuses of PS3.4 B.2.3 and PS3.7 C.4.
PROCESSING_FAILURE = 0x0110
DUPLICATE_SOP_INSTANCE = 0x0111  # PS3.7 C.4: the UID is stored already, with other content
OUT_OF_RESOURCES = 0xA700
# PS3.7 C.4 "Refused: Not Authorized": the instance belongs to a study that exists but that this
# user may not see (the funnel refuses it: ingest._may_add_to_study).
NOT_AUTHORIZED = 0x0124
# An instance of another study sent to POST /studies/{study}: the data set does not match
# what the request is for (PS3.18 10.5.1 target resource; PS3.4 B.2.3 A9xx "Data Set does
# not match"). Orthanc answers 0x0110 here; A900 says more about why.
DOES_NOT_MATCH = 0xA900
CANNOT_UNDERSTAND = 0xC000
FAILURE_REASONS = {
    "not-dicom": CANNOT_UNDERSTAND,
    "malformed": CANNOT_UNDERSTAND,
    "truncated": CANNOT_UNDERSTAND,
    "missing-uid": CANNOT_UNDERSTAND,
    "invalid-uid": CANNOT_UNDERSTAND,
    "too-deep": CANNOT_UNDERSTAND,
    "dicomdir": CANNOT_UNDERSTAND,
    "conflict": DUPLICATE_SOP_INSTANCE,
    "not-authorized": NOT_AUTHORIZED,
    "out-of-resources": OUT_OF_RESOURCES,
}
INSTANCE_TYPES = {"application/dicom"}


class StoreInstances(DicomwebView):
    def post(self, request, study_uid=None):
        outcomes = store(request, target_study=study_uid)
        audit_events.stow_stored(request, outcomes, study_uid=study_uid)
        return store_response(request, outcomes, target_study=study_uid)


@dataclass
class PartOutcome:
    """What happened to one part: stored (or already stored) with an instance id, or a failure reason."""

    sop_class_uid: str
    sop_instance_uid: str
    failure: int | None = None
    reason: str = ""
    instance_id: int | None = None


def store(request, *, target_study: str | None) -> list[PartOutcome]:
    """Spool the parts of a STOW-RS body and ingest each; the spool is gone when this returns."""
    require_json(request)
    boundary = _boundary(request.META.get("CONTENT_TYPE", ""))
    limit = settings.LUMEN_UPLOAD_MAX_BYTES
    declared = request.META.get("CONTENT_LENGTH") or "0"
    if declared.isdigit() and int(declared) > limit:
        raise DicomwebError(413, f"the request body ({declared} bytes) is larger than the limit of {limit} bytes")
    if request.stream is None:
        raise DicomwebError(400, "the request has no body")
    folder = Path(settings.SPOOL_DIR) / "stow" / uuid.uuid4().hex
    folder.mkdir(parents=True)
    try:
        parts = spool_parts(request.stream, boundary, folder, max_bytes=limit)
        if not parts:
            raise DicomwebError(400, "the multipart body has no parts")
        for position, part in enumerate(parts, 1):
            media = part.media_type
            if media is not None and media.type not in INSTANCE_TYPES:
                raise DicomwebError(415, f"part {position} is {media.type}; only application/dicom instances can be stored")
        origin = Origin(user_id=request.user.id)
        return [store_part(part.path, target_study, origin) for part in parts]
    except MultipartError as exc:
        raise DicomwebError(400, f"malformed multipart body: {exc}") from None
    except BodyTooLarge as exc:
        raise DicomwebError(413, str(exc)) from None
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _boundary(header: str) -> str:
    media = parse_media_type(header)
    if media.type != "multipart/related":
        raise DicomwebError(415, 'STOW-RS takes multipart/related; type="application/dicom"')
    if media.params.get("type", "application/dicom").lower() not in INSTANCE_TYPES:
        raise DicomwebError(415, "only application/dicom instances can be stored (no metadata and bulk data requests)")
    boundary = media.params.get("boundary")
    if not boundary:
        raise DicomwebError(400, "the multipart/related content type has no boundary")
    return boundary


def store_part(path: Path, target_study: str | None, origin: Origin) -> PartOutcome:
    sop_class, sop_instance, study = _identity(path)
    if target_study and study and study != target_study:
        reason = f"the instance belongs to study {study}, not to {target_study}"
        return PartOutcome(sop_class, sop_instance, DOES_NOT_MATCH, reason)
    result: IngestResult = ingest_file(path, origin=origin)
    if result.ok:
        return PartOutcome(sop_class, result.sop_instance_uid or sop_instance, instance_id=result.instance_id)
    logger.info("STOW-RS refused %s: %s", result.sop_instance_uid or "a part", result.reason)
    failure = FAILURE_REASONS.get(result.code, PROCESSING_FAILURE)
    return PartOutcome(sop_class, result.sop_instance_uid or sop_instance, failure, result.reason)


def _identity(path: Path) -> tuple[str, str, str]:
    """The UIDs the answer names an instance by, read leniently: ingest does the real checking."""
    try:
        ds = dcmread(path, stop_before_pixels=True, force=True, specific_tags=["SOPClassUID", "SOPInstanceUID", "StudyInstanceUID"])
        meta = getattr(ds, "file_meta", None) or {}
        sop_class = ds.get("SOPClassUID") or meta.get("MediaStorageSOPClassUID") or ""
        sop_instance = ds.get("SOPInstanceUID") or meta.get("MediaStorageSOPInstanceUID") or ""
        return str(sop_class), str(sop_instance), str(ds.get("StudyInstanceUID") or "")
    except Exception:  # noqa: BLE001 - anything unreadable is reported by ingest_file
        return "", "", ""


# --- The answer -------------------------------------------------------------------------------


def store_response(request, outcomes: list[PartOutcome], *, target_study: str | None) -> JsonResponse:
    base = dj.studies_url(request)
    stored = [o for o in outcomes if o.failure is None]
    failed = [o for o in outcomes if o.failure is not None]
    where = {
        pk: (series_uid, study_uid)
        for pk, series_uid, study_uid in Instance.objects.filter(pk__in=[o.instance_id for o in stored]).values_list(
            "pk", "series__series_instance_uid", "series__study__study_instance_uid"
        )
    }
    body: dict = {}
    studies = {where[o.instance_id][1] for o in stored if o.instance_id in where}
    if target_study or len(studies) == 1:
        body["00081190"] = dj.element("UR", dj.study_url(base, target_study or studies.pop()))
    if failed:
        body["00081198"] = {"vr": "SQ", "Value": [_failed_item(o) for o in failed]}
    if stored:
        body["00081199"] = {"vr": "SQ", "Value": [_stored_item(o, where.get(o.instance_id), base) for o in stored]}
    status = 200 if not failed else 409 if not stored else 202
    response = JsonResponse(body, status=status)
    response["Content-Type"] = dj.MEDIA_DICOM_JSON
    # Why, in words, for people reading the response (PS3.18 8.4.4: Warning header, code 299).
    reasons = [_quoted(f"{o.sop_instance_uid or 'part'}: {o.reason}") for o in failed[:10] if o.reason]
    if reasons:
        response["Warning"] = ", ".join(f"299 {request.get_host()}: {reason}" for reason in reasons)
    return response


def _quoted(text: str) -> str:
    clean = text.encode("ascii", "replace").decode().replace("\\", "/").replace('"', "'")
    return '"' + " ".join(clean.split()) + '"'


def _stored_item(outcome: PartOutcome, where: tuple | None, base: str) -> dict:
    item = {
        "00081150": dj.element("UI", outcome.sop_class_uid),
        "00081155": dj.element("UI", outcome.sop_instance_uid),
    }
    if where is not None:
        series_uid, study_uid = where
        item["00081190"] = dj.element("UR", dj.instance_url(base, study_uid, series_uid, outcome.sop_instance_uid))
    return item


def _failed_item(outcome: PartOutcome) -> dict:
    return {
        "00081150": dj.element("UI", outcome.sop_class_uid),
        "00081155": dj.element("UI", outcome.sop_instance_uid),
        "00081197": dj.element("US", outcome.failure),
    }
