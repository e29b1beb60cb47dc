"""Storing the SR of a signed version: the service behind ``reports.tasks.store_report_sr``."""
from __future__ import annotations

import logging

from audit import events
from reports.documents import document_for
from reports.models import Report, ReportVersion

logger = logging.getLogger(__name__)


def store_sr_for_version(version_id: int) -> str:
    """The SOP Instance UID of the stored SR ("" when nothing was stored)."""
    version = ReportVersion.objects.filter(pk=version_id, signed_at__isnull=False).first()
    if version is None:
        return ""
    report = Report.objects.get(pk=version.report_id)
    if report.sr_version is not None and report.sr_version >= version.number:
        return report.sr_sop_instance_uid  # stored already (a redelivered task)
    try:
        from reports.outputs.sr import store_sr
    except ImportError:
        logger.info("no SR output installed: report %s version %s has no SR", report.pk, version.number)
        return ""
    result = store_sr(document_for(version))  # Origin(internal=True): the study's pool flag stays as it was
    uid = result if isinstance(result, str) else getattr(result, "sop_instance_uid", "") or ""
    if uid:
        # Only forward: a late task for an older version never replaces a newer SR.
        Report.objects.filter(pk=report.pk).exclude(sr_version__gte=version.number).update(sr_sop_instance_uid=uid, sr_version=version.number)
        events.report_sr_stored(report=report, version=version.number, sop_instance_uid=uid)
    return uid
