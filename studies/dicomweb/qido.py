"""QIDO-RS (PS3.18 10.6): search for studies, series and instances.

Answers are ``application/dicom+json`` arrays built from the index; attributes it does not
hold (``includefield``) come from the stored per-instance DICOM JSON, never from the files.
An empty result is ``200 []`` (PS3.18 8.3.3.1 also allows 204; an empty array needs no special
case in clients). Results beyond DICOMWEB_QIDO_MAX_RESULTS are cut with the 299 Warning of
PS3.18 8.3.4.4 (the client asks for the rest with ``offset``).
"""
from __future__ import annotations

import orjson
from django.conf import settings
from django.db.models import F, Func, JSONField, OuterRef, Subquery
from django.http import HttpResponse

from audit import events as audit_events
from studies import selectors
from studies.dicomweb import dicomjson as dj
from studies.dicomweb.auth import DicomwebError, DicomwebView
from studies.dicomweb.matching import INSTANCE, SERIES, STUDY, Query, parse_query
from studies.dicomweb.multipart import request_accept
from studies.models import Instance
from studies.ordering import INSTANCE_ORDER, ordered

JSON_TYPES = ("application/dicom+json", "application/json")
TRUNCATED_WARNING = (
    '299 {service}: "The number of results exceeded the maximum supported by the server. '
    'Additional results can be requested."'
)


class SearchForStudies(DicomwebView):
    def get(self, request):
        studies = selectors.visible_studies(request.user).select_related("patient").only(*STUDY_FIELDS)
        return search(request, STUDY, studies.order_by(F("study_date").desc(nulls_last=True), "-id"))


class SearchForSeries(DicomwebView):
    def get(self, request, study_uid=None):
        series = selectors.visible_series(request.user).select_related("study__patient")
        series = series.only(*SERIES_FIELDS, *(f"study__{name}" for name in STUDY_FIELDS))
        if study_uid is not None:
            # A search inside a study that does not exist, or that this user may not see, finds nothing.
            series = series.filter(study__study_instance_uid=study_uid)
        return search(request, SERIES, series.order_by("study_id", F("series_number").asc(nulls_last=True), "id"), scoped=study_uid)


class SearchForInstances(DicomwebView):
    def get(self, request, study_uid=None, series_uid=None):
        instances = selectors.visible_instances(request.user).select_related("series__study__patient")
        # BitsAllocated is a default return attribute the index has no column for.
        instances = instances.annotate(bits_allocated=StoredElement("00280100"))
        if series_uid is not None:
            instances = ordered(instances.filter(series__series_instance_uid=series_uid, series__study__study_instance_uid=study_uid))
        elif study_uid is not None:
            instances = instances.filter(series__study__study_instance_uid=study_uid)
            instances = instances.order_by(F("series__series_number").asc(nulls_last=True), "series_id", *INSTANCE_ORDER)
        else:
            instances = instances.order_by("series__study_id", F("series__series_number").asc(nulls_last=True), "series_id", *INSTANCE_ORDER)
        scope_level = SERIES if series_uid else STUDY
        return search(request, INSTANCE, instances, scoped=series_uid or study_uid, scope_level=scope_level)


def search(request, level: str, queryset, *, scoped: str | None = None, scope_level: str = STUDY) -> HttpResponse:
    """Parse, match, page and serialize one QIDO-RS request."""
    require_json(request)
    query = parse_query(level, request.GET)
    rows, truncated = page(query, query.apply(queryset), level)
    audit_events.qido_searched(request, level, results=len(rows), scoped=scoped)
    base = dj.studies_url(request)
    above = _levels_above(level, scoped, scope_level)
    # orjson: 100 studies encode in 0.06 ms instead of 1.1 ms.
    response = HttpResponse(orjson.dumps([serialize(row, level, query, base, above) for row in rows]), content_type=dj.MEDIA_DICOM_JSON)
    if truncated:
        response["Warning"] = TRUNCATED_WARNING.format(service=request.get_host())
    return response


def require_json(request) -> None:
    for accepted in request_accept(request):
        if any(accepted.matches(media) for media in JSON_TYPES):
            return
    raise DicomwebError(406, "QIDO-RS answers application/dicom+json (or application/json) only")


def page(query: Query, queryset, level: str) -> tuple[list, bool]:
    maximum = settings.DICOMWEB_QIDO_MAX_RESULTS
    limit = min(query.limit, maximum) if query.limit is not None else maximum
    truncated_by_server = query.limit is None or query.limit > maximum
    queryset = _with_stored_json(queryset, level, query)
    rows = list(queryset[query.offset : query.offset + limit + 1])
    more = len(rows) > limit
    return rows[:limit], more and truncated_by_server


class StoredElement(Func):
    """One attribute of ``Instance.dicom_json``, read by the database.

    Not KeyTransform: Django takes an all-digit key such as "00280100" for an array index.
    """

    output_field = JSONField()

    def __init__(self, tag: str):
        assert len(tag) == 8 and all(c in "0123456789ABCDEF" for c in tag)
        self.tag = tag
        super().__init__(F("dicom_json"))

    def as_sql(self, compiler, connection, **extra):
        sql, params = compiler.compile(self.source_expressions[0])
        if connection.vendor == "postgresql":
            return f"({sql} -> %s)", [*params, self.tag]
        return f"JSON_EXTRACT({sql}, %s)", [*params, f'$."{self.tag}"']


def _levels_above(level: str, scoped: str | None, scope_level: str) -> tuple[str, ...]:
    """Upper-level attributes to add (PS3.18 10.6.3.3): those of the levels the path did not fix."""
    if level == STUDY:
        return ()
    if level == SERIES:
        return () if scoped else (STUDY,)
    if scoped and scope_level == SERIES:
        return ()
    return (SERIES,) if scoped else (STUDY, SERIES)


def _with_stored_json(queryset, level: str, query: Query):
    """Study and series rows borrow one instance's stored JSON when includefield asks beyond the index."""
    if level == INSTANCE:
        return queryset if (query.include_all or query.include) else queryset.defer("dicom_json")
    if not (query.include_all or query.include):
        return queryset
    owner = "series__study" if level == STUDY else "series"
    first = Instance.objects.filter(**{owner: OuterRef("pk")}).order_by("pk").values("dicom_json")[:1]
    return queryset.annotate(stored_json=Subquery(first, output_field=JSONField()))


# --- Serializing ------------------------------------------------------------------------------


def serialize(row, level: str, query: Query, base: str, above: tuple[str, ...]) -> dict:
    if level == STUDY:
        attributes = study_attributes(row, base)
        stored, module = getattr(row, "stored_json", None) or {}, dj.STUDY_MODULE_TAGS
    elif level == SERIES:
        attributes = series_attributes(row, base)
        if STUDY in above:
            attributes = {**study_attributes(row.study, base), **attributes}
        stored, module = getattr(row, "stored_json", None) or {}, dj.SERIES_MODULE_TAGS
    else:
        attributes = instance_attributes(row, base)
        if SERIES in above:
            attributes = {**series_attributes(row.series, base), **attributes}
        if STUDY in above:
            attributes = {**study_attributes(row.series.study, base), **attributes}
        stored, module = (row.dicom_json if (query.include_all or query.include) else {}), None
    if query.include_all:
        for tag, value in stored.items():
            if module is None or tag in module:
                attributes.setdefault(tag, value)
    for tag in query.include:
        if tag not in attributes:
            attributes[tag] = stored.get(tag) or {"vr": dj.vr_of(tag)}
    return dict(sorted(attributes.items()))


# The columns the attributes below read: only these are loaded (no other timestamps to parse).
STUDY_FIELDS = (
    "study_instance_uid", "study_date", "study_time", "accession_number", "referring_physician_name",
    "study_description", "study_id", "modalities_in_study", "number_of_study_related_series",
    "number_of_study_related_instances", "patient__patient_name", "patient__patient_id",
    "patient__issuer_of_patient_id", "patient__patient_birth_date", "patient__patient_sex",
)  # fmt: skip
SERIES_FIELDS = (
    "series_instance_uid", "series_date", "series_time", "modality", "series_description",
    "body_part_examined", "series_number", "number_of_series_related_instances", "study",
)  # fmt: skip


def study_attributes(study, base: str) -> dict:
    """PS3.18 Table 10.6.3-3 study defaults, plus StudyDescription, which every viewer lists."""
    patient = study.patient
    return {
        "00080020": dj.element("DA", study.study_date),
        "00080030": dj.element("TM", study.study_time),
        "00080050": dj.element("SH", study.accession_number),
        "00080056": dj.element("CS", "ONLINE"),
        "00080061": dj.multi("CS", study.modalities_in_study),
        "00080090": dj.element("PN", study.referring_physician_name),
        "00081030": dj.element("LO", study.study_description),
        "00081190": dj.element("UR", dj.study_url(base, study.study_instance_uid)),
        "00100010": dj.element("PN", patient.patient_name),
        "00100020": dj.element("LO", patient.patient_id),
        "00100021": dj.element("LO", patient.issuer_of_patient_id),
        "00100030": dj.element("DA", patient.patient_birth_date),
        "00100040": dj.element("CS", patient.patient_sex),
        "0020000D": dj.element("UI", study.study_instance_uid),
        "00200010": dj.element("SH", study.study_id),
        "00201206": dj.element("IS", study.number_of_study_related_series),
        "00201208": dj.element("IS", study.number_of_study_related_instances),
    }


def series_attributes(series, base: str) -> dict:
    """PS3.18 Table 10.6.3-4 series defaults the index holds."""
    study_uid = series.study.study_instance_uid
    return {
        "00080021": dj.element("DA", series.series_date),
        "00080031": dj.element("TM", series.series_time),
        "00080056": dj.element("CS", "ONLINE"),
        "00080060": dj.element("CS", series.modality),
        "0008103E": dj.element("LO", series.series_description),
        "00081190": dj.element("UR", dj.series_url(base, study_uid, series.series_instance_uid)),
        "00180015": dj.element("CS", series.body_part_examined),
        "0020000D": dj.element("UI", study_uid),
        "0020000E": dj.element("UI", series.series_instance_uid),
        "00200011": dj.element("IS", series.series_number),
        "00201209": dj.element("IS", series.number_of_series_related_instances),
    }


def instance_attributes(instance, base: str) -> dict:
    """PS3.18 Table 10.6.3-5 instance defaults."""
    series = instance.series
    study_uid = series.study.study_instance_uid
    attributes = {
        "00080016": dj.element("UI", instance.sop_class_uid),
        "00080018": dj.element("UI", instance.sop_instance_uid),
        "00080056": dj.element("CS", "ONLINE"),
        "00081190": dj.element("UR", dj.instance_url(base, study_uid, series.series_instance_uid, instance.sop_instance_uid)),
        "0020000D": dj.element("UI", study_uid),
        "0020000E": dj.element("UI", series.series_instance_uid),
        "00200013": dj.element("IS", instance.instance_number),
        "00280010": dj.element("US", instance.rows),
        "00280011": dj.element("US", instance.columns),
    }
    if instance.has_pixels:
        attributes["00280008"] = dj.element("IS", instance.number_of_frames)
        attributes["00280100"] = getattr(instance, "bits_allocated", None) or {"vr": "US"}
    return attributes
