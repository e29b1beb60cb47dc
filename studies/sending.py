"""Send to node: a study (or one of its series) sent to a registered node as a C-STORE SCU
(PS3.4 B.2), as a Celery job with progress and one result per instance.

Who may send what: anybody may send a study they may see (``visible_studies``; anything else is
a 404, as for a missing study) to a node registered with ``is_move_destination`` — the one flag
that says "images may be sent to it", for C-MOVE and for this alike (studies/dimse/nodes.py).
``may_store`` is the opposite direction (the node may send to us) and is not consulted here.

All instances go over ONE association. What is proposed and how each instance is encoded is
exactly what C-MOVE does (studies/dimse/retrieve.py): the file as stored, byte for byte, when
the peer accepted its SOP class in the stored transfer syntax; decompressed otherwise.
"""
from __future__ import annotations

import logging
import time
from datetime import timedelta
from functools import partial

from django.conf import settings
from django.db import transaction
from django.http import Http404
from django.utils import timezone
from pydicom import Dataset
from pynetdicom import AE

from accounts import roles
from studies.dimse import retrieve
from studies.models import Instance, RemoteNode, SendJob
from studies.ordering import INSTANCE_ORDER
from studies.selectors import study_for

logger = logging.getLogger(__name__)

Status = SendJob.Status
# PS3.4 B.2.3: 0xB000 coercion of data elements, 0xB006 elements discarded, 0xB007 data set does
# not match SOP class — the instance was stored, with a warning. Every other non-zero is a failure.
STORE_WARNINGS = {0xB000, 0xB006, 0xB007}
# Progress is written at most this often (and always at the end), not once per instance: the
# per-instance results are one JSON list, rewritten each time.
FLUSH_EVERY_SECONDS = 1.0


class SendRefused(Exception):
    """A send request the archive will not start; the message is for the user."""

    status_code = 400


class SendForbidden(SendRefused):
    """The user may see the study but their role does not send studies (``may_send``)."""

    status_code = 403


def may_send(user) -> bool:
    """The one rule for "send to node", asked by the study page (to show the form) and by
    ``send_to_node`` (for the page's POST and the REST API): Admin and Radiologist roles send;
    referrers, patients and people without a role do not (a portal user shares instead)."""
    return roles.role_of(user) in (roles.ADMIN, roles.RADIOLOGIST)


# --- Reads ------------------------------------------------------------------------------------


def destinations():
    """The nodes a study may be sent to."""
    return RemoteNode.objects.filter(is_move_destination=True).order_by("ae_title")


def destination_for(reference) -> RemoteNode:
    """A destination named by its id or its AE title; SendRefused otherwise."""
    text = str(reference if reference is not None else "").strip()
    if not text:
        raise SendRefused('Name the node to send to ("node": its id or AE title).')
    nodes = destinations()
    node = nodes.filter(pk=int(text)).first() if text.isdigit() and len(text) < 18 else None
    node = node or nodes.filter(ae_title=text).first()
    if node is None:
        raise SendRefused(f"{text!r} is not a node images may be sent to.")
    return node


def send_job_for(user, job_id) -> SendJob:
    """The user's own send job (any job, for admins); anybody else's answers like a missing one."""
    jobs = SendJob.objects.select_related("node")
    if not roles.is_admin(user):
        jobs = jobs.filter(requested_by_id=user.pk)
    try:
        return jobs.get(pk=int(job_id))
    except (SendJob.DoesNotExist, ValueError, TypeError):
        raise Http404("No such send job") from None


def send_progress(job: SendJob) -> dict:
    return {
        "id": job.pk,
        "status": job.status,
        "node": {"id": job.node_id, "ae_title": job.node.ae_title, "host": job.node.host, "port": job.node.port},
        "study_instance_uid": job.study_instance_uid,
        "series_instance_uid": job.series_instance_uid or None,
        "total": job.total,
        "done": job.completed + job.warning + job.failed,
        "completed": job.completed,
        "warning": job.warning,
        "failed": job.failed,
        "error": job.error,
        "results": job.results,
        "created_at": job.created_at.isoformat(),
        "started_at": job.started_at.isoformat() if job.started_at else None,
        "finished_at": job.finished_at.isoformat() if job.finished_at else None,
    }


# --- Writes: the web side ---------------------------------------------------------------------


def send_to_node(*, user, node: RemoteNode | int | str, study_uid: str, series_uid: str | None = None) -> SendJob:
    """Queue sending a study the user may see (or one of its series) to ``node`` (a RemoteNode,
    or its id or AE title); the task runs after commit.

    Http404 for a study the user may not see (checked first, so nothing else is revealed);
    SendForbidden (403) when the user's role does not send (``may_send``); SendRefused for a node that is not a destination or a series that is not in the study.
    """
    study = study_for(user, study_uid)
    if not may_send(user):
        raise SendForbidden("Only admins and radiologists send studies to DICOM nodes.")
    if not isinstance(node, RemoteNode):
        node = destination_for(node)
    if not RemoteNode.objects.filter(pk=node.pk, is_move_destination=True).exists():
        raise SendRefused(f"{node.ae_title} is not a node images may be sent to.")
    instances = Instance.objects.filter(series__study=study)
    if series_uid:
        if not study.series.filter(series_instance_uid=series_uid).exists():
            raise SendRefused("That series is not part of this study.")
        instances = instances.filter(series__series_instance_uid=series_uid)
    job = SendJob.objects.create(
        node=node,
        requested_by=user,
        study_instance_uid=study.study_instance_uid,
        series_instance_uid=series_uid or "",
        total=instances.count(),
    )
    logger.info(
        "send %s: user %s sends study %s%s (%d instances) to %s",
        job.pk, user.pk, study.study_instance_uid, f" series {series_uid}" if series_uid else "", job.total, node,
    )
    transaction.on_commit(partial(_enqueue, job.pk))
    return job


def _enqueue(job_id: int) -> None:
    from studies.tasks import send_job

    send_job.delay(job_id)


# --- Writes: the worker side ------------------------------------------------------------------


def run_send_job(job_id: int) -> None:
    """Send the job's instances over one association, recording each result. Safe to run twice:
    only the run that claims the job (queued → running) sends anything."""
    if not _claim(job_id):
        return
    job = SendJob.objects.select_related("node").get(pk=job_id)
    instances = _instances_of(job)
    job.total = len(instances)
    job.save(update_fields=["total"])
    if not instances:
        _finish(job, Status.DONE)
        return
    node = job.node
    ae = AE(ae_title=settings.DICOM_AE_TITLE)
    ae.acse_timeout = ae.dimse_timeout = ae.network_timeout = 60
    assoc = ae.associate(node.host, node.port, ae_title=node.ae_title, contexts=retrieve.proposed_contexts(instances))
    if not assoc.is_established:
        what = "rejected the association" if assoc.is_rejected else "could not be reached or did not accept an association"
        _finish(job, Status.FAILED, f"{node.ae_title} at {node.host}:{node.port} {what}; nothing was sent.")
        return
    try:
        _send_all(job, assoc, instances)
    finally:
        if assoc.is_established:
            assoc.release()


def _claim(job_id: int) -> bool:
    """queued → running, or a job left running by a worker that died (older than the task's
    hard time limit); the UPDATE must change exactly one row."""
    stale = timezone.now() - timedelta(seconds=settings.CELERY_TASK_TIME_LIMIT)
    now = timezone.now()
    claimed = SendJob.objects.filter(pk=job_id, status=Status.QUEUED).update(status=Status.RUNNING, started_at=now)
    if not claimed:
        claimed = SendJob.objects.filter(pk=job_id, status=Status.RUNNING, started_at__lt=stale).update(
            started_at=now, completed=0, warning=0, failed=0, results=[], error=""
        )
        if claimed:
            logger.warning("send %s: taken over from a worker that died", job_id)
    return claimed == 1


def _instances_of(job: SendJob) -> list[Instance]:
    rows = Instance.objects.filter(series__study__study_instance_uid=job.study_instance_uid)
    if job.series_instance_uid:
        rows = rows.filter(series__series_instance_uid=job.series_instance_uid)
    rows = rows.only("sop_instance_uid", "sop_class_uid", "transfer_syntax_uid", "storage_key")
    return list(rows.order_by("series__series_number", "series_id", *INSTANCE_ORDER))


def _send_all(job: SendJob, assoc, instances: list[Instance]) -> None:
    retrieve.stream_stored_files(assoc)
    accepted = retrieve.accepted_syntaxes(assoc)
    flushed = time.monotonic()
    for number, instance in enumerate(instances):
        if not assoc.is_established:
            _finish(job, Status.FAILED, f"{job.node.ae_title} broke off the association after {number} of {len(instances)} instances.")
            return
        _record(job, instance, *_send_one(assoc, instance, accepted))
        if time.monotonic() - flushed >= FLUSH_EVERY_SECONDS:
            _save_progress(job)
            flushed = time.monotonic()
    _finish(job, Status.DONE)


def _send_one(assoc, instance: Instance, accepted) -> tuple[int | None, str, str]:
    """(the peer's status or None, "ok" / "warning" / "failed", why) for one C-STORE."""
    request = retrieve.sub_operation(instance, accepted)
    if not isinstance(request, Dataset):  # no usable presentation context, or cannot decompress
        return None, "failed", request
    try:
        answer = assoc.send_c_store(request)
    except Exception as exc:  # pynetdicom refuses the dataset (e.g. no context for its syntax)
        logger.warning("send: C-STORE of %s failed: %s", instance.sop_instance_uid, exc)
        return None, "failed", f"not sent: {exc}"
    code = answer.get("Status") if answer else None
    comment = str(answer.get("ErrorComment", "")) if answer else ""
    if code is None:
        return None, "failed", "no answer from the peer (association aborted or timed out)"
    if code == 0x0000:
        return code, "ok", comment
    if code in STORE_WARNINGS:
        return code, "warning", comment or f"stored with warning 0x{code:04X}"
    return code, "failed", comment or f"refused with status 0x{code:04X}"


def _record(job: SendJob, instance: Instance, code, result: str, comment: str) -> None:
    job.results.append({"sop_instance_uid": instance.sop_instance_uid, "status": code, "result": result, "comment": comment[:500]})
    if result == "ok":
        job.completed += 1
    elif result == "warning":
        job.warning += 1
    else:
        job.failed += 1


def _save_progress(job: SendJob) -> None:
    # Only while this run still owns the job (a takeover after a worker death resets it).
    SendJob.objects.filter(pk=job.pk, status=Status.RUNNING, started_at=job.started_at).update(
        completed=job.completed, warning=job.warning, failed=job.failed, results=job.results
    )


def _finish(job: SendJob, status: str, error: str = "") -> None:
    SendJob.objects.filter(pk=job.pk, status=Status.RUNNING, started_at=job.started_at).update(
        status=status, error=error, finished_at=timezone.now(),
        completed=job.completed, warning=job.warning, failed=job.failed, results=job.results,
    )
    log = logger.warning if status == Status.FAILED else logger.info
    log("send %s to %s: %s, %d ok, %d warning, %d failed of %d%s", job.pk, job.node, status,
        job.completed, job.warning, job.failed, job.total, f" ({error})" if error else "")
