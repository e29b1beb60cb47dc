"""The ingest funnel: every way in (web upload, ZIP, import command, C-STORE, STOW-RS) calls
``ingest_file`` and gets the same answer: stored, already stored, or rejected with a reason.

Order of work, so that a failure leaves neither an orphan file nor a row without a file:
parse and validate (no side effects) → write the file durably under a fresh key →
one transaction for the index rows → on any error after the write, delete the file.
"""
from __future__ import annotations

import enum
import errno
import hashlib
import logging
from dataclasses import dataclass, field
from datetime import date, datetime, time
from io import BytesIO
from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.files.base import File
from django.db import IntegrityError, OperationalError, transaction
from django.utils import timezone
from pydicom import Dataset, dcmread
from pydicom.datadict import tag_for_keyword
from pydicom.dataset import FileMetaDataset
from pydicom.filewriter import write_file_meta_info
from pydicom.uid import PYDICOM_IMPLEMENTATION_UID

from studies.dicomfile import Header, InvalidDicom, NotDicom, check_nesting, read_file_meta, read_header
from studies.completeness import schedule_completion_check
from studies.dicomjson import header_json
from studies.indexsql import (
    StoredCopy,
    add_to_series,
    count_instance,
    grant_access,
    insert_instance,
    lookup,
    single_statement,
    stored_copy,
    study_and_access,
)
from studies.models import Instance, Patient, Series, Study
from studies.ordering import slice_position
from studies.selectors import visible_studies
from studies.storage import dicom_storage, instance_key

logger = logging.getLogger(__name__)

CHUNK_SIZE = 1024 * 1024


class Outcome(enum.StrEnum):
    STORED = "stored"
    ALREADY_STORED = "already stored"
    REJECTED = "rejected"


@dataclass(frozen=True)
class Origin:
    """Where an instance came from; recorded on its row."""

    user_id: int | None = None
    upload_job_id: object = None
    calling_ae_title: str = ""
    peer_address: str | None = None
    # An upload submitted for reading: its studies join the radiologists' pool.
    for_reading: bool = False
    # Written by Lumen itself into a study it holds (a report's SR): changes nobody's access.
    internal: bool = False

    @property
    def reading_pool(self) -> bool:
        # Received over DICOM (no person behind it) or sent for a read: radiologists see it.
        return (self.user_id is None and not self.internal) or self.for_reading


@dataclass(frozen=True)
class IngestResult:
    outcome: Outcome
    reason: str = ""
    # Stable reason code: not-dicom, malformed, truncated, missing-uid, invalid-uid, too-deep,
    # dicomdir, conflict, not-authorized, out-of-resources.
    code: str = ""
    sop_instance_uid: str = ""
    study_instance_uid: str = ""
    instance_id: int | None = field(default=None, compare=False)

    @property
    def ok(self) -> bool:
        return self.outcome is not Outcome.REJECTED


def ingest_file(path: Path, *, origin: Origin, may_link: bool = False) -> IngestResult:
    """Store the DICOM file at ``path`` (left untouched) in the archive and index it.

    ``may_link``: nobody writes to ``path`` any more (a C-STORE spool file); if it already
    holds exactly the bytes the archive stores, it is hard-linked into the archive instead
    of copied. The caller still removes ``path`` afterwards.
    """
    path = Path(path)
    try:
        header = read_header(path)
    except NotDicom as exc:
        return IngestResult(Outcome.REJECTED, str(exc), "not-dicom")
    except InvalidDicom as exc:
        return IngestResult(Outcome.REJECTED, str(exc), exc.code)
    except OSError as exc:
        return IngestResult(Outcome.REJECTED, f"the file cannot be read: {exc.strerror}", "out-of-resources")
    return _store(path, header, origin, may_link)


def _store(path: Path, header: Header, origin: Origin, may_link: bool = False) -> IngestResult:
    ds = header.dataset
    ids = {"sop_instance_uid": str(ds.SOPInstanceUID), "study_instance_uid": str(ds.StudyInstanceUID)}
    content = NormalizedDicomFile(path, header)
    if not _may_add_to_study(origin, ids["study_instance_uid"]):
        return IngestResult(Outcome.REJECTED, "the instance belongs to a study you may not add to", "not-authorized", **ids)
    known = lookup(ids["sop_instance_uid"], str(ds.SeriesInstanceUID))
    existing = known.copy
    if existing is not None:
        answer = _duplicate(existing, content, ids)
        if answer.ok or settings.LUMEN_DUPLICATE_POLICY != "overwrite":
            return answer
    try:
        attributes = instance_attributes(header)  # built before the write: it may read deferred values
    except InvalidDicom as exc:
        return IngestResult(Outcome.REJECTED, str(exc), exc.code, **ids)
    storage = dicom_storage()
    try:
        key = _save(storage, instance_key(ids["study_instance_uid"], str(ds.SeriesInstanceUID), ids["sop_instance_uid"]), content, may_link)
    except OSError as exc:
        logger.error("cannot write %s to the archive: %s", ids["sop_instance_uid"], exc)
        return IngestResult(Outcome.REJECTED, f"the archive cannot store the file: {exc.strerror}", "out-of-resources", **ids)
    try:
        if existing is not None:
            instance_id = _replace(existing, attributes, key, content, origin)
        else:
            instance_id = _index(header, attributes, key, content, origin, known.series)
    except IntegrityError:
        storage.delete(key)
        # Another association stored the same SOP Instance UID a moment ago.
        existing = stored_copy(ids["sop_instance_uid"])
        if existing is None:
            raise
        return _duplicate(existing, content, ids)
    except OperationalError as exc:
        storage.delete(key)
        logger.error("index write failed for %s: %s", ids["sop_instance_uid"], exc)
        return IngestResult(Outcome.REJECTED, "the archive database is unavailable", "out-of-resources", **ids)
    except BaseException:
        storage.delete(key)
        raise
    return IngestResult(Outcome.STORED, "", "", instance_id=instance_id, **ids)


def _save(storage, key: str, content: "NormalizedDicomFile", may_link: bool) -> str:
    """Write the file under ``key``; link it instead when its bytes are already those to store."""
    if may_link and content.stored_as_is:
        try:
            return storage.save_by_linking(key, content.path)
        except OSError as exc:
            if exc.errno != errno.EXDEV:
                raise
    return storage.save(key, content)


def _may_add_to_study(origin: Origin, study_uid: str) -> bool:
    """A person may add instances to a new study or to one they can see; a DICOM node to any.

    Uploading makes a person see the study (selectors.visible_studies), so without this check
    an upload carrying a guessed StudyInstanceUID would open someone else's study to them.
    """
    if origin.user_id is None:
        return True
    known = study_and_access(study_uid, origin.user_id)
    if known is None or known[1]:
        return True
    study_id = known[0]
    user = get_user_model().objects.filter(pk=origin.user_id).first()
    return user is not None and visible_studies(user).filter(pk=study_id).exists()


def _duplicate(existing: StoredCopy, content: "NormalizedDicomFile", ids: dict) -> IngestResult:
    """The duplicate policy (LUMEN_DUPLICATE_POLICY), written down once: the same dataset is
    "already stored"; another one is a conflict, which the overwrite policy turns into a replacement."""
    if _same_dataset(existing, content):
        return IngestResult(Outcome.ALREADY_STORED, "identical copy already stored", "", instance_id=existing.id, **ids)
    return IngestResult(
        Outcome.REJECTED,
        "an instance with this SOP Instance UID is already stored with different content; the first copy is kept",
        "conflict",
        instance_id=existing.id,
        **ids,
    )


def _same_dataset(existing: StoredCopy, content: "NormalizedDicomFile") -> bool:
    """The same instance: same transfer syntax and the same data elements; the File Meta does not count.

    Each sender writes a File Meta of its own (implementation UID and version, source AE), and
    some re-encode what they send (DCMTK gives undefined-length sequences explicit lengths), so
    an instance imported from a file and then sent by a modality differs in bytes, not in content.
    Cheapest first: the whole file (the same sender again), the dataset bytes, then the elements
    decoded. Only duplicates from another sender get past the first test: rare enough not to
    cost every instance a second hash or a column.
    """
    if existing.sha256 == content.sha256():
        return True
    if existing.transfer_syntax_uid != content.header.transfer_syntax_uid:
        return False
    stored = Path(dicom_storage().path(existing.storage_key))
    try:
        if _dataset_sha256(stored) == content.dataset_sha256():
            return True
        return _elements(stored) == _elements(content.path)
    except Exception as exc:  # noqa: BLE001 - an unreadable copy is not the same: the policy decides
        logger.error("cannot compare %s with the stored copy %s: %s", content.header.dataset.SOPInstanceUID, existing.storage_key, exc)
        return False


def _elements(path: Path) -> Dataset:
    """The whole dataset decoded, without group lengths (retired, PS3.5 7.2; senders add or drop them)."""
    dataset = dcmread(path, force=True)
    for tag in [tag for tag in dataset.keys() if tag.element == 0]:
        del dataset[tag]
    return dataset


def _dataset_sha256(path: Path, offset: int | None = None) -> str:
    """SHA-256 of a file's bytes after its preamble and File Meta: the dataset as sent."""
    digest = hashlib.sha256()
    with open(path, "rb") as source:
        source.seek(read_file_meta(source)[2] if offset is None else offset)
        while chunk := source.read(CHUNK_SIZE):
            digest.update(chunk)
    return digest.hexdigest()


class NormalizedDicomFile(File):
    """The file as the archive stores it: zeroed preamble, "DICM", File Meta, then the dataset as received.

    The dataset bytes are never re-encoded. A file without File Meta gets one built for it.
    The SHA-256 of exactly these bytes is computed while they are written.
    """

    def __init__(self, path: Path, header: Header):
        super().__init__(None, name=path.name)
        self.path = path
        self.header = header
        head = _file_head(path, header)
        self.prefix = bytes(128) + b"DICM" + _file_meta_bytes(head, header)
        # The file already is what the archive stores (zeroed preamble, its File Meta, the dataset).
        self.stored_as_is = header.has_file_meta and head[: header.meta_offset] == self.prefix[:132]
        self._hash: hashlib._Hash | None = None

    @property
    def size(self) -> int:
        return len(self.prefix) + self.header.file_size - self.header.dataset_offset

    def chunks(self, chunk_size: int | None = None):
        digest = hashlib.sha256(self.prefix)
        yield self.prefix
        with open(self.path, "rb") as source:
            source.seek(self.header.dataset_offset)
            while chunk := source.read(chunk_size or CHUNK_SIZE):
                digest.update(chunk)
                yield chunk
        self._hash = digest

    def sha256(self) -> str:
        """Of the whole file as stored (models.Instance.sha256)."""
        if self._hash is None:
            for _ in self.chunks():
                pass
        return self._hash.hexdigest()

    def dataset_sha256(self) -> str:
        """Of the dataset bytes alone, what two senders of the same instance have in common."""
        return _dataset_sha256(self.path, self.header.dataset_offset)

    def open(self, mode=None):  # noqa: A003 - Django's File API
        return self

    def close(self) -> None:
        pass


def _file_head(path: Path, header: Header) -> bytes:
    """The bytes before the dataset: preamble and File Meta as the file has them."""
    with open(path, "rb") as source:
        return source.read(header.dataset_offset)


def _file_meta_bytes(head: bytes, header: Header) -> bytes:
    if header.has_file_meta:
        return head[header.meta_offset : header.dataset_offset]
    ds = header.dataset
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = ds.SOPClassUID
    meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    meta.TransferSyntaxUID = header.transfer_syntax_uid
    meta.ImplementationClassUID = PYDICOM_IMPLEMENTATION_UID
    meta.ImplementationVersionName = "LUMEN_PACS"
    buffer = BytesIO()
    write_file_meta_info(buffer, meta, enforce_standard=True)
    return buffer.getvalue()


# --- The index rows -------------------------------------------------------------------------


def _index(header: Header, attributes: dict, key: str, content: NormalizedDicomFile, origin: Origin, series=None) -> int:
    """Write the index rows of a stored file in one transaction; returns the instance id.

    ``series``: (series id, study id) if ``lookup`` found the series: the instances of a
    running transfer after its first take the one-statement path.
    """
    values = {
        "storage_key": key,
        "file_size": content.size,
        "sha256": content.sha256(),
        "upload_job_id": origin.upload_job_id,
        "uploaded_by_id": origin.user_id,
        "calling_ae_title": origin.calling_ae_title,
        "peer_address": origin.peer_address,
        **attributes,
    }
    if series is not None and single_statement():
        added = add_to_series(values, series_id=series[0], user_id=origin.user_id, reopen=not origin.internal)
        if added is not None:
            instance_id, study_id, completion_due = added
            if completion_due is not None:
                schedule_completion_check(study_id=study_id, due=completion_due)
            return instance_id
        series = None  # deleted meanwhile: made again below
    with transaction.atomic():
        series_id, study_id, series_created = _series_row(header.dataset, origin, series)
        # Counters first: the series row, then the study row, then the instance, in every path (no deadlock).
        # Lumen's own SR does not make a complete study "received" again (no second webhook).
        completion_due = count_instance(series_id=series_id, study_id=study_id, new_series=series_created, reopen=not origin.internal)
        instance_id = insert_instance({"series_id": series_id, **values})
        if origin.user_id is not None:
            grant_access(user_id=origin.user_id, study_id=study_id)
        if completion_due is not None:
            # The first instance since the study was last complete: one completion check, not one per instance.
            schedule_completion_check(study_id=study_id, due=completion_due)
        if series_created:
            # The study row is locked now, so every committed series is visible here.
            modalities = sorted({m for m in Series.objects.filter(study_id=study_id).values_list("modality", flat=True) if m})
            Study.objects.filter(pk=study_id).update(modalities_in_study="\\".join(modalities))
            # Checked once per new series, not per instance: C-STORE speed is per instance.
            if origin.reading_pool:
                Study.objects.filter(pk=study_id, in_reading_pool=False).update(in_reading_pool=True)
    return instance_id


def _series_row(ds: Dataset, origin: Origin, known: tuple[int, int] | None) -> tuple[int, int, bool]:
    """(series id, study id, created), creating patient, study and series rows as needed."""
    if known is not None:
        return known[0], known[1], False
    patient = _patient(ds)
    study, _ = Study.objects.get_or_create(
        study_instance_uid=str(ds.StudyInstanceUID), defaults={"patient": patient, "in_reading_pool": origin.reading_pool, **study_attributes(ds)}
    )
    series, created = Series.objects.get_or_create(
        series_instance_uid=str(ds.SeriesInstanceUID), defaults={"study": study, **series_attributes(ds)}
    )
    return series.pk, study.pk, created


def _replace(existing: StoredCopy, attributes: dict, key: str, content: NormalizedDicomFile, origin: Origin) -> int:
    """Overwrite policy: point the row at the new file; the old file goes once the change is committed."""
    old_key = existing.storage_key
    with transaction.atomic():
        Instance.objects.filter(pk=existing.id).update(
            storage_key=key,
            file_size=content.size,
            sha256=content.sha256(),
            received_at=timezone.now(),
            upload_job_id=origin.upload_job_id,
            uploaded_by_id=origin.user_id,
            calling_ae_title=origin.calling_ae_title,
            peer_address=origin.peer_address,
            **{name: value for name, value in attributes.items() if name != "sop_instance_uid"},
        )
        transaction.on_commit(lambda: dicom_storage().delete(old_key))
    return existing.id


def _patient(ds: Dataset) -> Patient:
    patient_id = _text(ds, "PatientID", 64)
    issuer = _text(ds, "IssuerOfPatientID", 64)
    if patient_id:
        patient_key = hashlib.sha256(f"{issuer}\x00{patient_id}".encode()).hexdigest()
    else:
        # No PatientID: never merge unrelated anonymous studies into one patient.
        patient_key = hashlib.sha256(f"study\x00{ds.StudyInstanceUID}".encode()).hexdigest()
    name = _text(ds, "PatientName", 324)
    patient, _ = Patient.objects.get_or_create(
        patient_key=patient_key,
        defaults={
            "patient_id": patient_id,
            "issuer_of_patient_id": issuer,
            "patient_name": name,
            "patient_name_search": searchable_name(name),
            "patient_birth_date": parse_da(ds.get("PatientBirthDate")),
            "patient_sex": _text(ds, "PatientSex", 16),
        },
    )
    return patient


def searchable_name(name: str) -> str:
    """PN "Doe^John^^^" → "DOE JOHN": what name searches compare against."""
    return " ".join(name.replace("^", " ").replace("=", " ").upper().split())


def study_attributes(ds: Dataset) -> dict:
    return {
        "study_date": parse_da(ds.get("StudyDate")),
        "study_time": parse_tm(ds.get("StudyTime")),
        "study_description": _text(ds, "StudyDescription", 256),
        "study_id": _text(ds, "StudyID", 16),
        "accession_number": _text(ds, "AccessionNumber", 64),
        "referring_physician_name": _text(ds, "ReferringPhysicianName", 324),
    }


def series_attributes(ds: Dataset) -> dict:
    return {
        "modality": _text(ds, "Modality", 16),
        "series_number": _int(ds.get("SeriesNumber")),
        "series_description": _text(ds, "SeriesDescription", 256),
        "body_part_examined": _text(ds, "BodyPartExamined", 64),
        "series_date": parse_da(ds.get("SeriesDate")),
        "series_time": parse_tm(ds.get("SeriesTime")),
        "frame_of_reference_uid": _text(ds, "FrameOfReferenceUID", 64),
    }


def instance_attributes(header: Header) -> dict:
    """The instance row's values, read from its DICOM JSON: the header is walked once.

    Reading them with ``ds.get`` first converted ~20 elements with pydicom, which the JSON
    writer then had to hand to pydicom again (its fast path reads raw elements only).
    """
    ds = header.dataset
    as_json = dicom_json(ds)
    values = _JsonValues(as_json)
    position = _floats(values["ImagePositionPatient"], 3)
    orientation = _floats(values["ImageOrientationPatient"], 6)
    return {
        "sop_instance_uid": str(ds.SOPInstanceUID),
        "sop_class_uid": str(ds.SOPClassUID),
        "instance_number": _int(values["InstanceNumber"]),
        "transfer_syntax_uid": header.transfer_syntax_uid,
        "rows": _int(values["Rows"]),
        "columns": _int(values["Columns"]),
        "number_of_frames": _int(values["NumberOfFrames"]) or 1,
        "photometric_interpretation": _json_text(values["PhotometricInterpretation"], 16),
        "image_position_patient": position,
        "image_orientation_patient": orientation,
        "pixel_spacing": _floats(values["PixelSpacing"], 2),
        "slice_thickness": _float(values["SliceThickness"]),
        "slice_location": _float(values["SliceLocation"]),
        "slice_position": slice_position(position, orientation),
        "acquisition_time": _json_text(values["AcquisitionTime"], 32),
        "window_center": _float(values["WindowCenter"]),
        "window_width": _float(values["WindowWidth"]),
        "rescale_slope": _float(values["RescaleSlope"]) or 1.0,
        "rescale_intercept": _float(values["RescaleIntercept"]) or 0.0,
        "dicom_json": as_json,
    }


_JSON_KEYS: dict[str, str] = {}  # keyword -> DICOM JSON key ("00200013")


class _JsonValues:
    """``Value`` lists of top-level elements of a DICOM JSON dict, by keyword (None if absent or empty)."""

    def __init__(self, as_json: dict):
        self.as_json = as_json

    def __getitem__(self, keyword: str) -> list | None:
        key = _JSON_KEYS.get(keyword)
        if key is None:
            key = _JSON_KEYS[keyword] = f"{tag_for_keyword(keyword):08X}"
        element = self.as_json.get(key)
        return None if element is None else element.get("Value")


def _json_text(values: list | None, limit: int) -> str:
    """As ``_text``, for a DICOM JSON value list (CS, TM: components joined by a backslash)."""
    if not values:
        return ""
    parts = ("=".join(v.values()) if isinstance(v, dict) else "" if v is None else str(v) for v in values)
    return "\\".join(parts).replace("\x00", "").strip()[:limit]


def dicom_json(ds: Dataset) -> dict:
    """PS3.18 F.2 DICOM JSON of the header with bulk data left out; refuses absurd nesting."""
    try:
        as_json = header_json(ds)
    except RecursionError:
        raise InvalidDicom("too-deep", "sequence nesting is too deep to be a real DICOM object") from None
    check_nesting(as_json)
    return as_json


# --- Value parsing: DICOM text is untrusted; bad values become None, never an exception. ---


def _text(ds: Dataset, keyword: str, limit: int) -> str:
    value = ds.get(keyword)
    if value is None:
        return ""
    if not isinstance(value, str) and hasattr(value, "__iter__") and not hasattr(value, "family_name"):
        value = "\\".join(str(v) for v in value)
    return str(value).replace("\x00", "").strip()[:limit]


def _first(value):
    if value is None or value == "":
        return None
    if isinstance(value, (list, tuple)) or type(value).__name__ == "MultiValue":
        return value[0] if len(value) else None
    return value


def _float(value) -> float | None:
    try:
        value = _first(value)
        return None if value is None else float(value)
    except (TypeError, ValueError):
        return None


def _int(value) -> int | None:
    try:
        value = _first(value)
        return None if value is None else int(float(value))
    except (TypeError, ValueError, OverflowError):
        return None


def _floats(value, count: int) -> list[float] | None:
    try:
        numbers = [float(v) for v in value]
    except (TypeError, ValueError):
        return None
    return numbers if len(numbers) == count else None


def parse_da(value) -> date | None:
    text = str(value or "").strip()
    try:
        return datetime.strptime(text[:8], "%Y%m%d").date() if len(text) >= 8 else None
    except ValueError:
        return None


def parse_tm(value) -> time | None:
    text = str(value or "").strip().replace(":", "")
    if len(text) < 2:
        return None
    try:
        hours, minutes, seconds = int(text[0:2]), int(text[2:4] or 0), int(text[4:6] or 0)
        return time(hours, minutes, min(seconds, 59))
    except ValueError:
        return None
