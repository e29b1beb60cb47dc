"""Return to the uploader: what happens after a final report or an addendum is committed, and
when a critical result is flagged. Runs from ``transaction.on_commit`` (never inside the
signing transaction), so a rolled-back signature sends nothing.

* The people to tell: the uploaders of the study (StudyAccess "uploaded", the upload job's
  owner) and the referring physician when the upload named a user of Lumen. Only people who
  can see the study (the report page would answer them 404 otherwise), never the signer.
* Each gets an in-app notification and an email with a link (LUMEN_BASE_URL + path) and no
  medical content: the page behind the link asks them to log in and checks who they are.
* The DICOM SR is stored into the study by a Celery task (reports.tasks.store_report_sr).
* RIS webhooks ``report.final`` / ``report.amended`` (integrations.webhooks): recorded by
  ``emit_webhook`` inside the signing transaction (integrations sends them once it commits, so a
  rolled-back signature sends nothing).
"""
from __future__ import annotations

import logging

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.mail import send_mail
from django.db.models import Q
from django.urls import reverse

from reports import workflow
from reports.models import Notification, Report, ReportVersion
from studies.models import StudyAccess
from studies.selectors import visible_studies

logger = logging.getLogger(__name__)

MESSAGES = {
    Notification.Kind.REPORT_FINAL: ("A report is ready", "A report is ready for a study you sent."),
    Notification.Kind.REPORT_AMENDED: ("An addendum was added to a report", "A report on a study you sent has a new addendum."),
    Notification.Kind.CRITICAL: ("Urgent: a result needs your attention", "A radiologist flagged a result as critical on a study you sent. Please read it now."),
}


def report_signed(version_id: int) -> None:
    """After commit of a final version or an addendum: notify, store the SR, send webhooks."""
    version = ReportVersion.objects.select_related("report__study", "author").filter(pk=version_id).first()
    if version is None or not version.is_signed:
        return
    report = version.report
    kind = Notification.Kind.REPORT_AMENDED if version.kind == workflow.ADDENDUM else Notification.Kind.REPORT_FINAL
    notify(report, kind, exclude_user_id=version.author_id)
    _enqueue_sr(version.pk)


def critical_result(report_id: int, actor_id: int) -> None:
    report = Report.objects.select_related("study").filter(pk=report_id).first()
    if report is not None:
        notify(report, Notification.Kind.CRITICAL, exclude_user_id=actor_id)


def recipients(report: Report) -> list:
    """The uploaders and the referring physician (if a user), who can see the study."""
    User = get_user_model()
    ids = set(StudyAccess.objects.filter(study=report.study, reason=StudyAccess.Reason.UPLOADED).values_list("user_id", flat=True))
    if report.upload_job_id:
        ids.update(type(report).objects.filter(pk=report.pk).values_list("upload_job__owner_id", flat=True))
    referrer = (report.referring_physician or "").strip()
    if referrer:
        # The upload form's "referring physician" names a person; it counts when it is a user's
        # login or email (case-insensitive). A free-text name matches nobody.
        ids.update(User.objects.filter(Q(username__iexact=referrer) | Q(email__iexact=referrer), is_active=True).values_list("pk", flat=True)[:5])
    ids.discard(None)
    people = list(User.objects.filter(pk__in=ids, is_active=True).order_by("pk"))
    return [person for person in people if visible_studies(person).filter(pk=report.study_id).exists()]


def notify(report: Report, kind: str, *, exclude_user_id: int | None = None) -> list[Notification]:
    subject, line = MESSAGES[kind]
    path = reverse("report-page", args=[report.pk])
    made = []
    for person in recipients(report):
        if person.pk == exclude_user_id:
            continue
        made.append(Notification.objects.create(recipient=person, report=report, kind=kind, message=line, link=path))
        if person.email:
            body = (
                f"Hello {person.get_username()},\n\n{line}\n\n"
                f"Log in to Lumen to read it:\n{settings.LUMEN_BASE_URL}{path}\n\n"
                "This message holds no medical information; the report is only shown after you log in.\n"
                f"-- {settings.LUMEN_INSTITUTION_NAME}\n"
            )
            try:
                send_mail(f"{settings.LUMEN_INSTITUTION_NAME}: {subject}", body, None, [person.email])
            except Exception:  # the in-app notification is there; a mail server down must not lose it
                logger.exception("notification mail to user %s for report %s failed", person.pk, report.pk)
    return made


def webhook_payload(report: Report, version: ReportVersion) -> dict:
    """What a RIS is told: references and links, the report itself is fetched with the API."""
    return {
        "report_id": report.pk,
        "status": report.status,
        "version": version.number,
        "kind": version.kind,
        "signed_at": version.signed_at.isoformat(),
        "study_instance_uid": report.study.study_instance_uid,
        "accession_number": report.study.accession_number,
        "url": settings.LUMEN_BASE_URL + reverse("reports-api:report-detail", args=[report.pk]),
        "pdf_url": settings.LUMEN_BASE_URL + reverse("reports-api:report-pdf", args=[report.pk]),
    }


def _enqueue_sr(version_id: int) -> None:
    from reports.tasks import store_report_sr

    store_report_sr.delay(version_id)


def emit_webhook(report: Report, version: ReportVersion) -> None:
    """Inside the signing transaction: ``report.final`` or ``report.amended`` for RIS endpoints."""
    event = "report.amended" if version.kind == workflow.ADDENDUM else "report.final"
    try:
        from integrations.webhooks import emit
    except ImportError:  # pragma: no cover - integrations ships webhooks
        logger.info("no webhooks installed: %s for report %s not sent", event, report.pk)
        return
    emit(event, webhook_payload(report, version))
