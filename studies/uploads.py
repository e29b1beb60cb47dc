"""Web uploads: a job receives batches of files and ZIPs, and a Celery task ingests them while
the rest is still arriving.

Every file is spooled under ``SPOOL_DIR/uploads/<job id>/`` with a server-generated name (the
client's path is only ever shown back to the client), recorded as an UploadItem, and fed to the
one ingest funnel by ``upload_process``. Items are claimed with a conditional UPDATE, so any
number of tasks may work on one job, and running a task twice does no harm. The job's counts
are always derived from its items.
"""
from __future__ import annotations

import logging
import shutil
import uuid
from datetime import timedelta
from functools import partial
from pathlib import Path

from django.conf import settings
from django.core.files.move import file_move_safe
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.db.models import Count, Exists, F, OuterRef
from django.http import Http404
from django.urls import NoReverseMatch, reverse
from django.utils import timezone

from audit import events as audit_events
from studies import sources
from studies.ingest import Origin, ingest_file
from studies.models import UploadItem, UploadJob
from studies.selectors import visible_studies
from studies.zipsafe import ZipRejected, expand_zip, human_size, is_zip

logger = logging.getLogger(__name__)

Status = UploadItem.Status
FINAL = (Status.STORED, Status.DUPLICATE, Status.REJECTED, Status.SKIPPED)
# An expanded ZIP brings up to this many tasks (counting the one expanding it) onto its entries.
MAX_PARALLEL_TASKS = 4
ENTRIES_PER_EXTRA_TASK = 16


class UploadRefused(Exception):
    """A batch the job cannot take; the message is for the user."""

    status_code = 400


class UploadTooLarge(UploadRefused):
    status_code = 413


class UploadClosed(UploadRefused):
    status_code = 409


# --- Reads ------------------------------------------------------------------------------------


def upload_job_for(user, job_id) -> UploadJob:
    """The user's own job; anybody else's answers exactly like a missing one."""
    try:
        return UploadJob.objects.get(pk=job_id, owner_id=user.pk)
    except (UploadJob.DoesNotExist, ValueError):
        raise Http404("No such upload") from None


def upload_room(job: UploadJob) -> int:
    """Bytes the job may still receive under LUMEN_UPLOAD_MAX_BYTES."""
    return max(settings.LUMEN_UPLOAD_MAX_BYTES - job.bytes_received, 0)


def upload_room_for(user, job_id) -> int:
    """The room left in the user's own job; 0 for anybody else's or a missing one."""
    if not user.is_authenticated:
        return 0
    job = UploadJob.objects.filter(pk=job_id, owner_id=user.pk).only("bytes_received").first()
    return upload_room(job) if job else 0


def too_large_message() -> str:
    limit = human_size(settings.LUMEN_UPLOAD_MAX_BYTES)
    return f"Upload refused: one upload may hold at most {limit}. Send the rest as a new upload."


def upload_progress(*, job: UploadJob, user) -> dict:
    """Where the job stands, counted from its items; once done, the per-file summary too."""
    counts = dict(job.items.values_list("status").annotate(n=Count("id")).order_by())
    expanded = counts.pop(Status.EXPANDED, 0)  # a ZIP counts through its entries
    progress = {
        "id": str(job.id),
        "status": job.status,
        "upload_complete": job.upload_complete,
        "bytes_received": job.bytes_received,
        "max_bytes": settings.LUMEN_UPLOAD_MAX_BYTES,
        "files": {"total": sum(counts.values()), "done": sum(counts.get(s, 0) for s in FINAL)},
        "counts": {status: counts.get(status, 0) for status in (*FINAL, Status.PENDING, Status.PROCESSING)},
        "zips_expanded": expanded,
        "created_at": job.created_at.isoformat(),
        "finished_at": job.finished_at.isoformat() if job.finished_at else None,
    }
    if job.status == UploadJob.Status.DONE:
        progress["items"] = [
            {"name": name, "status": status, "reason": reason, "study_instance_uid": study}
            for name, status, reason, study in job.items.exclude(status=Status.EXPANDED)
            .order_by("id")
            .values_list("name", "status", "reason", "study_instance_uid")
        ]
        progress["studies"] = _studies_of(job, user)
    return progress


def _studies_of(job: UploadJob, user) -> list[dict]:
    uids = job.items.filter(status__in=[Status.STORED, Status.DUPLICATE]).values("study_instance_uid")
    # Only studies the user may see: an "already stored" file may belong to someone else's study.
    studies = visible_studies(user).filter(study_instance_uid__in=uids).select_related("patient").order_by("id")
    return [
        {
            "study_instance_uid": study.study_instance_uid,
            "description": study.study_description,
            "patient_name": study.patient.patient_name,
            "study_date": study.study_date.isoformat() if study.study_date else None,
            "url": study_url(study.study_instance_uid),
        }
        for study in studies
    ]


def study_url(study_instance_uid: str) -> str:
    try:
        return reverse("study-detail", args=[study_instance_uid])
    except NoReverseMatch:
        return f"/studies/{study_instance_uid}/"


# --- Writes: the web side ---------------------------------------------------------------------


def job_folder(job_id) -> Path:
    return Path(settings.SPOOL_DIR) / "uploads" / str(job_id)


def spool_ready() -> None:
    """Request bodies stream to FILE_UPLOAD_TEMP_DIR, under the spool: make sure it exists."""
    Path(settings.FILE_UPLOAD_TEMP_DIR).mkdir(parents=True, exist_ok=True)


def upload_job_create(*, owner, **details) -> UploadJob:
    """``details``: the clinical fields of the portal form (studies/portal.py clinical_details)."""
    job = UploadJob.objects.create(owner=owner, **details)
    logger.info("upload %s started by user %s", job.id, owner.pk)
    return job


def upload_receive_batch(*, job: UploadJob, files: list[tuple[str, UploadedFile]]) -> list[UploadItem]:
    """Spool one batch of received files as pending items and have them ingested after commit.

    Raises UploadTooLarge past the job's byte limit and UploadClosed once the job is complete.
    """
    size = sum(uploaded.size for _, uploaded in files)
    folder = job_folder(job.id)
    folder.mkdir(parents=True, exist_ok=True)
    spooled: list[Path] = []
    try:
        with transaction.atomic():
            # The job row is the referee between concurrent batches and the "complete" call.
            taken = UploadJob.objects.filter(
                pk=job.pk, upload_complete=False, bytes_received__lte=settings.LUMEN_UPLOAD_MAX_BYTES - size
            ).update(bytes_received=F("bytes_received") + size)
            if not taken:
                job.refresh_from_db()
                if job.upload_complete:
                    raise UploadClosed("This upload is already complete; start a new one to send more files.")
                raise UploadTooLarge(too_large_message())
            items = []
            for name, uploaded in files:
                spool_name = uuid.uuid4().hex
                target = folder / spool_name
                _spool(uploaded, target)
                spooled.append(target)
                kind = UploadItem.Kind.ZIP if is_zip(target) else UploadItem.Kind.FILE
                items.append(UploadItem(job=job, name=_display_name(name), spool_name=spool_name, size=uploaded.size, kind=kind))
            items = UploadItem.objects.bulk_create(items)
            transaction.on_commit(partial(_enqueue, job.id))
    except BaseException:
        for path in spooled:
            path.unlink(missing_ok=True)
        raise
    job.refresh_from_db()
    return items


def _spool(uploaded: UploadedFile, target: Path) -> None:
    if hasattr(uploaded, "temporary_file_path"):
        # Streamed to FILE_UPLOAD_TEMP_DIR on the same filesystem: a rename, not a copy.
        file_move_safe(uploaded.temporary_file_path(), str(target), allow_overwrite=False)
    else:
        with open(target, "xb") as out:
            for chunk in uploaded.chunks():
                out.write(chunk)


def _display_name(name: str) -> str:
    name = "".join(ch for ch in str(name) if ch.isprintable()).strip() or "(unnamed)"
    return name[-1024:]


def upload_complete(*, job: UploadJob) -> UploadJob:
    """The client has sent every batch: the job finishes once no item is left to ingest."""
    UploadJob.objects.filter(pk=job.pk, upload_complete=False).update(upload_complete=True, status=UploadJob.Status.PROCESSING)
    transaction.on_commit(partial(_enqueue, job.id))
    job.refresh_from_db()
    logger.info("upload %s complete: %s bytes", job.id, job.bytes_received)
    return job


def _enqueue(job_id) -> None:
    from studies.tasks import ingest_upload

    ingest_upload.delay(str(job_id))


# --- Writes: the worker side ------------------------------------------------------------------


def upload_process(*, job_id) -> None:
    """Ingest every pending item of the job, then finish it if the client is done. Safe to run twice."""
    job = UploadJob.objects.filter(pk=job_id).first()
    if job is None:
        return
    _release_stale_claims(job)
    origin = Origin(user_id=job.owner_id, upload_job_id=job.id, for_reading=job.submit_for_reading)
    while (item := _claim_next(job)) is not None:
        if item.kind == UploadItem.Kind.ZIP:
            _expand(job, item)
        else:
            _ingest(job, item, origin)
    upload_finish_if_done(job_id=job.id)


def _release_stale_claims(job: UploadJob) -> None:
    # A claim older than the hard task time limit belongs to a worker that died mid-item.
    stale = timezone.now() - timedelta(seconds=settings.CELERY_TASK_TIME_LIMIT)
    released = UploadItem.objects.filter(job=job, status=Status.PROCESSING, claimed_at__lt=stale).update(
        status=Status.PENDING, claimed_at=None
    )
    if released:
        logger.warning("upload %s: %d items released from a dead worker", job.id, released)


def _claim_next(job: UploadJob) -> UploadItem | None:
    """pending → processing for one item; the UPDATE must change exactly one row to count."""
    while True:
        # In upload order; a task that loses an item to another one tries the next few before asking again.
        candidates = list(
            UploadItem.objects.filter(job=job, status=Status.PENDING).order_by("id").only("id", "job_id", "name", "kind", "spool_name")[:8]
        )
        if not candidates:
            return None
        for candidate in candidates:
            claimed = UploadItem.objects.filter(pk=candidate.pk, status=Status.PENDING).update(
                status=Status.PROCESSING, claimed_at=timezone.now()
            )
            if claimed == 1:
                candidate.status = Status.PROCESSING
                return candidate


def _ingest(job: UploadJob, item: UploadItem, origin: Origin) -> None:
    path = job_folder(job.id) / item.spool_name
    outcome = {"sop_instance_uid": "", "study_instance_uid": ""}
    try:
        result = ingest_file(path, origin=origin)
        status, reason = sources.classify(result)
        outcome = {"sop_instance_uid": result.sop_instance_uid, "study_instance_uid": result.study_instance_uid}
    except Exception as exc:  # one bad file never sinks the others
        logger.exception("upload %s: ingest of item %s failed", job.id, item.pk)
        status, reason = Status.REJECTED, f"an unexpected error stopped this file from being stored ({exc.__class__.__name__})"
    finally:
        path.unlink(missing_ok=True)
    _record(item, status, reason, **outcome)


def _record(item: UploadItem, status: str, reason: str, **fields) -> None:
    UploadItem.objects.filter(pk=item.pk, status=Status.PROCESSING).update(status=status, reason=reason[:2000], **fields)


def _expand(job: UploadJob, item: UploadItem) -> None:
    """A ZIP item becomes one pending item per entry (entries refused outright are recorded as such)."""
    folder = job_folder(job.id)
    path = folder / item.spool_name
    into = folder / f"{item.spool_name}.x"
    shutil.rmtree(into, ignore_errors=True)  # left behind by a worker that died while expanding
    try:
        entries = expand_zip(path, into)
    except ZipRejected as exc:
        path.unlink(missing_ok=True)
        _record(item, Status.REJECTED, str(exc))
        return
    except Exception as exc:
        logger.exception("upload %s: expanding ZIP item %s failed", job.id, item.pk)
        shutil.rmtree(into, ignore_errors=True)
        path.unlink(missing_ok=True)
        _record(item, Status.REJECTED, f"the ZIP could not be opened ({exc.__class__.__name__})")
        return
    children = []
    for entry in entries:
        verdict = sources.zip_entry_verdict(entry)
        child = UploadItem(job=job, parent=item, name=_display_name(f"{item.name}/{entry.name}"), size=entry.size)
        if verdict is None:
            child.spool_name = f"{into.name}/{entry.path.name}"
        else:
            child.status, child.reason = verdict
            if entry.path is not None:
                entry.path.unlink(missing_ok=True)
        children.append(child)
    with transaction.atomic():
        if not children:
            _record(item, Status.SKIPPED, "the ZIP holds no files")
        elif UploadItem.objects.filter(pk=item.pk, status=Status.PROCESSING).update(
            status=Status.EXPANDED, reason=f"{len(children)} files"
        ):
            UploadItem.objects.bulk_create(children)
            pending = sum(1 for child in children if child.status == Status.PENDING)
            for _ in range(min(MAX_PARALLEL_TASKS - 1, pending // ENTRIES_PER_EXTRA_TASK)):
                transaction.on_commit(partial(_enqueue, job.id))
    path.unlink(missing_ok=True)


def upload_finish_if_done(*, job_id) -> bool:
    """Mark the job done once the client has completed it and no item is left; True if it just finished."""
    busy = UploadItem.objects.filter(job_id=OuterRef("pk"), status__in=[Status.PENDING, Status.PROCESSING])
    finished = (
        UploadJob.objects.filter(pk=job_id, upload_complete=True)
        .exclude(status=UploadJob.Status.DONE)
        .filter(~Exists(busy))
        .update(status=UploadJob.Status.DONE, finished_at=timezone.now())
    )
    if finished:
        shutil.rmtree(job_folder(job_id), ignore_errors=True)
        logger.info("upload %s done", job_id)
        audit_events.upload_finished(job_id)
    return bool(finished)
