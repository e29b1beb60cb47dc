"""Celery tasks: thin wrappers that take ids, re-fetch, and call a service."""
from celery import shared_task


@shared_task(name="studies.ingest_upload", acks_late=True, ignore_result=True)
def ingest_upload(job_id: str) -> None:
    """Ingest what an upload job has received so far. Idempotent: items are claimed one by one,
    so duplicates of this task (one per batch, redeliveries) share the work instead of repeating it."""
    from studies.uploads import upload_process  # the service imports this module to enqueue

    upload_process(job_id=job_id)


@shared_task(name="studies.send_job", acks_late=True, ignore_result=True)
def send_job(job_id: int) -> None:
    """Send a study or series to a remote node (C-STORE SCU). Idempotent: the job is claimed
    queued → running, so a duplicate or redelivered task returns without sending."""
    from studies.sending import run_send_job

    run_send_job(job_id)


@shared_task(name="studies.check_completion", acks_late=True, ignore_result=True)
def check_completion(study_id: int, due: str) -> None:
    """Fire study_completed if the study stayed quiet; ``due`` ties the check to one completion
    period, so a stale or duplicate check returns without doing anything (completeness.py)."""
    from datetime import datetime

    from studies.completeness import study_check_completion

    study_check_completion(study_id=study_id, due=datetime.fromisoformat(due))


@shared_task(name="studies.sweep_completions", ignore_result=True)
def sweep_completions() -> None:
    """Run completion checks that were lost (Celery beat, every LUMEN_COMPLETION_SWEEP_SECONDS)."""
    from studies.completeness import sweep_overdue

    sweep_overdue()


@shared_task(name="studies.keep_metadata", ignore_result=True)
def keep_metadata(study_id: int) -> None:
    """Build a completed study's DICOMweb series metadata before a viewer asks for it. Safe to run
    twice: a series whose kept answer is current is skipped (studies/dicomweb/metadata.py)."""
    from studies.dicomweb.metadata import keep_study_metadata

    keep_study_metadata(study_id=study_id)
