"""The funnel's per-instance index statements, as precompiled SQL.

Why not the ORM here: building a query costs the ORM ~0.6 ms of CPU per statement and an
Instance INSERT ~1.5 ms (measured on this project's 2-core machine, PostgreSQL), against
~0.07 ms for the same statement through a cursor. The funnel runs these for every instance
a modality sends, so they decide C-STORE throughput. Everything else stays on the ORM.
The SQL is built from the models' own metadata, so a renamed field breaks loudly here.

Round trips count as much as CPU: on a busy machine each one waits for the database process to
be scheduled (~0.3 ms quiet, several ms under load). An instance of a series already known
costs two: ``lookup`` (its copy, if any, and its series in one SELECT) and, on PostgreSQL,
``add_to_series`` (counters, row and access in one statement, which autocommit makes its own
transaction: no BEGIN/COMMIT round trips). Everything else takes the general path.
"""
from __future__ import annotations

from contextlib import nullcontext
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from studies.models import Instance, Series, Study, StudyAccess


@dataclass(frozen=True)
class StoredCopy:
    id: int
    sha256: str  # of the whole stored file (models.Instance.sha256)
    storage_key: str
    transfer_syntax_uid: str


@dataclass(frozen=True)
class Known:
    """What the index already holds for an incoming instance."""

    copy: StoredCopy | None  # a stored instance with the same SOP Instance UID
    series: tuple[int, int] | None  # (series id, study id) of its series


def lookup(sop_instance_uid: str, series_instance_uid: str) -> Known:
    """The stored copy and the known series of an incoming instance, in one round trip."""
    row = _fetchone(_sql()["lookup"], [sop_instance_uid, series_instance_uid])
    copy = StoredCopy(*row[:4]) if row[0] is not None else None
    return Known(copy, (row[4], row[5]) if row[4] is not None else None)


def stored_copy(sop_instance_uid: str) -> StoredCopy | None:
    with connection.cursor() as cursor:
        cursor.execute(_sql()["stored_copy"], [sop_instance_uid])
        row = cursor.fetchone()
    return StoredCopy(*row) if row else None


def single_statement() -> bool:
    """Whether ``add_to_series`` can run here: it needs data-modifying WITH (PostgreSQL)."""
    return connection.vendor == "postgresql"


def add_to_series(values: dict, *, series_id: int, user_id: int | None, reopen: bool) -> tuple[int, int, datetime | None] | None:
    """Index one instance of a known series in one statement: (instance id, study id, due) as
    ``insert_instance`` + ``grant_access`` + ``count_instance`` would give, or None when the
    series is gone (deleted since ``lookup``): then nothing was written.

    Locks in the general path's order, series row then study row then the new instance, so the
    two paths never wait on each other in a cycle. A duplicate SOP Instance UID raises
    IntegrityError and the whole statement is undone.
    """
    now = timezone.now()
    due = now + timedelta(seconds=settings.LUMEN_STUDY_STABLE_SECONDS)
    field = Study._meta.get_field("last_received_at")
    now_db = field.get_db_prep_save(now, connection)
    due_db = field.get_db_prep_save(due, connection) if reopen else None  # as in count_instance
    fields = [f for f in _instance_fields() if f.attname != "series_id"]
    params = [series_id, now_db, due_db, due_db, *_instance_params(fields, values, now)]
    sql = _sql()["add_to_series"]
    if user_id is not None:
        created = StudyAccess._meta.get_field("created_at").get_db_prep_save(now, connection)
        params += [user_id, StudyAccess.Reason.UPLOADED, created]
        sql = _sql()["add_to_series_granting"]
    # Inside a caller's transaction a savepoint keeps a refused row from breaking it; on its
    # own the statement is its transaction.
    with transaction.atomic() if connection.in_atomic_block else nullcontext():
        row = _fetchone(sql, params)
    if row is None:
        return None
    return row[0], row[1], due if row[2] else None


def _fetchone(sql: str, params: list):
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchone()


def study_and_access(study_instance_uid: str, user_id: int) -> tuple[int, bool] | None:
    """(study id, whether the user has an access row to it), or None for a study not in the index."""
    with connection.cursor() as cursor:
        cursor.execute(_sql()["study_and_access"], [user_id, study_instance_uid])
        row = cursor.fetchone()
    return (row[0], bool(row[1])) if row else None


def grant_access(*, user_id: int, study_id: int) -> None:
    """The uploader's access row (StudyAccess), if it is not there yet."""
    now = StudyAccess._meta.get_field("created_at").get_db_prep_save(timezone.now(), connection)
    with connection.cursor() as cursor:
        cursor.execute(_sql()["grant_access"], [user_id, study_id, StudyAccess.Reason.UPLOADED, now])


def insert_instance(values: dict) -> int:
    """INSERT one Instance row from field-name → value; returns its id."""
    params = _instance_params(_instance_fields(), values, timezone.now())
    with connection.cursor() as cursor:
        cursor.execute(_sql()["insert_instance"], params)
        return cursor.fetchone()[0]


def _instance_params(fields, values: dict, now: datetime) -> list:
    return [
        field.get_db_prep_save(now if field.name == "received_at" else values.get(field.attname, field.get_default()), connection)
        for field in fields
    ]


def count_instance(*, series_id: int, study_id: int, new_series: bool, reopen: bool = True) -> datetime | None:
    """Move the counters; the series row is always locked before the study row (no deadlock).

    The same UPDATE opens a completion period (studies/completeness.py) when none is pending
    and ``reopen`` (an instance from outside, not Lumen's own report SR): returns the due time
    it set then, so the caller schedules the one check; else None.
    """
    now = timezone.now()
    due = now + timedelta(seconds=settings.LUMEN_STUDY_STABLE_SECONDS)
    field = Study._meta.get_field("last_received_at")
    now_db, due_db = field.get_db_prep_save(now, connection), field.get_db_prep_save(due, connection)
    if not reopen:
        due_db = None  # COALESCE keeps what is there; the RETURNING comparison is NULL: nothing opened
    with connection.cursor() as cursor:
        cursor.execute(_sql()["count_series"], [series_id])
        cursor.execute(_sql()["count_study"], [1 if new_series else 0, now_db, due_db, study_id, due_db])
        opened = cursor.fetchone()[0]
    return due if opened else None


@cache
def _instance_fields():
    return [f for f in Instance._meta.concrete_fields if not f.primary_key]


@cache
def _sql() -> dict[str, str]:
    q = connection.ops.quote_name
    instance, series, study = Instance._meta.db_table, Series._meta.db_table, Study._meta.db_table
    access = StudyAccess._meta.db_table
    columns = ", ".join(q(f.column) for f in _instance_fields())
    placeholders = ", ".join(["%s"] * len(_instance_fields()))
    # add_to_series: the instance's columns with series_id taken from the locked series row.
    others = [f for f in _instance_fields() if f.attname != "series_id"]
    add_columns = ", ".join([q(Instance._meta.get_field("series").column), *(q(f.column) for f in others)])
    add_values = ", ".join(["s.id", *(["%s"] * len(others))])
    add_to_series = (
        # s, then t (its WHERE reads s), then i (reads s and t): series, study, instance.
        f"WITH s AS (UPDATE {q(series)} SET number_of_series_related_instances = number_of_series_related_instances + 1 "
        f"WHERE id = %s RETURNING id, study_id), "
        f"t AS (UPDATE {q(study)} SET number_of_study_related_instances = number_of_study_related_instances + 1, "
        f"last_received_at = %s, completion_due_at = COALESCE(completion_due_at, %s) "
        f"WHERE id = (SELECT study_id FROM s) RETURNING id, completion_due_at = %s AS opened), "
        f"i AS (INSERT INTO {q(instance)} ({add_columns}) SELECT {add_values} FROM s, t RETURNING id)"
    )
    granting = (
        f", g AS (INSERT INTO {q(access)} (user_id, study_id, reason, created_at) SELECT %s, t.id, %s, %s FROM t "
        f"ON CONFLICT (user_id, study_id) DO NOTHING)"
    )
    answer = " SELECT i.id, t.id, t.opened FROM i, t"
    return {
        "lookup": (
            f"SELECT i.id, i.sha256, i.storage_key, i.transfer_syntax_uid, s.id, s.study_id FROM (SELECT 1) AS one "
            f"LEFT JOIN {q(instance)} i ON i.sop_instance_uid = %s LEFT JOIN {q(series)} s ON s.series_instance_uid = %s"
        ),
        "add_to_series": add_to_series + answer,
        "add_to_series_granting": add_to_series + granting + answer,
        "stored_copy": f"SELECT id, sha256, storage_key, transfer_syntax_uid FROM {q(instance)} WHERE sop_instance_uid = %s",
        "study_and_access": (
            f"SELECT s.id, EXISTS(SELECT 1 FROM {q(access)} a WHERE a.study_id = s.id AND a.user_id = %s) "
            f"FROM {q(study)} s WHERE s.study_instance_uid = %s"
        ),
        # ON CONFLICT DO NOTHING: PostgreSQL and SQLite ≥ 3.24 both have it.
        "grant_access": (
            f"INSERT INTO {q(access)} (user_id, study_id, reason, created_at) VALUES (%s, %s, %s, %s) "
            f"ON CONFLICT (user_id, study_id) DO NOTHING"
        ),
        "insert_instance": f"INSERT INTO {q(instance)} ({columns}) VALUES ({placeholders}) RETURNING id",
        "count_series": (
            f"UPDATE {q(series)} SET number_of_series_related_instances = number_of_series_related_instances + 1 WHERE id = %s"
        ),
        "count_study": (
            f"UPDATE {q(study)} SET number_of_study_related_instances = number_of_study_related_instances + 1, "
            f"number_of_study_related_series = number_of_study_related_series + %s, last_received_at = %s, "
            # COALESCE keeps a pending due time; the comparison says whether this statement set it.
            f"completion_due_at = COALESCE(completion_due_at, %s) WHERE id = %s RETURNING completion_due_at = %s"
        ),
    }
