"""C-FIND SCP (PS3.4 C.4.1): Patient Root and Study Root Query/Retrieve information models.

Matching is the one QIDO-RS uses (studies/dicomweb/matching.py, PS3.4 C.2.2.2): single
value, wild card, UID list, date/time range and universal matching. Answers come from the
index and from the per-instance DICOM JSON stored at ingest; no file is opened.

Keys are matched when the index holds them at the query level or above (the relational
behaviour of PS3.4 C.4.1.2.2 that most SCUs assume); any other key is only returned, with
its stored value when one exists and zero-length otherwise (PS3.4 C.4.1.2.3.1: an SCP
returns every requested key it supports, and a zero-length value for the others).
"""
from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import date, time

from django.conf import settings
from django.db import DatabaseError, close_old_connections
from django.db.models import Count, QuerySet
from pydicom import Dataset
from pydicom.datadict import dictionary_VR
from pydicom.tag import Tag
from pynetdicom.sop_class import (
    PatientRootQueryRetrieveInformationModelFind,
    PatientRootQueryRetrieveInformationModelGet,
    PatientRootQueryRetrieveInformationModelMove,
    StudyRootQueryRetrieveInformationModelFind,
    StudyRootQueryRetrieveInformationModelGet,
    StudyRootQueryRetrieveInformationModelMove,
)

from audit import events as audit_events
from studies.dicomweb import matching
from studies.dicomweb.auth import DicomwebError
from studies.dimse import nodes
from studies.dimse.handlers import status
from studies.dimse.limits import peer_label
from studies.models import Instance, Patient, Series, Study
from studies.ordering import INSTANCE_ORDER

logger = logging.getLogger("studies.dimse")

# C-FIND statuses (PS3.4 C.4.1.1.4, Table C.4-1).
PENDING = 0xFF00
CANCELLED = 0xFE00
OUT_OF_RESOURCES = 0xA700
IDENTIFIER_DOES_NOT_MATCH = 0xA900
UNABLE_TO_PROCESS = 0xC000

PATIENT, STUDY, SERIES, IMAGE = "PATIENT", "STUDY", "SERIES", "IMAGE"
PATIENT_ROOT_MODELS = {
    PatientRootQueryRetrieveInformationModelFind,
    PatientRootQueryRetrieveInformationModelMove,
    PatientRootQueryRetrieveInformationModelGet,
}
STUDY_ROOT_MODELS = {
    StudyRootQueryRetrieveInformationModelFind,
    StudyRootQueryRetrieveInformationModelMove,
    StudyRootQueryRetrieveInformationModelGet,
}
QUERY_RETRIEVE_MODELS = PATIENT_ROOT_MODELS | STUDY_ROOT_MODELS
# PS3.4 C.6.1 (Patient Root) has four levels; C.6.2 (Study Root) has no PATIENT level.
LEVELS_OF_MODEL = {**{m: (PATIENT, STUDY, SERIES, IMAGE) for m in PATIENT_ROOT_MODELS}, **{m: (STUDY, SERIES, IMAGE) for m in STUDY_ROOT_MODELS}}

# The QIDO-RS matching level a DIMSE level filters at (patient keys are matched on studies).
MATCHING_LEVEL = {PATIENT: matching.STUDY, STUDY: matching.STUDY, SERIES: matching.SERIES, IMAGE: matching.INSTANCE}
MATCHABLE_AT = {
    PATIENT: {"PatientName", "PatientID", "IssuerOfPatientID", "PatientBirthDate", "PatientSex"},
    STUDY: {k for k, key in matching.KEYS.items() if key.level == matching.STUDY},
    SERIES: {k for k, key in matching.KEYS.items() if key.level in (matching.STUDY, matching.SERIES)},
    IMAGE: set(matching.KEYS),
}
NOT_KEYS = {0x00080005, 0x00080052}  # Specific Character Set, Query/Retrieve Level: not match keys


class QueryError(Exception):
    def __init__(self, code: int, message: str):
        super().__init__(message)
        self.code = code
        self.message = message


def level_of(identifier: Dataset, model: str) -> str:
    level = str(identifier.get("QueryRetrieveLevel", "") or "").strip().upper()
    if level not in LEVELS_OF_MODEL.get(model, ()):
        allowed = ", ".join(LEVELS_OF_MODEL.get(model, ()))
        raise QueryError(IDENTIFIER_DOES_NOT_MATCH, f"Query/Retrieve Level {level or '(none)'} not one of {allowed}")
    return level


def match_values(identifier: Dataset, level: str) -> dict[str, str]:
    """keyword → match value of the keys that filter at ``level`` (universal matching left out)."""
    values = {}
    for element in identifier:
        if element.tag in NOT_KEYS or element.tag.group in (0x0000, 0x0002) or element.VR == "SQ":
            continue
        keyword = element.keyword
        if keyword not in MATCHABLE_AT[level] or element.value in (None, "", b""):
            continue
        value = element.value
        text = "\\".join(str(v) for v in value) if isinstance(value, (list, tuple)) or type(value).__name__ == "MultiValue" else str(value)
        if text.strip():
            values[keyword] = text.strip()
    return values


def matches(level: str, identifier: Dataset) -> QuerySet:
    """The rows of ``level`` matching the identifier's keys (QueryError if a value cannot be matched)."""
    at = MATCHING_LEVEL[level]
    try:
        conditions = [matching.condition(at, keyword, value) for keyword, value in match_values(identifier, level).items()]
    except DicomwebError as exc:
        raise QueryError(UNABLE_TO_PROCESS, exc.message) from None
    if level == PATIENT:
        studies = Study.objects.all()
        for condition in conditions:
            studies = studies.filter(condition)
        return (
            Patient.objects.filter(pk__in=studies.values("patient_id"))
            .annotate(
                studies_count=Count("studies", distinct=True),
                series_count=Count("studies__series", distinct=True),
                instances_count=Count("studies__series__instances", distinct=True),
            )
            .order_by("patient_name", "id")
        )
    if level == STUDY:
        rows = Study.objects.select_related("patient").order_by("study_date", "id")
    elif level == SERIES:
        rows = Series.objects.select_related("study__patient").order_by("study_id", "series_number", "id")
    else:
        rows = (
            Instance.objects.select_related("series__study__patient")
            .defer("dicom_json")
            .order_by("series__study_id", "series_id", *INSTANCE_ORDER)
        )
    for condition in conditions:
        rows = rows.filter(condition)
    return rows


def _patient_values(patient: Patient) -> dict:
    return {
        "PatientName": patient.patient_name,
        "PatientID": patient.patient_id,
        "IssuerOfPatientID": patient.issuer_of_patient_id,
        "PatientBirthDate": patient.patient_birth_date,
        "PatientSex": patient.patient_sex,
    }


def _study_values(study: Study) -> dict:
    return {
        **_patient_values(study.patient),
        "StudyInstanceUID": study.study_instance_uid,
        "StudyDate": study.study_date,
        "StudyTime": study.study_time,
        "AccessionNumber": study.accession_number,
        "StudyID": study.study_id,
        "StudyDescription": study.study_description,
        "ReferringPhysicianName": study.referring_physician_name,
        "ModalitiesInStudy": study.modalities,
        "NumberOfStudyRelatedSeries": study.number_of_study_related_series,
        "NumberOfStudyRelatedInstances": study.number_of_study_related_instances,
    }


def _series_values(series: Series) -> dict:
    return {
        **_study_values(series.study),
        "SeriesInstanceUID": series.series_instance_uid,
        "Modality": series.modality,
        "SeriesNumber": series.series_number,
        "SeriesDescription": series.series_description,
        "BodyPartExamined": series.body_part_examined,
        "SeriesDate": series.series_date,
        "SeriesTime": series.series_time,
        "FrameOfReferenceUID": series.frame_of_reference_uid,
        "NumberOfSeriesRelatedInstances": series.number_of_series_related_instances,
    }


def index_values(level: str, row) -> dict:
    """What the index holds for one matching row, by keyword."""
    if level == PATIENT:
        return {
            **_patient_values(row),
            "NumberOfPatientRelatedStudies": row.studies_count,
            "NumberOfPatientRelatedSeries": row.series_count,
            "NumberOfPatientRelatedInstances": row.instances_count,
        }
    if level == STUDY:
        return _study_values(row)
    if level == SERIES:
        return _series_values(row)
    return {
        **_series_values(row.series),
        "SOPInstanceUID": row.sop_instance_uid,
        "SOPClassUID": row.sop_class_uid,
        "InstanceNumber": row.instance_number,
        "Rows": row.rows,
        "Columns": row.columns,
        "NumberOfFrames": row.number_of_frames,
    }


def stored_header(level: str, row) -> dict:
    """The DICOM JSON of one instance under the row: the source of keys the index has no column for."""
    if level == IMAGE:
        instances = Instance.objects.filter(pk=row.pk)
    elif level == SERIES:
        instances = Instance.objects.filter(series=row)
    elif level == STUDY:
        instances = Instance.objects.filter(series__study=row)
    else:
        instances = Instance.objects.filter(series__study__patient=row)
    return instances.order_by("id").values_list("dicom_json", flat=True).first() or {}


def response_plan(identifier: Dataset) -> list[tuple]:
    """(tag, VR, keyword) of each key to answer, worked out once per C-FIND rather than per match:
    walking the identifier and looking up keywords and VRs was a third of the cost of an answer."""
    plan = []
    for element in identifier:
        tag = element.tag
        if tag.group in (0x0000, 0x0002) or tag == 0x00080005:
            continue
        plan.append((tag, _vr(tag, element.VR), element.keyword))
    return plan


def response(level: str, row, identifier: Dataset, plan: list[tuple] | None = None) -> Dataset:
    """One pending answer: every key of the identifier, with this row's value or zero-length."""
    known = index_values(level, row)
    header = None
    answer = Dataset()
    answer.add_new(0x00080005, "CS", "ISO_IR 192")  # UTF-8: names are stored as Unicode (PS3.5 6.1.2.3)
    for tag, vr, keyword in plan if plan is not None else response_plan(identifier):
        if tag == 0x00080052:
            answer.add_new(tag, "CS", level)
        elif keyword in known:
            _set(answer, tag, vr, known[keyword])
        else:
            if header is None:
                header = stored_header(level, row)
            _set_from_json(answer, tag, vr, header.get(f"{int(tag):08X}"))
    answer.add_new(0x00080054, "AE", settings.DICOM_AE_TITLE)  # Retrieve AE Title: where to C-MOVE/C-GET it from (PS3.4 C.4.1.1.3.2)
    return answer


def _set(answer: Dataset, tag, vr: str, value) -> None:
    if isinstance(value, date):
        value = value.strftime("%Y%m%d")
    elif isinstance(value, time):
        value = value.strftime("%H%M%S.%f") if value.microsecond else value.strftime("%H%M%S")
    elif value is None:
        value = ""
    vr = _vr(tag, vr)
    if vr == "SQ":
        value = []
    answer.add_new(tag, vr, value)


def _set_from_json(answer: Dataset, tag, vr: str, element: dict | None) -> None:
    if not element or ("Value" not in element):
        _set(answer, tag, vr, None)
        return
    try:
        decoded = Dataset.from_json({f"{int(tag):08X}": element})
        answer[tag] = decoded[tag]
    except Exception:  # a value the JSON cannot rebuild: answer zero-length rather than fail the query
        _set(answer, tag, vr, None)


def _vr(tag, vr: str) -> str:
    if vr and vr not in ("UN",):
        return vr
    try:
        return dictionary_VR(Tag(tag)).split(" or ")[0]
    except KeyError:
        return "UN"


def handle_find(event) -> Iterator[tuple]:
    """C-FIND (PS3.4 C.4.1.3.1): one Pending (0xFF00) answer per match, then Success."""
    assoc = event.assoc
    try:
        close_old_connections()
        if not nodes.rights_of(assoc).query:
            nodes.refuse(assoc, "C-FIND", "this node may not query")
            audit_events.find_answered(assoc, "", matches=0, refused="not authorized")
            yield status(nodes.NOT_AUTHORIZED, "not authorized to query this archive"), None
            return
        try:
            identifier = event.identifier
            level = level_of(identifier, event.request.AffectedSOPClassUID)
            rows = matches(level, identifier)
        except QueryError as exc:
            logger.warning("C-FIND from %s refused with 0x%04X: %s", peer_label(assoc), exc.code, exc.message)
            yield status(exc.code, exc.message), None
            return
        except (ValueError, AttributeError, TypeError) as exc:  # an identifier pydicom cannot decode
            logger.warning("C-FIND from %s: undecodable identifier: %s", peer_label(assoc), exc)
            yield status(IDENTIFIER_DOES_NOT_MATCH, "the identifier cannot be decoded"), None
            return
        count = 0
        plan = response_plan(identifier)
        for row in rows.iterator(chunk_size=200):
            # PS3.4 C.4.1.2.3: after C-CANCEL, answer Cancel (0xFE00) and stop.
            if event.is_cancelled:
                logger.info("C-FIND from %s cancelled after %d matches", peer_label(assoc), count)
                yield CANCELLED, None
                return
            yield PENDING, response(level, row, identifier, plan)
            count += 1
        logger.info("C-FIND from %s at %s level: %d matches", peer_label(assoc), level, count)
        audit_events.find_answered(assoc, level, matches=count)
        yield 0x0000, None
    except DatabaseError as exc:
        logger.error("C-FIND from %s: the archive database failed: %s", peer_label(assoc), exc)
        yield status(OUT_OF_RESOURCES, "out-of-resources: the archive database is unavailable"), None
    finally:
        try:
            close_old_connections()
        except DatabaseError:
            pass
