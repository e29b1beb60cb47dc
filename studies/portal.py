"""The portal of referrers and patients: their uploads, where each stands, and sending an
upload for a read. Status words are the portal's, derived from what the archive knows:

received     the files are stored (the upload finished) and nobody was asked to read them
processing   files are still arriving or being stored
in reading   the upload was submitted for reading: its studies are in the radiologists' pool
failed       the upload stopped (the job's error says why)
reported     a final (or amended) report exists on one of the job's studies (the reports app)
"""
from __future__ import annotations

from django.apps import apps
from django.db import transaction

from studies.models import Study, UploadItem, UploadJob
from studies.selectors import visible_studies
from studies.uploads import UploadRefused, study_url, upload_job_for

RECEIVED, PROCESSING, IN_READING, FAILED, REPORTED = "received", "processing", "in reading", "failed", "reported"
DETAIL_LIMITS = {"reason_for_exam": 1024, "referring_physician": 256}


def clinical_details(data) -> dict:
    """The upload form's clinical fields, checked: what ``upload_job_create`` stores on the job."""
    details = {name: str(data.get(name) or "").strip() for name in DETAIL_LIMITS}
    for name, limit in DETAIL_LIMITS.items():
        if len(details[name]) > limit:
            raise UploadRefused(f"{name.replace('_', ' ')} is longer than {limit} characters")
    priority = str(data.get("priority") or UploadJob.Priority.ROUTINE).lower()
    if priority not in UploadJob.Priority.values:
        raise UploadRefused("priority must be routine, urgent or stat")
    details["priority"] = priority
    details["submit_for_reading"] = str(data.get("submit_for_reading") or "").lower() in ("1", "true", "on", "yes")
    return details


def portal_status(job: UploadJob) -> str:
    if job.status == UploadJob.Status.FAILED:
        return FAILED
    if job.status != UploadJob.Status.DONE:
        return PROCESSING
    return IN_READING if job.submit_for_reading else RECEIVED


def my_uploads(user, limit: int = 100) -> list[dict]:
    """The person's upload jobs, newest first, with the studies they stored (only visible ones)."""
    jobs = list(UploadJob.objects.filter(owner=user).order_by("-created_at")[:limit])
    uids_by_job: dict = {}
    for job_id, uid in (
        UploadItem.objects.filter(job__in=jobs, status__in=[UploadItem.Status.STORED, UploadItem.Status.DUPLICATE])
        .exclude(study_instance_uid="")
        .values_list("job_id", "study_instance_uid")
        .distinct()
    ):
        uids_by_job.setdefault(job_id, set()).add(uid)
    all_uids = set().union(*uids_by_job.values()) if uids_by_job else set()
    studies = {s.study_instance_uid: s for s in visible_studies(user).filter(study_instance_uid__in=all_uids).select_related("patient")}
    reported = _reports_of(user, [s.pk for s in studies.values()])
    rows = []
    for job in jobs:
        items = [
            {"study": studies[uid], "url": study_url(uid), "report": reported.get(studies[uid].pk)}
            for uid in sorted(uids_by_job.get(job.id, ()))
            if uid in studies
        ]
        status = REPORTED if any(item["report"] for item in items) else portal_status(job)
        rows.append({"job": job, "status": status, "studies": items})
    return rows


def _reports_of(user, study_ids: list[int]) -> dict:
    """{study id: its final report} for the studies ``user`` sees. The archive does not depend on
    the reading workflow: without the reports app nothing is reported."""
    if not study_ids or not apps.is_installed("reports"):
        return {}
    from reports.selectors import reported_studies

    return reported_studies(user, study_ids)


def submit_for_reading(*, user, job_id) -> UploadJob:
    """Send a finished (or running) upload to the radiologists: its studies join the pool."""
    job = upload_job_for(user, job_id)
    with transaction.atomic():
        UploadJob.objects.filter(pk=job.pk).update(submit_for_reading=True)
        uids = UploadItem.objects.filter(job=job, status__in=[UploadItem.Status.STORED, UploadItem.Status.DUPLICATE]).values(
            "study_instance_uid"
        )
        # Only studies the uploader may see: a duplicate file never pools someone else's study.
        Study.objects.filter(pk__in=visible_studies(user).filter(study_instance_uid__in=uids).values("pk")).update(in_reading_pool=True)
    job.refresh_from_db()
    return job
