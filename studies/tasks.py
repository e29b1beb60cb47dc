"""Celery tasks: thin wrappers that take ids, re-fetch, and call a service."""
from celery import shared_task


@shared_task(name="studies.ingest_upload", acks_late=True, ignore_result=True)
def ingest_upload(job_id: str) -> None:
    """Ingest what an upload job has received so far. Idempotent: items are claimed one by one,
    so duplicates of this task (one per batch, redeliveries) share the work instead of repeating it."""
    from studies.uploads import upload_process  # the service imports this module to enqueue

    upload_process(job_id=job_id)
