"""WADO-RS metadata (PS3.18 10.4.1.1.2): the per-instance DICOM JSON stored at ingest, plus the
Available Transfer Syntax UID and a BulkDataURI for the pixels (PS3.18 8.7.3.3, F.2.6). Answering
never opens a file.

On PostgreSQL the database prints the stored JSON as text and the two added attributes are
spliced in as text: no header is decoded and re-encoded in Python. Printing is still the cost
(~20 ms of PostgreSQL CPU for the 1.4 MB of a 140-slice CT), so a series' answer is kept once
built (``SeriesMetadata``) and served again while the rows it came from are unchanged: a viewer
asks for it each time it opens the series.
"""
from __future__ import annotations

import hashlib
import json
import logging
import threading
from collections import OrderedDict
from collections.abc import Hashable
from functools import cache, partial

from django.db import DatabaseError, IntegrityError, connection, transaction
from django.db.models import BooleanField, CharField, F, Func, TextField
from django.db.models.expressions import RawSQL
from django.db.models.functions import Cast
from django.http import Http404, HttpResponseNotModified, StreamingHttpResponse
from django.utils.http import parse_etags

from audit import events as audit_events
from studies import selectors
from studies.dicomweb import dicomjson as dj
from studies.dicomweb.frames import MEDIA_TYPES
from studies.dicomweb.qido import StoredElement, require_json
from studies.models import Instance, Series, SeriesMetadata, Study
from studies.ordering import ordered
from studies.prepared import PreparedQuery

logger = logging.getLogger(__name__)

PIXEL_DATA = "7FE00010"
FLUSH_AT = 1024 * 1024
# Larger series stream as they are read (flat memory) and are not kept: 2,000 CT headers are ~20 MB.
KEPT_INSTANCES_AT_MOST = 2000
# The BulkDataURI key as json.dumps prints it. Kept answers hold URIs relative to /dicomweb/studies
# and get the request's base after this; inside a JSON string its quotes would be escaped, so it
# matches only the keys this module wrote (stored headers hold no bulk data URIs, dicomjson.py).
URI_KEY = '"BulkDataURI": "'
# Answers kept in each web process's memory too (the latest per series): ~45 CT series of 140 slices.
RECENT_BYTES = 64 * 1024 * 1024


def metadata_response(request, instances) -> StreamingHttpResponse:
    """The metadata of ``instances`` (a visible queryset), built as it streams."""
    require_json(request)
    audit_events.wado_retrieved(request, "metadata")
    base = dj.studies_url(request)
    if connection.vendor == "postgresql":
        body = _joined_array(_metadata_texts(_printed(instances).iterator(chunk_size=200), base))
    else:
        rows = instances.values_list(
            "dicom_json", "transfer_syntax_uid", "rows", "columns",
            "sop_instance_uid", "series__series_instance_uid", "series__study__study_instance_uid",
        )  # fmt: skip
        body = _json_array(metadata(row, base) for row in rows.iterator(chunk_size=200))
    response = StreamingHttpResponse(body)
    response["Content-Type"] = dj.MEDIA_DICOM_JSON
    return response


def kept_series_metadata(request, study_uid: str, series_uid: str) -> StreamingHttpResponse | None:
    """A visible series' metadata from the kept answer, built and kept first if it is stale;
    None where nothing is kept (not PostgreSQL, or a series too large to hold whole)."""
    if connection.vendor != "postgresql":
        return None
    shape = selectors.visibility_shape(request.user)
    found = [] if shape is selectors.SEES_NOTHING else _kept_version.rows(shape, user_id=request.user.pk, study=study_uid, series=series_uid)
    if not found or _instances_in(found[0][1]) == 0:
        raise Http404("No such series")
    series_id, current, kept_version = found[0]
    if _instances_in(current) > KEPT_INSTANCES_AT_MOST:
        return None
    require_json(request)
    base = dj.studies_url(request)
    if _etag(current, base) in parse_etags(request.headers.get("If-None-Match", "")):
        # The viewer's copy is current (RFC 9110 13.1.2): no body, still one audit row.
        audit_events.wado_retrieved(request, "metadata")
        return _revalidated(HttpResponseNotModified(), current, base)
    data, built = _recent.get(series_id, (current, base)), None
    if data is None:
        body = _kept_body(series_id, current) if kept_version == current else None
        if body is None:
            body, current = built = _built(series_id)
            if body is None:
                raise Http404("No such series")  # emptied since
        data = body.replace(URI_KEY, URI_KEY + json.dumps(base)[1:-1]).encode()
        _recent.put(series_id, (current, base), data)
    audit_events.wado_retrieved(request, "metadata")
    response = StreamingHttpResponse(_sent_then_kept(data, series_id, built) if built else [data])
    response["Content-Type"] = dj.MEDIA_DICOM_JSON
    response["Content-Length"] = str(len(data))
    return _revalidated(response, current, base)


def _etag(version: str, base: str) -> str:
    # Hashed: the version's row xmins are nobody's business; the host is in it, as in the body.
    return '"' + hashlib.sha256(f"{version}|{base}".encode()).hexdigest()[:32] + '"'


def _revalidated(response, version: str, base: str):
    """A browser may keep the answer but must ask again each time (no-cache): visibility and the
    version are checked on every request, and an unchanged answer costs a 304 instead of 1.4 MB."""
    response["ETag"] = _etag(version, base)
    response["Cache-Control"] = "private, no-cache"
    return response


def keep_study_metadata(*, study_id: int) -> int:
    """Build and keep the answer of each series of the study that has none at its current version
    (series up to KEPT_INSTANCES_AT_MOST); how many were built. Run when a study completes
    (tasks.keep_metadata), so that the first viewer gets a kept answer (~10 ms) instead of a
    build (~45 ms); safe to run twice or late: what is current is skipped."""
    if connection.vendor != "postgresql":
        return 0
    series = (
        Series.objects.filter(study_id=study_id)
        .annotate(current=RawSQL(_version_sql().format(series_id='"studies_series"."id"'), ()))
        .values_list("pk", "current", "metadata_cache__version")
    )
    built = 0
    for series_id, current, kept_version in series:
        if current != kept_version and 0 < _instances_in(current) <= KEPT_INSTANCES_AT_MOST:
            body, version = _built(series_id)
            if body is not None:
                _keep(series_id, version, body)
                built += 1
    return built


def on_study_completed(sender, study, **kwargs) -> None:
    """studies.signals.study_completed → build the study's metadata in a task, once the completion commits."""
    if connection.vendor == "postgresql":
        transaction.on_commit(partial(_enqueue_keep, study.pk), robust=True)


def _enqueue_keep(study_id: int) -> None:
    from studies.tasks import keep_metadata

    keep_metadata.delay(study_id)


def _kept_version_query(role: str | None, *, user_id: int, study: str, series: str):
    """The series if the person may see it: its id, its current version, the kept answer's version."""
    return (
        selectors.visible_series(selectors.stand_in(role, user_id))
        .filter(series_instance_uid=series, study__study_instance_uid=study)
        .annotate(current=RawSQL(_version_sql().format(series_id='"studies_series"."id"'), ()))
        .values_list("pk", "current", "metadata_cache__version")
    )


_kept_version = PreparedQuery(_kept_version_query, user_id=int, study=str, series=str)


def _kept_body(series_id: int, version: str) -> str | None:
    return SeriesMetadata.objects.filter(series_id=series_id, version=version).values_list("body", flat=True).first()


class _Recent:
    """The latest answers as sent, in this process's memory up to ``budget`` bytes (the least
    recently used go first): a hit costs no transfer from the database and no splicing. Each
    request still reads the version (and the visibility) from the database first."""

    def __init__(self, budget: int):
        self._budget, self._size = budget, 0
        self._answers: OrderedDict[int, tuple[Hashable, bytes]] = OrderedDict()  # one per series
        self._lock = threading.Lock()

    def get(self, series_id: int, key: Hashable) -> bytes | None:
        with self._lock:
            found = self._answers.get(series_id)
            if found is None or found[0] != key:
                return None
            self._answers.move_to_end(series_id)
            return found[1]

    def put(self, series_id: int, key: Hashable, data: bytes) -> None:
        if len(data) > self._budget:
            return
        with self._lock:
            old = self._answers.pop(series_id, None)
            self._size += len(data) - (len(old[1]) if old else 0)
            self._answers[series_id] = (key, data)
            while self._size > self._budget:
                _, (_, dropped) = self._answers.popitem(last=False)
                self._size -= len(dropped)


_recent = _Recent(RECENT_BYTES)


@cache
def _version_sql() -> str:
    """What a kept answer was built from: the ``xmin`` (last writing transaction) of the series row,
    of its study row and of every instance row, and how many instances. Any insert, update or
    delete of one of them, by any code path, gives another version; reading it costs an index
    scan of the series' instance rows (no header is read). ``{series_id}``: the series' id."""
    series, study, instance = (f'"{model._meta.db_table}"' for model in (Series, Study, Instance))
    return (
        "(SELECT concat_ws('-', s.xmin::text, st.xmin::text, rows.n, rows.digest) "
        f"FROM {series} s JOIN {study} st ON st.id = s.study_id, LATERAL ("
        "SELECT count(*) AS n, md5(string_agg(i.id::text || ':' || i.xmin::text, ',' ORDER BY i.id)) AS digest "
        f"FROM {instance} i WHERE i.series_id = s.id) rows "
        "WHERE s.id = {series_id})"
    )


def _instances_in(version: str | None) -> int:
    return int(version.split("-")[2]) if version else 0


def _built(series_id: int) -> tuple[str | None, str]:
    """The series' answer with relative BulkDataURIs, and the version it was built from: read by
    the same statement, so the two agree whatever is written meanwhile."""
    version = RawSQL(_version_sql().format(series_id="%s"), (series_id,))  # uncorrelated: evaluated once
    rows = list(_printed(ordered(Instance.objects.filter(series_id=series_id)), version=version))
    if not rows:
        return None, ""
    return "[" + ",".join(_metadata_texts((row[:-1] for row in rows), "")) + "]", rows[0][-1]


def _sent_then_kept(data: bytes, series_id: int, built: tuple[str, str]):
    # Kept once the answer is out (Content-Length: the client has it all): writing 1.35 MB took
    # ~13 ms of the request. Not kept if the client goes away first; the next request builds again.
    yield data
    try:
        _keep(series_id, built[1], built[0])
    except DatabaseError:
        logger.warning("series %s: metadata not kept", series_id, exc_info=True)


def _keep(series_id: int, version: str, body: str) -> None:
    try:
        with transaction.atomic():
            with connection.cursor() as cursor:
                # A cache: a server crash that loses the row costs one rebuild, not worth a WAL flush.
                cursor.execute("SET LOCAL synchronous_commit TO OFF")
            SeriesMetadata.objects.bulk_create(
                [SeriesMetadata(series_id=series_id, version=version, body=body)],
                update_conflicts=True, unique_fields=["series"], update_fields=["version", "body"],
            )  # fmt: skip
    except IntegrityError:
        pass  # the series was deleted meanwhile


def metadata(row: tuple, base: str) -> dict:
    """The stored JSON of one instance plus where its pixel data is (PS3.18 8.7.3.3, F.2.6)."""
    stored, syntax, rows, columns, sop_uid, series_uid, study_uid = row
    attributes = dict(stored)
    attributes["00083002"] = dj.element("UI", syntax)  # Available Transfer Syntax UID
    if rows and columns:
        attributes[PIXEL_DATA] = _pixel_data(syntax, stored.get("00280100"), dj.instance_url(base, study_uid, series_uid, sop_uid))
    return dict(sorted(attributes.items()))


def _pixel_data(syntax: str, bits_allocated: dict | None, instance_url: str) -> dict:
    """The Pixel Data attribute of a metadata answer: its VR and where to fetch it (F.2.6)."""
    bits = ((bits_allocated or {}).get("Value") or [16])[0]
    return {"vr": "OB" if syntax in MEDIA_TYPES or bits <= 8 else "OW", "BulkDataURI": f"{instance_url}/bulkdata/{PIXEL_DATA}"}


def _json_array(items):
    yield b"["
    for position, item in enumerate(items):
        yield (b"," if position else b"") + json.dumps(item, separators=(",", ":")).encode()
    yield b"]"


def _joined_array(texts, flush_at: int = FLUSH_AT):
    """``[`` + the JSON texts joined by commas + ``]``, in writes of about ``flush_at`` bytes."""
    pending, size = ["["], 1
    for position, text in enumerate(texts):
        if position:
            pending.append(",")
        pending.append(text)
        size += len(text) + 1
        if size >= flush_at:
            yield "".join(pending).encode()
            pending, size = [], 0
    pending.append("]")
    yield "".join(pending).encode()


def _printed(instances, **extra):
    """PostgreSQL: rows of each instance's stored JSON as the database prints it, with what
    ``_metadata_texts`` needs to splice the added attributes in (and ``extra`` last)."""
    return instances.annotate(
        text=Cast("dicom_json", TextField()),
        after=NextKeys("00083002", PIXEL_DATA),
        has_own=HasAnyKey("00083002", PIXEL_DATA),
        bits=StoredElement("00280100"),
        **extra,
    ).values_list(
        "text", "after", "has_own", "bits", "transfer_syntax_uid", "rows", "columns",
        "sop_instance_uid", "series__series_instance_uid", "series__study__study_instance_uid", *extra,
    )  # fmt: skip


def _metadata_texts(rows, base: str):
    """Each instance's stored JSON as PostgreSQL printed it, with the two attributes ``metadata``
    adds spliced in as text at their place in tag order (PS3.18 F.2.2 wants the attributes
    sorted). No decoding and re-encoding of every header in Python: a 140-slice series is 1.4 MB
    of JSON. A header the splice cannot place safely takes the exact path instead."""
    for text, after, has_own, bits, syntax, n_rows, columns, sop_uid, series_uid, study_uid in rows:
        after_syntax, after_pixels = (key or None for key in after.split(","))
        spliced = None if has_own else _splice(text, after_syntax, '"00083002": ' + json.dumps(dj.element("UI", syntax)))
        if spliced is not None and n_rows and columns:
            pixels = _pixel_data(syntax, bits, dj.instance_url(base, study_uid, series_uid, sop_uid))
            spliced = _splice(spliced, after_pixels, f'"{PIXEL_DATA}": ' + json.dumps(pixels))
        if spliced is None:
            stored = json.loads(text)
            spliced = json.dumps(metadata((stored, syntax, n_rows, columns, sop_uid, series_uid, study_uid), base))
        yield spliced


def _splice(text: str, before_key: str | None, member: str) -> str | None:
    """``member`` inserted into the JSON object ``text`` before its top-level key ``before_key``
    (at the end when None); None when that key's first occurrence is not at the top level."""
    if before_key is None:
        return "{" + member + "}" if text == "{}" else text[:-1] + ", " + member + "}"
    at = text.find(f'"{before_key}": ')
    # Top level: one brace open and no bracket, counted in C (a brace inside a string value
    # makes this refuse, and the caller takes the exact path).
    if at < 1 or text.count("{", 0, at) - text.count("}", 0, at) != 1 or text.count("[", 0, at) != text.count("]", 0, at):
        return None
    return text[:at] + member + ", " + text[at:]


class NextKeys(Func):
    """PostgreSQL: for each tag, the smallest top-level key of ``dicom_json`` above it ("" if none),
    comma-separated: one pass over the keys for both (two passes cost ~5 ms more for 140 CT headers)."""

    output_field = CharField()

    def __init__(self, *tags: str):
        self.tags = tags
        super().__init__(F("dicom_json"))

    def as_sql(self, compiler, connection, **extra):
        sql, params = compiler.compile(self.source_expressions[0])
        firsts = ", ',', ".join("min(k) FILTER (WHERE k > %s)" for _ in self.tags)
        return f"(SELECT concat({firsts}) FROM jsonb_object_keys({sql}) AS k)", [*params, *self.tags]


class HasAnyKey(Func):
    """PostgreSQL: does ``dicom_json`` hold any of these top-level keys?"""

    output_field = BooleanField()

    def __init__(self, *tags: str):
        self.tags = list(tags)
        super().__init__(F("dicom_json"))

    def as_sql(self, compiler, connection, **extra):
        sql, params = compiler.compile(self.source_expressions[0])
        return f"jsonb_exists_any({sql}, %s)", [*params, self.tags]
