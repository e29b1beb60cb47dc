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
