"""QIDO-RS query parameters (PS3.18 8.3.4) turned into a filter on the index.

Matching follows PS3.4 C.2.2.2: single value, wild card (``*`` and ``?``, string VRs only),
range (DA/TM ``a-b``, ``-b``, ``a-``), UID list (``\\`` or ``,`` separated) and universal
matching (an empty value only asks for the attribute to be returned). Person names are
compared case-insensitively, which PS3.4 C.2.2.2.1 leaves to the implementation; with
``fuzzymatching=true`` each word of the value may also match the start of any name
component, in any order (``john`` finds ``DOE^JOHN``).

Only attributes the index holds can be matched; any other parameter is refused (400) with
a message instead of being silently ignored, so a client never mistakes an unfiltered
list for a filtered one.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime, time

from django.db.models import F, Lookup, Q, QuerySet
from django.db.models.lookups import In

from studies.dicomweb.auth import DicomwebError
from studies.dicomweb.dicomjson import keyword_of, tag_of
from studies.ingest import searchable_name
from studies.models import Patient, Series
from studies.search import PATIENT_LOOKUP_MAX, AnyOf

STUDY, SERIES, INSTANCE = "study", "series", "instance"
LEVELS = (STUDY, SERIES, INSTANCE)
RESERVED = {"limit", "offset", "fuzzymatching", "includefield", "accept"}  # accept: PS3.18 8.3.3.1


@dataclass(frozen=True)
class Key:
    """An attribute that can be matched: where it lives in the index and how it compares."""

    keyword: str
    vr: str
    level: str
    field: str  # path from the model of ``level``


KEYS = {
    key.keyword: key
    for key in (
        Key("StudyInstanceUID", "UI", STUDY, "study_instance_uid"),
        Key("StudyDate", "DA", STUDY, "study_date"),
        Key("StudyTime", "TM", STUDY, "study_time"),
        Key("AccessionNumber", "SH", STUDY, "accession_number"),
        Key("ModalitiesInStudy", "CS", STUDY, "modalities_in_study"),
        Key("ReferringPhysicianName", "PN", STUDY, "referring_physician_name"),
        Key("StudyID", "SH", STUDY, "study_id"),
        Key("StudyDescription", "LO", STUDY, "study_description"),
        Key("PatientName", "PN", STUDY, "patient__patient_name"),
        Key("PatientID", "LO", STUDY, "patient__patient_id"),
        Key("IssuerOfPatientID", "LO", STUDY, "patient__issuer_of_patient_id"),
        Key("PatientBirthDate", "DA", STUDY, "patient__patient_birth_date"),
        Key("PatientSex", "CS", STUDY, "patient__patient_sex"),
        Key("SeriesInstanceUID", "UI", SERIES, "series_instance_uid"),
        Key("Modality", "CS", SERIES, "modality"),
        Key("SeriesNumber", "IS", SERIES, "series_number"),
        Key("SeriesDescription", "LO", SERIES, "series_description"),
        Key("BodyPartExamined", "CS", SERIES, "body_part_examined"),
        Key("SeriesDate", "DA", SERIES, "series_date"),
        Key("SeriesTime", "TM", SERIES, "series_time"),
        Key("FrameOfReferenceUID", "UI", SERIES, "frame_of_reference_uid"),
        Key("SOPInstanceUID", "UI", INSTANCE, "sop_instance_uid"),
        Key("SOPClassUID", "UI", INSTANCE, "sop_class_uid"),
        Key("InstanceNumber", "IS", INSTANCE, "instance_number"),
    )
}

# How the model of a query level reaches the model of a key's level.
PREFIX = {
    (STUDY, STUDY): "",
    (SERIES, STUDY): "study__",
    (SERIES, SERIES): "",
    (INSTANCE, STUDY): "series__study__",
    (INSTANCE, SERIES): "series__",
    (INSTANCE, INSTANCE): "",
}


@dataclass
class Query:
    level: str
    conditions: list[Q] = field(default_factory=list)
    limit: int | None = None
    offset: int = 0
    fuzzy: bool = False
    include: list[str] = field(default_factory=list)  # tags, in the order asked
    include_all: bool = False

    def apply(self, queryset: QuerySet) -> QuerySet:
        for condition in self.conditions:
            queryset = queryset.filter(condition)
        return queryset


def parse_query(level: str, params) -> Query:
    """Read a QueryDict of QIDO-RS parameters for ``level``; DicomwebError(400) says what is wrong."""
    query = Query(level)
    query.fuzzy = _boolean(params, "fuzzymatching")
    query.limit = _count(params, "limit")
    query.offset = _count(params, "offset") or 0
    for value in params.getlist("includefield"):
        for name in (v.strip() for v in value.split(",")):
            if name.lower() == "all":
                query.include_all = True
            elif name:
                query.include.append(_tag(name, "includefield"))
    for name in params:
        if name in RESERVED:
            continue
        tag = _tag(name, "query parameter")
        for value in params.getlist(name):
            if value == "":
                query.include.append(tag)  # universal matching: return the attribute (PS3.4 C.2.2.2.3)
            else:
                query.conditions.append(_condition(level, tag, value, query.fuzzy))
    return query


def _tag(attribute: str, what: str) -> str:
    if "." in attribute:
        raise DicomwebError(400, f"{what} {attribute!r}: matching inside sequences is not supported")
    tag = tag_of(attribute)
    if tag is None:
        raise DicomwebError(
            400, f"unknown {what} {attribute!r}: expected limit, offset, fuzzymatching, includefield, a DICOM keyword or a tag"
        )
    return tag


def _boolean(params, name: str) -> bool:
    value = params.get(name, "false").lower()
    if value not in {"true", "false"}:
        raise DicomwebError(400, f"{name} must be true or false, not {value!r}")
    return value == "true"


def _count(params, name: str) -> int | None:
    value = params.get(name)
    if value is None:
        return None
    if not value.isdigit():
        raise DicomwebError(400, f"{name} must be a non-negative integer, not {value!r}")
    return int(value)


def condition(level: str, keyword: str, value: str) -> Q:
    """The filter for one attribute's match value at ``level``, PS3.4 C.2.2.2 rules; shared with
    the DIMSE C-FIND/C-MOVE/C-GET SCP (studies/dimse/find.py). DicomwebError(400) if it cannot match."""
    return _condition(level, tag_of(keyword), value, fuzzy=False)


def _condition(level: str, tag: str, value: str, fuzzy: bool) -> Q:
    keyword = keyword_of(tag)
    key = KEYS.get(keyword)
    if key is None or (level, key.level) not in PREFIX:
        allowed = ", ".join(k.keyword for k in KEYS.values() if (level, k.level) in PREFIX)
        raise DicomwebError(400, f"{keyword} cannot be matched at the {level} level; matching keys: {allowed}")
    path = PREFIX[(level, key.level)] + key.field
    if key.keyword == "ModalitiesInStudy":
        study_pk = PREFIX[(level, STUDY)] + "pk"
        return _any_of(_values(value), lambda v: Q(**{f"{study_pk}__in": Series.objects.filter(_string("modality", v)).values("study_id")}))
    if key.vr == "UI":
        return _uids(path, value)
    if key.vr == "DA":
        return _range(path, value, _date)
    if key.vr == "TM":
        return _range(path, value, _time)
    if key.vr == "IS":
        return _integer(path, value)
    if key.vr == "PN":
        return _person_name(key, path, value, fuzzy)
    if key.vr == "CS":
        return _any_of(_values(value), lambda v: _string(path, v))
    return _string(path, value)


def _values(value: str) -> list[str]:
    return [v.strip() for v in re.split(r"[\\,]", value) if v.strip()]


def _any_of(values: list[str], condition) -> Q:
    combined = Q()
    for value in values:
        combined |= condition(value)
    return combined


def _uids(path: str, value: str) -> Q:
    uids = _values(value)
    if any(c in uid for uid in uids for c in "*?"):
        raise DicomwebError(400, "wild cards cannot be used with UIDs (PS3.4 C.2.2.2.4); give a list instead")
    return Q(**{f"{path}__in": uids})


def _has_wildcards(value: str) -> bool:
    return "*" in value or "?" in value


def _pattern(value: str) -> str:
    """A DICOM wild card value as an anchored regular expression (PS3.4 C.2.2.2.4)."""
    return "^" + "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in value) + "$"


def _string(path: str, value: str) -> Q:
    if value.strip("*") == "":
        return Q()  # "*" matches everything, including an empty value
    if _has_wildcards(value):
        return Q(**{f"{path}__regex": _pattern(value)})
    return Q(**{path: value})


def _person_name(key: Key, path: str, value: str, fuzzy: bool) -> Q:
    if value.strip("*") == "":
        return Q()
    if key.keyword == "PatientName":
        # The index keeps the name upper-cased with components split by spaces (ingest.searchable_name).
        column = path.replace("patient_name", "patient_name_search")
        wanted = searchable_name(value)
    else:
        column, wanted = path, value.upper().replace("^", " ").strip()
    if fuzzy:
        # Every word of the value starts some component of the name, in any order.
        regexes = ["(^|[ ^])" + _pattern(word)[1:-1] for word in wanted.split()]
        if key.keyword == "PatientName":
            return _of_patients(path, Q(*[Q(patient_name_search__iregex=regex) for regex in regexes]))
        return Q(*[Q(**{f"{column}__iregex": regex}) for regex in regexes])
    if key.keyword == "PatientName":
        if not _has_wildcards(wanted):
            return Q(**{column: wanted})
        return _of_patients(path, Q(patient_name_search__regex=_pattern(wanted)))
    # Referring physician: the raw PN, "^" and spaces treated alike, any case.
    regex = _pattern(wanted).replace(r"\ ", r"[ ^]+")
    return Q(**{f"{column}__iregex": regex})


def _of_patients(path: str, patient_match: Q) -> Q:
    """Rows whose patient matches ``patient_match``; ``path`` is the row's path to ``patient_name``.

    A join lets PostgreSQL walk the studies newest first (QIDO's order) and look up each one's
    patient: thousands of lookups for a name pattern that few patients match, ~100 ms at 100,000
    studies. Those few patients are fetched first instead (an index range scan for ``DOE*``), as
    studies/search.py does; a pattern matching very many keeps the join.
    """
    ids = list(Patient.objects.filter(patient_match).values_list("pk", flat=True)[: PATIENT_LOOKUP_MAX + 1])
    owner = path[: -len("__patient_name")]  # "patient", "study__patient", "series__study__patient"
    if len(ids) <= UNSIZED_AT_MOST:
        return Q(AnyOfUnsized(F(owner), ids))
    if len(ids) <= PATIENT_LOOKUP_MAX:
        return Q(AnyOf(F(owner), ids))
    return Q(**{f"{owner}__in": Patient.objects.filter(patient_match)})


# Up to this many patients, their studies are fetched by patient and sorted (AnyOfUnsized).
UNSIZED_AT_MOST = 500


class AnyOfUnsized(Lookup):
    """``lhs`` is one of the integer keys ``rhs``, in an array whose length PostgreSQL cannot see
    (``= ANY(ARRAY(SELECT unnest(...)))``).

    Knowing that a few hundred patients have ~600 of 100,000 studies, the planner walks the study
    date index newest first for QIDO's first page, betting the matches are spread evenly: 20,000
    rows read for WILL* (24-46 ms at load 4). Not knowing, it fetches those studies by patient
    and sorts them (6-8 ms). Past a few hundred patients the walk is as good or better (measured:
    ~2,000 patients, 23-35 ms either way), so larger lists are one sized array (search.AnyOf).
    """

    lookup_name = "any_of_unsized"
    prepare_rhs = False

    def as_postgresql(self, compiler, connection):
        lhs, lhs_params = self.process_lhs(compiler, connection)
        keys = "{" + ",".join(str(int(key)) for key in self.rhs) + "}"
        return f"{lhs} = ANY(ARRAY(SELECT unnest(%s::bigint[])))", [*lhs_params, keys]

    def as_sql(self, compiler, connection):
        return compiler.compile(In(self.lhs, list(self.rhs)))


def _integer(path: str, value: str) -> Q:
    try:
        return Q(**{f"{path}__in": [int(v) for v in _values(value)]})
    except ValueError:
        raise DicomwebError(400, f"{value!r} is not an integer (IS)") from None


def _range(path: str, value: str, parse) -> Q:
    """Single value or range matching for DA and TM (PS3.4 C.2.2.2.5)."""
    if "-" not in value:
        low = parse(value, end=False)
        high = parse(value, end=True)
        return Q(**{path: low}) if low == high else Q(**{f"{path}__range": (low, high)})
    first, _, second = value.partition("-")
    if not first and not second:
        raise DicomwebError(400, f"{value!r} is not a range")
    condition = Q()
    if first:
        condition &= Q(**{f"{path}__gte": parse(first, end=False)})
    if second:
        condition &= Q(**{f"{path}__lte": parse(second, end=True)})
    return condition


def _date(text: str, *, end: bool) -> date:
    text = text.strip()
    for pattern in ("%Y%m%d", "%Y.%m.%d"):  # the second is the ACR-NEMA form PS3.5 still mentions
        try:
            return datetime.strptime(text, pattern).date()
        except ValueError:
            continue
    raise DicomwebError(400, f"{text!r} is not a date (DA, YYYYMMDD)")


def _time(text: str, *, end: bool) -> time:
    """HH, HHMM, HHMMSS or HHMMSS.FFFFFF; a partial time covers its whole span when it ends a range."""
    text = text.strip().replace(":", "")
    match = re.fullmatch(r"(\d\d)(\d\d)?(\d\d)?(?:\.(\d{1,6}))?", text)
    if not match:
        raise DicomwebError(400, f"{text!r} is not a time (TM, HHMMSS)")
    hours, minutes, seconds, fraction = match.groups()
    try:
        return time(
            int(hours),
            int(minutes) if minutes else (59 if end else 0),
            int(seconds) if seconds else (59 if end else 0),
            int(fraction.ljust(6, "0")) if fraction else (999999 if end and not seconds else 0),
        )
    except ValueError:
        raise DicomwebError(400, f"{text!r} is not a valid time") from None
