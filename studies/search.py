"""The study search behind the study list: criteria in, the visible matching studies out,
newest first, one page at a time.

Matching follows DICOM attribute matching (PS3.4 C.2.2.2): ``*`` matches any run of
characters and ``?`` exactly one (wildcard matching, C.2.2.2.4); a name is compared
case-insensitively and without its PN component separators (PS3.5 6.2: ``^`` and ``=``),
which is what ``Patient.patient_name_search`` holds.
"""
from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from django.db.models import F, Lookup, Q, QuerySet
from django.db.models.lookups import Exact, In

from studies.ingest import searchable_name
from studies.models import Patient, Study
from studies.selectors import granted_study_keys, visible_studies

PAGE_SIZE = 50
# Counting every match of a broad search over a large archive costs more than the page itself,
# so the count stops this many pages past the one shown ("page 3 of 8+").
COUNT_PAGES_AHEAD = 5

# A Modality is a CS value (PS3.5 6.2): upper-case letters, digits, space and underscore, ≤ 16 chars.
MODALITY_RE = re.compile(r"^[A-Z0-9_ ]{1,16}$")

# Patient criteria matching at most this many patients are resolved to their ids first.
PATIENT_LOOKUP_MAX = 3000
# Someone who sees at most this many studies through access rows (referrers, patients) is
# searched by those rows' study keys (studies.selectors.granted_study_keys).
GRANTED_LOOKUP_MAX = 5000

STUDY_ORDER = (F("study_date").desc(nulls_last=True), F("id").desc())


@dataclass(frozen=True)
class StudyCriteria:
    patient_name: str = ""
    patient_id: str = ""
    patient_birth_date: date | None = None
    study_date_from: date | None = None
    study_date_to: date | None = None
    modalities: Sequence[str] = ()  # any of these
    accession_number: str = ""
    study_description: str = ""


def search_studies(*, user, criteria: StudyCriteria) -> QuerySet[Study]:
    """The studies ``user`` may see that match every given criterion, newest study date first.
    (Patient criteria are looked up at once; the studies themselves are a lazy queryset.)"""
    studies = visible_studies(user).select_related("patient")
    granted = granted_study_keys(user, at_most=GRANTED_LOOKUP_MAX)
    if granted is not None:
        # The same studies as the rule's access rows, which PostgreSQL now fetches by key.
        studies = studies.filter(AnyOf(F("pk"), granted))
    patient_match = Q()
    if criteria.patient_name:
        patient_match &= name_matches("patient_name_search", criteria.patient_name)
    if criteria.patient_id:
        patient_match &= value_matches("patient_id", criteria.patient_id)
    if criteria.patient_birth_date:
        patient_match &= Q(patient_birth_date=criteria.patient_birth_date)
    if patient_match:
        studies = _of_patients(studies, Patient.objects.filter(patient_match))
    if criteria.study_date_from:
        studies = studies.filter(study_date__gte=criteria.study_date_from)
    if criteria.study_date_to:
        studies = studies.filter(study_date__lte=criteria.study_date_to)
    if criteria.modalities:
        studies = studies.filter(modality_in_study(criteria.modalities))
    if criteria.accession_number:
        studies = studies.filter(value_matches("accession_number", criteria.accession_number))
    if criteria.study_description:
        studies = studies.filter(study_description__icontains=criteria.study_description)
    return studies.order_by(*STUDY_ORDER)


def _of_patients(studies: QuerySet[Study], patients: QuerySet[Patient]) -> QuerySet[Study]:
    # A join lets PostgreSQL walk the studies newest first and look up each one's patient,
    # thousands of lookups when few patients match. Those few are fetched first instead; a
    # pattern matching very many ("S*") keeps the join, where that walk soon finds a page.
    ids = list(patients.values_list("pk", flat=True)[: PATIENT_LOOKUP_MAX + 1])
    if len(ids) <= PATIENT_LOOKUP_MAX:
        return studies.filter(AnyOf(F("patient_id"), ids))
    return studies.filter(patient__in=patients)


# --- Matching ------------------------------------------------------------------------------


class Wildcard(Lookup):
    """``lhs`` matches the DICOM wildcard pattern ``rhs`` (``*`` any run, ``?`` one character),
    case-sensitively on every backend: LIKE on PostgreSQL, GLOB on SQLite (whose LIKE ignores case)."""

    lookup_name = "dicom_wildcard"
    prepare_rhs = False

    def as_sql(self, compiler, connection):
        lhs, lhs_params = self.process_lhs(compiler, connection)
        return f"{lhs} LIKE %s ESCAPE '\\'", [*lhs_params, _like_pattern(self.rhs)]

    def as_sqlite(self, compiler, connection):
        lhs, lhs_params = self.process_lhs(compiler, connection)
        return f"{lhs} GLOB %s", [*lhs_params, _glob_pattern(self.rhs)]


class AnyOf(Lookup):
    """``lhs`` is one of ``rhs``: a list of integer keys, or a one-column queryset of them.

    On PostgreSQL a list is one array parameter, ``= ANY(%s)``: Django's ``__in`` writes a
    placeholder per value, and for the thousands of ids the search resolves first, building and
    quoting them took longer than the query. A queryset becomes ``= ANY(ARRAY(subquery))``,
    evaluated once: the planner cannot guess that array's length and probes the primary key with
    it, where for ``IN (subquery)`` it read the whole table or walked it newest first.
    """

    lookup_name = "any_of"
    prepare_rhs = False

    def as_postgresql(self, compiler, connection):
        lhs, lhs_params = self.process_lhs(compiler, connection)
        if isinstance(self.rhs, (list, tuple)):
            # The array as its text literal: psycopg quotes one string at C speed, where it
            # adapted a list of 3,000 ints element by element in Python (3 ms a query).
            return f"{lhs} = ANY(%s::bigint[])", [*lhs_params, "{" + ",".join(str(int(v)) for v in self.rhs) + "}"]
        rhs, rhs_params = self.process_rhs(compiler, connection)
        return f"{lhs} = ANY(ARRAY{rhs})", [*lhs_params, *rhs_params]

    def as_sql(self, compiler, connection):
        return compiler.compile(In(self.lhs, list(self.rhs) if isinstance(self.rhs, (list, tuple)) else self.rhs))


def _like_pattern(pattern: str) -> str:
    out = []
    for char in pattern:
        if char == "*":
            out.append("%")
        elif char == "?":
            out.append("_")
        elif char in "%_\\":
            out.append("\\" + char)
        else:
            out.append(char)
    return "".join(out)


def _glob_pattern(pattern: str) -> str:
    # GLOB has no escape character: a literal metacharacter goes in a one-character class.
    return "".join("[" + char + "]" if char in "[]" else char for char in pattern)


def has_wildcards(value: str) -> bool:
    return "*" in value or "?" in value


def name_matches(field: str, query: str) -> Q:
    """Patient name search: "DOE*", "*JOHN*", "D?E^J*"; without a wildcard, a name starting with the text."""
    pattern = searchable_name(query)
    if not has_wildcards(pattern):
        pattern += "*"
    if pattern.endswith("*") and not has_wildcards(pattern[:-1]):
        # The plain prefix case goes through startswith so PostgreSQL uses the btree pattern index.
        return Q(**{f"{field}__startswith": pattern[:-1]})
    return Q(Wildcard(F(field), pattern))


def value_matches(field: str, query: str) -> Q:
    """An identifier (PatientID, AccessionNumber): exact (single value matching, C.2.2.2.1) or wildcard."""
    query = query.strip()
    if has_wildcards(query):
        return Q(Wildcard(F(field), query))
    return Q(**{field: query})


def modality_in_study(modalities: Sequence[str]) -> Q:
    """ModalitiesInStudy is a backslash-separated list; a modality matches one whole element of it."""
    return Q(AnyModality(F("modalities_in_study"), tuple(modalities)))


class AnyModality(Lookup):
    """``lhs``, a backslash-separated ModalitiesInStudy, has one of the modalities ``rhs`` as a whole element.

    PostgreSQL compares the split value with ``&&``, which the GIN index of migration 0008 serves
    (the LIKE patterns below scanned the table: ~20 ms for a rare modality over 100,000 studies).
    Elsewhere each modality is an exact value or a LIKE/GLOB pattern per position in the list.
    """

    lookup_name = "any_modality"
    prepare_rhs = False

    def as_postgresql(self, compiler, connection):
        lhs, lhs_params = self.process_lhs(compiler, connection)
        # The same expression as the index (0008_study_modalities_index), or PostgreSQL won't use it.
        return f"string_to_array({lhs}::text, '\\') && %s::text[]", [*lhs_params, list(self.rhs)]

    def as_sql(self, compiler, connection):
        parts, params = [], []
        for modality in self.rhs:
            for element in (Exact(self.lhs, modality), *(Wildcard(self.lhs, p) for p in (f"{modality}\\*", f"*\\{modality}", f"*\\{modality}\\*"))):
                sql, element_params = compiler.compile(element)
                parts.append(sql)
                params.extend(element_params)
        return "(" + " OR ".join(parts) + ")", params


# --- Paging --------------------------------------------------------------------------------


@dataclass(frozen=True)
class ResultPage:
    """One page of results. ``total`` is exact when ``total_is_exact``, otherwise a lower bound."""

    items: list
    number: int
    per_page: int
    total: int
    total_is_exact: bool

    @property
    def num_pages(self) -> int:
        return max(1, math.ceil(self.total / self.per_page))

    @property
    def has_previous(self) -> bool:
        return self.number > 1

    @property
    def has_next(self) -> bool:
        return self.number < self.num_pages

    @property
    def previous_page_number(self) -> int:
        return self.number - 1

    @property
    def next_page_number(self) -> int:
        return self.number + 1

    @property
    def start_index(self) -> int:
        return (self.number - 1) * self.per_page + 1 if self.items else 0

    @property
    def end_index(self) -> int:
        return (self.number - 1) * self.per_page + len(self.items)

    def page_range(self, around: int = 3) -> list[int | None]:
        """Page numbers to link: the first, the last known, and those around this one; None marks a gap."""
        wanted = {1, self.num_pages, *range(self.number - around, self.number + around + 1)}
        numbers = sorted(n for n in wanted if 1 <= n <= self.num_pages)
        out: list[int | None] = []
        for n in numbers:
            if out and n - out[-1] > 1:
                out.append(None)
            out.append(n)
        return out


def page_of(queryset: QuerySet, number: int, *, per_page: int = PAGE_SIZE, pages_ahead: int = COUNT_PAGES_AHEAD) -> ResultPage:
    """Page ``number`` (1-based; past the end means the last page) with a count capped a few pages ahead.

    A page that is not full is the last one, so its total needs no count: the searches that find
    a patient or an accession number cost one query.
    """
    number = max(1, number)
    items = _rows(queryset, (number - 1) * per_page, per_page)
    if 0 < len(items) < per_page or (number == 1 and not items):
        return ResultPage(items, number, per_page, (number - 1) * per_page + len(items), True)
    cap = (number + pages_ahead) * per_page + 1
    total = queryset.select_related(None).order_by().values("pk")[:cap].count()
    exact = total < cap
    if not items and total:  # past the end: the last page (the count is exact, it ended before this page)
        number = math.ceil(total / per_page)
        items = _rows(queryset, (number - 1) * per_page, per_page)
    elif not items:
        number = 1
    return ResultPage(items, number, per_page, total if exact else cap - 1, exact)


def _rows(queryset: QuerySet, offset: int, limit: int) -> list:
    """``limit`` rows of ``queryset`` from ``offset``, in its order. The page's keys are chosen in a
    subquery without the related tables, which are joined to those few rows only: joined first,
    PostgreSQL could merge-join every patient with every match before sorting and cutting (~15 ms)."""
    if not queryset.query.select_related:
        return list(queryset[offset : offset + limit])
    keys = queryset.values("pk")[offset : offset + limit]
    rows = queryset.model._base_manager.filter(pk__in=keys)  # the criteria once, in the subquery
    rows.query.select_related = queryset.query.select_related
    if queryset.query.order_by:  # else the model's default ordering, as in the subquery
        rows = rows.order_by(*queryset.query.order_by)
    return list(rows)
