"""Celery tasks of the reading workflow: thin, by id, safe to run twice."""
from __future__ import annotations

import logging

from celery import shared_task

logger = logging.getLogger(__name__)


@shared_task(name="reports.store_report_sr", acks_late=True, ignore_result=True)
def store_report_sr(version_id: int) -> None:
    """Store the DICOM SR of a signed version into its study (through the ingest funnel, by
    reports.outputs.sr). A version whose SR is already recorded is not stored again."""
    from reports.outputs_store import store_sr_for_version

    store_sr_for_version(version_id)
