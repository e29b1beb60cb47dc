"""WADO-RS (PS3.18 10.4): retrieve instances, metadata, frames and bulk data.

Instances go out as ``multipart/related; type="application/dicom"``, streamed from the
archive one chunk at a time, byte for byte as stored (the archive never re-encodes).
Metadata is the per-instance DICOM JSON stored at ingest (metadata.py): answering never opens a file.
Frames are sliced from the file (native) or taken from its fragments (compressed), and
decoded only when the client does not accept the stored compressed type.

A study the user may not see answers 404 exactly like one that does not exist
(``studies.selectors``).
"""
from __future__ import annotations

import functools
import logging
import re
from dataclasses import dataclass

from django.db.models import F
from django.http import FileResponse, Http404, HttpResponse, StreamingHttpResponse
from pydicom import dcmread
from pydicom.uid import ExplicitVRLittleEndian

from audit import events as audit_events
from studies import caching, selectors
from studies.dicomweb import metadata
from studies.dicomweb.auth import DicomwebError, DicomwebView
from studies.dicomweb.frames import MEDIA_TYPES, NoPixelData, PixelData, open_pixel_data
from studies.dicomweb.metadata import PIXEL_DATA
from studies.dicomweb.multipart import Part, content_type, file_chunks, new_boundary, request_accept, write_multipart
from studies.ordering import INSTANCE_ORDER, ordered
from studies.storage import dicom_storage

logger = logging.getLogger(__name__)

OCTET_STREAM = "application/octet-stream"
OCTET_RANGES = {OCTET_STREAM, "application/*", "*/*"}
DICOM_RANGES = {"application/dicom", "application/*", "*/*"}
# PS3.18 Table 8.7.3-5: the transfer syntax a compressed media type means when none is named.
DEFAULT_SYNTAX = {
    "image/jpeg": "1.2.840.10008.1.2.4.50",
    "image/jls": "1.2.840.10008.1.2.4.80",
    "image/jp2": "1.2.840.10008.1.2.4.90",
    "image/jpx": "1.2.840.10008.1.2.4.92",
    "image/jphc": "1.2.840.10008.1.2.4.201",
    "image/dicom-rle": "1.2.840.10008.1.2.5",
}
# Stored files go out in reads of this size: one socket write per chunk, so few per instance.
FILE_CHUNK = 1024 * 1024


# --- Views ------------------------------------------------------------------------------------


class RetrieveStudy(DicomwebView):
    def get(self, request, study_uid):
        return dicom_response(request, study_instances(request.user, study_uid))


class RetrieveSeries(DicomwebView):
    def get(self, request, study_uid, series_uid):
        return dicom_response(request, series_instances(request.user, study_uid, series_uid))


class RetrieveInstance(DicomwebView):
    def get(self, request, study_uid, series_uid, sop_uid):
        stored = selectors.stored_instance(request.user, study_uid, series_uid, sop_uid)
        # The row that proved the instance visible already says where the file is: no second query.
        return dicom_response(request, StoredFiles([(stored.storage_key, stored.transfer_syntax_uid)]), single=True)


class StudyMetadata(DicomwebView):
    def get(self, request, study_uid):
        return metadata.metadata_response(request, study_instances(request.user, study_uid))


class SeriesMetadata(DicomwebView):
    def get(self, request, study_uid, series_uid):
        kept = metadata.kept_series_metadata(request, study_uid, series_uid)
        if kept is not None:
            return kept
        return metadata.metadata_response(request, series_instances(request.user, study_uid, series_uid))


class InstanceMetadata(DicomwebView):
    def get(self, request, study_uid, series_uid, sop_uid):
        return metadata.metadata_response(request, one_instance(request.user, study_uid, series_uid, sop_uid))


class RetrieveFrames(DicomwebView):
    def get(self, request, study_uid, series_uid, sop_uid, frames):
        numbers = frame_numbers(frames)
        stored = selectors.stored_instance(request.user, study_uid, series_uid, sop_uid)
        return frames_response(request, pixel_data_of(stored), numbers, series_id=stored.series_id)


class RetrieveBulkdata(DicomwebView):
    def get(self, request, study_uid, series_uid, sop_uid, tag):
        stored = selectors.stored_instance(request.user, study_uid, series_uid, sop_uid)
        if tag.upper() == PIXEL_DATA:
            pixels = pixel_data_of(stored)
            return frames_response(request, pixels, list(range(1, pixels.number_of_frames + 1)), series_id=stored.series_id)
        return bulkdata_response(request, stored, tag.upper())


# --- Which instances --------------------------------------------------------------------------


def study_instances(user, study_uid: str):
    study = selectors.study_for(user, study_uid)
    instances = selectors.visible_instances(user).filter(series__study=study)
    return instances.order_by(F("series__series_number").asc(nulls_last=True), "series_id", *INSTANCE_ORDER)


class StoredFiles(list):
    """(storage key, transfer syntax) pairs already read, for dicom_response (no query)."""

    def values_list(self, *fields):
        return self


def one_instance(user, study_uid: str, series_uid: str, sop_uid: str):
    return selectors.visible_instances(user).filter(pk=selectors.stored_instance(user, study_uid, series_uid, sop_uid).id)


def series_instances(user, study_uid: str, series_uid: str):
    study = selectors.study_for(user, study_uid)
    instances = ordered(selectors.visible_instances(user).filter(series__study=study, series__series_instance_uid=series_uid))
    if not instances.exists():
        raise Http404("No such series")
    return instances


# --- Instances --------------------------------------------------------------------------------


def dicom_response(request, instances, *, single: bool = False):
    """The instances as stored, multipart (or a bare application/dicom body for one instance)."""
    rows = list(instances.values_list("storage_key", "transfer_syntax_uid"))
    audit_events.wado_retrieved(request, "instances", count=len(rows))
    syntaxes = {syntax for _, syntax in rows}
    multipart = _negotiate_dicom(request_accept(request), syntaxes, single)
    storage = dicom_storage()
    if not multipart:
        key, syntax = rows[0]
        # FileResponse hands the open file to the server's wsgi.file_wrapper: gunicorn sends it
        # with os.sendfile, no copy through Python. Never gzipped (DICOM bytes do not shrink).
        response = FileResponse(storage.open(key, "rb"), content_type=f"application/dicom; transfer-syntax={syntax}")
        response.block_size = FILE_CHUNK
        if "Content-Disposition" in response:
            del response["Content-Disposition"]  # FileResponse names the storage file; a client needs no name
        return response
    boundary = new_boundary()
    parts = (Part({"Content-Type": f"application/dicom; transfer-syntax={syntax}"}, _opened_lazily(storage, key)) for key, syntax in rows)
    return StreamingHttpResponse(write_multipart(parts, boundary), content_type=content_type("application/dicom", boundary))


def _opened_lazily(storage, key: str):
    # One file open at a time, however many instances the study has; large reads, since each
    # chunk is one write to the socket (a 0.5 MB CT slice is one or two of them).
    yield from file_chunks(storage.open(key, "rb"), FILE_CHUNK)


def _negotiate_dicom(accepted_types: tuple, syntaxes: set[str], single: bool) -> bool:
    """True for multipart, False for one bare instance; DicomwebError(406) when nothing fits.

    The archive sends what it stored: a named transfer-syntax is honoured when every instance
    is stored in it, and ``*`` or no parameter means "as stored" (no transcoding).
    """
    for accepted in accepted_types:
        wanted = accepted.params.get("transfer-syntax")
        fits = wanted in (None, "*") or syntaxes == {wanted}
        if accepted.type == "*/*":
            return True
        if accepted.type == "multipart/related" and accepted.params.get("type", "application/dicom").lower() in DICOM_RANGES and fits:
            return True
        if accepted.type == "application/dicom" and single and fits:
            return False
    stored = ", ".join(sorted(syntaxes))
    raise DicomwebError(
        406, f'available as multipart/related; type="application/dicom" in the stored transfer syntax ({stored}); no transcoding'
    )


# --- Frames and bulk data ---------------------------------------------------------------------


def frame_numbers(text: str) -> list[int]:
    """``1,3,5`` → [1, 3, 5] (PS3.18 8.3.2, frame numbers start at 1)."""
    if not re.fullmatch(r"\d+(,\d+)*", text.replace("%2C", ",").replace(" ", "")):
        raise DicomwebError(400, f"{text!r} is not a comma-separated list of frame numbers")
    numbers = [int(n) for n in text.replace("%2C", ",").replace(" ", "").split(",")]
    if 0 in numbers:
        raise DicomwebError(400, "frame numbers start at 1")
    return numbers


def pixel_data_of(stored: selectors.StoredInstance) -> PixelData:
    try:
        return _pixel_data_at(dicom_storage().path(stored.storage_key), stored.sha256)
    except NoPixelData:
        raise Http404("The instance has no pixel data") from None


@functools.lru_cache(maxsize=4096)
def _pixel_data_at(path: str, sha256: str) -> PixelData:
    """Where the frames of one stored file are, read once per process: the header parse costs
    0.6 ms of a frame request (CT slice), and a viewer asks for a series frame by frame. Stored
    files never change under their key (each write gets a new one, storage.instance_key); the
    SHA-256 the index holds for it is in the cache key too, so even a file put back by hand is read afresh."""
    return open_pixel_data(path)


@dataclass(frozen=True)
class FrameChoice:
    media_type: str  # the parts' type, also the multipart type parameter
    transfer_syntax: str
    stored: bool  # True: the stored compressed bytes; False: native little endian


def negotiate_frames(accepted_types: tuple, pixels: PixelData) -> FrameChoice:
    """Pick the representation of the frames from the Accept header (PS3.18 8.7.3.5.2)."""
    stored_syntax = pixels.transfer_syntax
    stored_media = MEDIA_TYPES.get(stored_syntax) if pixels.encapsulated else None
    for accepted in accepted_types:
        if accepted.type == "*/*":
            media, wanted = OCTET_STREAM, accepted.params.get("transfer-syntax")
        elif accepted.type == "multipart/related":
            media, wanted = accepted.params.get("type", OCTET_STREAM).lower(), accepted.params.get("transfer-syntax")
        else:
            continue
        if media in OCTET_RANGES:
            if wanted == "*" or (wanted == stored_syntax and pixels.encapsulated):
                # "*": the server's choice, so the stored bytes; the part says which syntax they are in.
                return FrameChoice(OCTET_STREAM, stored_syntax if pixels.encapsulated else ExplicitVRLittleEndian, pixels.encapsulated)
            if wanted in (None, ExplicitVRLittleEndian) and pixels.can_decode:
                return FrameChoice(OCTET_STREAM, ExplicitVRLittleEndian, False)
        elif stored_media and (media == stored_media or media == stored_media.split("/")[0] + "/*"):
            if wanted == "*" or wanted == stored_syntax or (wanted is None and DEFAULT_SYNTAX.get(media, stored_syntax) == stored_syntax):
                return FrameChoice(stored_media, stored_syntax, True)
    offers = ['multipart/related; type="application/octet-stream"' + ("" if pixels.can_decode else "; transfer-syntax=*")]
    if stored_media:
        offers.append(f'multipart/related; type="{stored_media}"; transfer-syntax={stored_syntax}')
    raise DicomwebError(406, "the frames of this instance are available as " + " or ".join(offers))


def frames_response(request, pixels: PixelData, numbers: list[int], *, series_id: int) -> StreamingHttpResponse:
    missing = [n for n in numbers if n > pixels.number_of_frames]
    if missing:
        raise Http404(f"No frame {missing[0]}: the instance has {pixels.number_of_frames} frame(s)")
    choice = negotiate_frames(request_accept(request), pixels)
    audit_events.wado_frames_retrieved(request, series_id=series_id, count=len(numbers))
    part_type = f"{choice.media_type}; transfer-syntax={choice.transfer_syntax}"
    first = _first_frame(pixels, numbers[0] - 1, choice)
    boundary = new_boundary()
    bodies = ([first] if i == 0 else _frame(pixels, n - 1, choice.stored) for i, n in enumerate(numbers))
    parts = (Part({"Content-Type": part_type}, body) for body in bodies)
    response = StreamingHttpResponse(write_multipart(parts, boundary), content_type=content_type(choice.media_type, boundary))
    # Kept by the browser (caching.stored_pixels): a reopened study loads its frames from the
    # cache instead of 140 requests. Opening the viewer still audits the access (the series
    # metadata is not cached).
    response["Cache-Control"] = caching.stored_pixels()
    response["Vary"] = "Accept"  # the representation follows the Accept header
    return response


def _first_frame(pixels: PixelData, index: int, choice: FrameChoice) -> bytes:
    """Read (or decode) the first frame before answering, so a frame that cannot be decoded is a 406
    the client can act on rather than a body cut short; the other frames then stream lazily."""
    try:
        return b"".join(_frame(pixels, index, choice.stored))
    except Exception as exc:  # noqa: BLE001 - decoders raise anything from ValueError to RuntimeError
        if choice.stored:
            raise
        logger.warning("cannot decode %s (%s): %s", pixels.path.name, pixels.transfer_syntax, exc)
        raise DicomwebError(
            406,
            f"frames stored as {pixels.transfer_syntax} cannot be decoded here; ask for them as stored: "
            f'multipart/related; type="{MEDIA_TYPES.get(pixels.transfer_syntax, OCTET_STREAM)}"; transfer-syntax={pixels.transfer_syntax}',
        ) from None


def _frame(pixels: PixelData, index: int, stored: bool):
    # A generator, so each frame is read or decoded only when the response gets to it.
    if stored:
        yield pixels.stored_frame(index)
    else:
        yield from pixels.native_frame(index)


def bulkdata_response(request, instance, tag: str) -> HttpResponse:
    """One top-level bulk data element other than the pixel data, as application/octet-stream."""
    if not re.fullmatch(r"[0-9A-F]{8}", tag):
        raise Http404("No such bulk data")
    if not any(a.type == "*/*" or (a.type == "multipart/related" and a.params.get("type", OCTET_STREAM) in OCTET_RANGES) for a in request_accept(request)):
        raise DicomwebError(406, 'bulk data is available as multipart/related; type="application/octet-stream"')
    path = dicom_storage().path(instance.storage_key)
    dataset = dcmread(path, stop_before_pixels=int(tag, 16) < 0x7FE00000, force=True)
    element = dataset.get(int(tag, 16))
    value = element.value if element is not None else None
    if isinstance(value, str):
        value = value.encode("utf-8")
    if not isinstance(value, (bytes, bytearray)):
        raise Http404("No such bulk data")
    audit_events.wado_retrieved(request, "bulkdata")
    boundary = new_boundary()
    body = write_multipart([Part({"Content-Type": OCTET_STREAM}, [bytes(value)])], boundary)
    return HttpResponse(b"".join(body), content_type=content_type(OCTET_STREAM, boundary))
