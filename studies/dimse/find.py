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
from collections.abc import Generator, Iterator
from dataclasses import dataclass
from datetime import date, time
from itertools import islice

from django.conf import settings
from django.db import DatabaseError, close_old_connections, connection, transaction
from django.db.models import Count, F, QuerySet
from pydicom import Dataset
from pydicom.datadict import dictionary_VR
from pydicom.tag import Tag
from pynetdicom.dsutils import encode
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
from studies.dimse.encoding import IdentifierEncoder, Unencodable
from studies.dimse.handlers import status
from studies.dimse.limits import peer_label
from studies.dimse.stream import PendingResponses
from studies.models import Instance, Patient, Series, Study
from studies.ordering import INSTANCE_ORDER
from studies.search import AnyOf

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
ANSWER_CHARSET = "ISO_IR 192"  # UTF-8: names are stored as Unicode (PS3.5 6.1.2.3)


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
        rows = Study.objects.order_by("study_date", "id")
    elif level == SERIES:
        rows = Series.objects.order_by("study_id", "series_number", "id")
    else:
        rows = Instance.objects.order_by("series__study_id", "series_id", *INSTANCE_ORDER)
    for condition in conditions:
        rows = rows.filter(condition)
    return rows


# What the index holds, table by table: DICOM keyword → column.
PATIENT_COLUMNS = {
    "PatientName": "patient_name",
    "PatientID": "patient_id",
    "IssuerOfPatientID": "issuer_of_patient_id",
    "PatientBirthDate": "patient_birth_date",
    "PatientSex": "patient_sex",
}
PATIENT_COUNTS = {  # annotations of the PATIENT level rows (matches())
    "NumberOfPatientRelatedStudies": "studies_count",
    "NumberOfPatientRelatedSeries": "series_count",
    "NumberOfPatientRelatedInstances": "instances_count",
}
STUDY_COLUMNS = {
    "StudyInstanceUID": "study_instance_uid",
    "StudyDate": "study_date",
    "StudyTime": "study_time",
    "AccessionNumber": "accession_number",
    "StudyID": "study_id",
    "StudyDescription": "study_description",
    "ReferringPhysicianName": "referring_physician_name",
    "ModalitiesInStudy": "modalities_in_study",  # backslash-separated: the DICOM encoding of its values
    "NumberOfStudyRelatedSeries": "number_of_study_related_series",
    "NumberOfStudyRelatedInstances": "number_of_study_related_instances",
}
SERIES_COLUMNS = {
    "SeriesInstanceUID": "series_instance_uid",
    "Modality": "modality",
    "SeriesNumber": "series_number",
    "SeriesDescription": "series_description",
    "BodyPartExamined": "body_part_examined",
    "SeriesDate": "series_date",
    "SeriesTime": "series_time",
    "FrameOfReferenceUID": "frame_of_reference_uid",
    "NumberOfSeriesRelatedInstances": "number_of_series_related_instances",
}
INSTANCE_COLUMNS = {
    "SOPInstanceUID": "sop_instance_uid",
    "SOPClassUID": "sop_class_uid",
    "InstanceNumber": "instance_number",
    "Rows": "rows",
    "Columns": "columns",
    "NumberOfFrames": "number_of_frames",
}


@dataclass(frozen=True)
class Table:
    model: type
    parent: str | None  # the foreign key to the next table up
    columns: dict[str, str]


# The tables an answer at each level draws on, the level's own first, then its ancestors.
TABLES = {
    PATIENT: (Table(Patient, None, PATIENT_COLUMNS | PATIENT_COUNTS),),
    STUDY: (Table(Study, "patient_id", STUDY_COLUMNS), Table(Patient, None, PATIENT_COLUMNS)),
    SERIES: (
        Table(Series, "study_id", SERIES_COLUMNS),
        Table(Study, "patient_id", STUDY_COLUMNS),
        Table(Patient, None, PATIENT_COLUMNS),
    ),
    IMAGE: (
        Table(Instance, "series_id", INSTANCE_COLUMNS),
        Table(Series, "study_id", SERIES_COLUMNS),
        Table(Study, "patient_id", STUDY_COLUMNS),
        Table(Patient, None, PATIENT_COLUMNS),
    ),
}
INDEX_KEYWORDS = {level: {k for table in tables for k in table.columns} for level, tables in TABLES.items()}
CHUNK = 1000  # rows per fetch (and per look-up of their ancestors)
FIRST_CHUNK = 50  # rows of the first fetch (_chunks)


def index_rows(level: str, rows: QuerySet, keywords: set[str]) -> Iterator[dict]:
    """keyword → index value of each row of ``rows`` (and "pk"), in its order, for ``keywords``.

    A row's ancestors (a study's patient, ...) are looked up by primary key, once per chunk,
    rather than joined: for a name wild card PostgreSQL hashed the whole patient table for the
    join (12 ms at 60,000 patients) where 600 index look-ups take 1 ms.
    """
    tables = TABLES[level]
    depth = max((i for i, table in enumerate(tables) if keywords & table.columns.keys()), default=0)
    own, ancestors = tables[0], tables[1 : depth + 1]
    names = [k for k in own.columns if k in keywords]
    link = [own.parent] if ancestors else []
    for chunk in _chunks(rows.values_list("pk", *link, *(own.columns[k] for k in names))):
        found = []  # per ancestor table: pk → (parent pk, values)
        parents = {row[1] for row in chunk} if link else set()
        for i, table in enumerate(ancestors):
            found.append(_by_pk(table, parents, keywords, with_parent=i + 1 < len(ancestors)))
            parents = {parent for parent, _ in found[i].values()}
        for row in chunk:
            values = dict(zip(names, row[1 + len(link) :]))
            values["pk"] = row[0]
            parent = row[1] if link else None
            for table_rows in found:
                parent, more = table_rows[parent]
                values.update(more)
            yield values


def _chunks(rows: QuerySet) -> Iterator[list[tuple]]:
    """The rows, a chunk at a time, from one execution of the query.

    On PostgreSQL a server-side cursor inside a transaction: the memory stays bounded, and the
    planner plans for every row (cursor_tuple_fraction=1). Outside a transaction Django
    declares the cursor WITH HOLD, which reads the whole result before the first fetch; and a
    first ``LIMIT CHUNK + 1`` try made PostgreSQL walk the study date index for a 1,000-hit
    name wild card (9 ms), then run the query again. The first fetch is small so the first
    answers leave while the rest is read. The transaction is read-only and gives every
    answer one snapshot.
    """
    if connection.vendor != "postgresql":
        rows_left = rows.iterator(chunk_size=CHUNK)
        while chunk := list(islice(rows_left, CHUNK)):
            yield chunk
        return
    sql, params = rows.query.sql_with_params()
    with transaction.atomic(), connection.chunked_cursor() as cursor:
        cursor.execute(sql, params)
        size = FIRST_CHUNK
        while chunk := cursor.fetchmany(size):
            yield chunk
            size = CHUNK


def _by_pk(table: Table, pks: set, keywords: set[str], with_parent: bool) -> dict:
    names = [k for k in table.columns if k in keywords]
    link = [table.parent] if with_parent else []
    rows = table.model.objects.filter(AnyOf(F("pk"), list(pks))).values_list("pk", *link, *(table.columns[k] for k in names))
    return {row[0]: (row[1] if link else None, dict(zip(names, row[1 + len(link) :]))) for row in rows}


def stored_header(level: str, pk: int) -> dict:
    """The DICOM JSON of one instance under the row ``pk``: the source of keys the index has no column for."""
    if level == IMAGE:
        instances = Instance.objects.filter(pk=pk)
    elif level == SERIES:
        instances = Instance.objects.filter(series=pk)
    elif level == STUDY:
        instances = Instance.objects.filter(series__study=pk)
    else:
        instances = Instance.objects.filter(series__study__patient=pk)
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


def index_encoder(level: str, plan: list[tuple], transfer_syntax) -> IdentifierEncoder | None:
    """An encoder writing every answer from index values alone; None when a key needs the stored
    header, or the context's transfer syntax is not Little Endian (then pydicom writes each answer)."""
    if not transfer_syntax.is_little_endian or transfer_syntax.is_deflated:
        return None
    encoder = IdentifierEncoder(explicit_vr=not transfer_syntax.is_implicit_VR)
    encoder.constant(0x00080005, "CS", ANSWER_CHARSET)
    encoder.constant(0x00080054, "AE", settings.DICOM_AE_TITLE)
    try:
        for tag, vr, keyword in plan:
            if tag == 0x00080052:
                encoder.constant(tag, "CS", level)
            elif keyword in INDEX_KEYWORDS[level]:
                encoder.value(tag, vr, keyword)
            elif tag != 0x00080054:
                return None
    except Unencodable:
        return None
    return encoder.freeze()


def response(level: str, known: dict, plan: list[tuple]) -> Dataset:
    """One pending answer: every key of the plan, with this row's value or zero-length
    (``known``: the row's index values, from index_rows)."""
    header = None
    answer = Dataset()
    answer.add_new(0x00080005, "CS", ANSWER_CHARSET)
    for tag, vr, keyword in plan:
        if tag == 0x00080052:
            answer.add_new(tag, "CS", level)
        elif keyword in known:
            _set(answer, tag, vr, known[keyword])
        else:
            if header is None:
                header = stored_header(level, known["pk"])
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
        count = yield from _answer(event, level, rows, identifier)
        if count is None:
            return
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


def _answer(event, level: str, rows: QuerySet, identifier: Dataset) -> Generator[tuple, None, int | None]:
    """Send one Pending response per match; the number sent, or None if the C-FIND ended early.

    The responses go out through stream.PendingResponses rather than one yield each: pynetdicom
    would encode a command set, a Dataset and two PDUs per match. Only a final status is yielded.
    """
    assoc, context = event.assoc, event.context
    plan = response_plan(identifier)
    encoder = index_encoder(level, plan, context.transfer_syntax)
    keywords = {keyword for _, _, keyword in plan}
    answers = PendingResponses(assoc, context.context_id, event.request)
    for values in index_rows(level, rows, keywords):
        # PS3.4 C.4.1.2.3: after C-CANCEL, answer Cancel (0xFE00) and stop; responses not yet
        # handed to the DUL are dropped.
        if event.is_cancelled:
            answers.discard()
            logger.info("C-FIND from %s cancelled after %d matches", peer_label(assoc), answers.count)
            yield CANCELLED, None
            return None
        if encoder is not None:
            identifier_bytes = encoder.encode(values)
        else:
            ts = context.transfer_syntax
            identifier_bytes = encode(response(level, values, plan), ts.is_implicit_VR, ts.is_little_endian, ts.is_deflated)
        if not answers.add(identifier_bytes):
            return None  # aborted, or the peer asked to release: nothing more to say
    if not answers.flush():
        return None
    return answers.count
