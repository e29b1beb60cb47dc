"""Writes of the reading workflow: the worklist entry, claim and assignment, drafts, signing,
addenda, cancelling and critical results. Each function checks who may do it, asks the state
machine (``reports.workflow``), writes under a row lock or a conditional UPDATE, records the
audit row, and leaves side effects (mail, notifications, SR, webhooks) to ``transaction.on_commit``.
"""
from __future__ import annotations

import logging
from datetime import datetime
from functools import partial

from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.db import IntegrityError, transaction
from django.db.models import Max
from django.http import Http404
from django.utils import timezone

from accounts import roles
from audit import events as audit_events
from reports import delivery, keyimages, workflow
from reports.models import Notification, Report, ReportTemplate, ReportVersion, TextMacro
from reports.outputs.document import SECTIONS
from reports.selectors import draft_of, latest_signed, report_for
from reports.workflow import (
    AlreadyClaimed,
    InvalidTransition,
    NotAllowed,
    ReportError,
    SignatureRefused,
)
from studies import sharing
from studies.models import Study, UploadJob

logger = logging.getLogger(__name__)

SECTION_NAMES = tuple(name for name, _ in SECTIONS)
MAX_SECTION_CHARS = 20_000
MAX_ADDENDUM_CHARS = 20_000
# Wrong passwords (or codes) at signing, per person, before signing is refused for a while.
SIGN_FAILURE_LIMIT = 5
SIGN_FAILURE_WINDOW = 15 * 60


# --- Entering the worklist ----------------------------------------------------------------------


def worklist_enter(*, study: Study) -> Report | None:
    """A complete study in the reading pool gets an unread report, once: nothing happens if it
    already has a live (not cancelled) one. Safe to call twice, and from two processes at once
    (the partial unique constraint ``one_live_report_per_study`` referees)."""
    if not study.in_reading_pool:
        return None
    existing = Report.objects.filter(study=study).exclude(status=workflow.CANCELLED).first()
    if existing is not None:
        return None
    job = _reading_job(study)
    report = Report(
        study=study,
        complete_at=getattr(study, "completed_at", None) or timezone.now(),
        upload_job=job,
        priority=job.priority if job else Report.Priority.ROUTINE,
        clinical_question=job.reason_for_exam if job else "",
        referring_physician=(job.referring_physician if job else "") or study.referring_physician_name[:256],
    )
    try:
        with transaction.atomic():
            report.save()
    except IntegrityError:
        return None  # another process made it a moment ago
    logger.info("study %s entered the worklist as report %s", study.study_instance_uid, report.pk)
    return report


def _reading_job(study: Study) -> UploadJob | None:
    """The upload that asked for this read: submitted for reading, the most urgent, the latest."""
    jobs = UploadJob.objects.filter(instances__series__study=study).distinct()
    ranked = sorted(jobs, key=lambda j: (not j.submit_for_reading, _PRIORITY_ORDER.get(j.priority, 2), -j.created_at.timestamp()))
    return ranked[0] if ranked else None


_PRIORITY_ORDER = {"stat": 0, "urgent": 1, "routine": 2}


# --- Who holds a report -------------------------------------------------------------------------


def report_claim(*, report_id, user) -> Report:
    """The radiologist takes an unread report. A conditional UPDATE (holder still empty, still
    unread) decides: of two radiologists claiming at once, exactly one changes the row."""
    _require_radiologist(user)
    report = report_for(user, report_id)
    now = timezone.now()
    won = Report.objects.filter(pk=report.pk, holder__isnull=True, status=workflow.UNREAD).update(
        holder=user, status=workflow.IN_PROGRESS, claimed_at=now, updated_at=now
    )
    report.refresh_from_db()
    if not won:
        if report.holder_id == user.pk:
            return report  # a double click: already theirs
        if report.holder_id is not None:
            raise AlreadyClaimed("Another radiologist has already claimed this study.")
        raise InvalidTransition(f"This report is {workflow.label(report.status)}; it cannot be claimed.")
    audit_events.report_claimed(actor=user, report=report)
    return report


def report_assign(*, report_id, by, username: str) -> Report:
    """An admin gives (or moves) a report to a radiologist, who is also given the study."""
    if not roles.is_admin(by):
        raise NotAllowed("Only an admin assigns reports.")
    report = report_for(by, report_id)
    if report.status not in workflow.OPEN:
        raise InvalidTransition(f"This report is {workflow.label(report.status)}; it cannot be assigned.")
    try:
        sharing.assign_to_radiologist(by=by, study_uid=report.study.study_instance_uid, username=username)
    except sharing.ShareRefused as exc:
        raise NotAllowed(str(exc)) from None
    target = get_user_model().objects.get(username=username)
    with transaction.atomic():
        report = Report.objects.select_for_update().get(pk=report.pk)
        if report.status not in workflow.OPEN:
            raise InvalidTransition(f"This report is {workflow.label(report.status)}; it cannot be assigned.")
        previous = report.holder.get_username() if report.holder_id else None
        report.holder = target
        report.claimed_at = timezone.now()
        if report.status == workflow.UNREAD:
            report.status = workflow.IN_PROGRESS
        report.save()
    audit_events.report_claimed(actor=by, report=report, assigned_to=target.get_username(), previous=previous)
    return report


def report_release(*, report_id, by) -> Report:
    """The holder (or an admin) gives back a report nobody signed yet: it is unread again."""
    report = report_for(by, report_id)
    if not (report.holder_id == by.pk or roles.is_admin(by)):
        raise NotAllowed("Only the radiologist holding this report (or an admin) can release it.")
    with transaction.atomic():
        report = Report.objects.select_for_update().get(pk=report.pk)
        workflow.check_transition(report.status, workflow.UNREAD)
        report.status, report.holder, report.claimed_at = workflow.UNREAD, None, None
        report.save()
    return report


# --- Writing ------------------------------------------------------------------------------------


def clean_sections(sections: dict) -> dict[str, str]:
    """Only the known sections, as text, each within MAX_SECTION_CHARS."""
    cleaned = {}
    for name in SECTION_NAMES:
        text = str((sections or {}).get(name) or "").replace("\r\n", "\n")
        if len(text) > MAX_SECTION_CHARS:
            raise ReportError(f"The {name.replace('_', ' ')} section is longer than {MAX_SECTION_CHARS} characters.")
        cleaned[name] = text
    return cleaned


def draft_save(
    *,
    report_id,
    user,
    sections: dict,
    critical: bool | None = None,
    critical_told: str | None = None,
    critical_told_at: datetime | None = None,
) -> ReportVersion:
    """Write the holder's draft (autosave). The draft is the one unsigned version; after a
    preliminary, the next draft starts from the signed text."""
    sections = clean_sections(sections)
    report = report_for(user, report_id)
    with transaction.atomic():
        report = _locked_for_writing(report, user)
        if report.status not in (workflow.IN_PROGRESS, workflow.PRELIMINARY):
            raise InvalidTransition(f"This report is {workflow.label(report.status)}; its text can no longer change.")
        draft = _draft_or_new(report, user)
        draft.sections = sections
        draft.author = user
        if critical is not None:
            draft.critical = critical
        if critical_told is not None:
            draft.critical_told = critical_told.strip()[:256]
        if critical_told_at is not None or critical_told is not None:
            draft.critical_told_at = critical_told_at
        draft.save()
    return draft


def _draft_or_new(report: Report, user) -> ReportVersion:
    draft = draft_of(report)
    if draft is not None:
        return draft
    base = latest_signed(report)
    return ReportVersion(
        report=report,
        number=_next_number(report),
        author=user,
        sections=dict(base.sections) if base else {},
        critical=base.critical if base else report.critical,
        critical_told=base.critical_told if base else "",
        critical_told_at=base.critical_told_at if base else None,
    )


def _next_number(report: Report) -> int:
    return (report.versions.aggregate(n=Max("number"))["n"] or 0) + 1


def report_sign(
    *,
    report_id,
    user,
    kind: str,
    password: str,
    totp: str = "",
    sections: dict | None = None,
) -> ReportVersion:
    """Sign the draft as preliminary or final after checking the password (and the TOTP code
    when the person has one). The signed version is locked from then on."""
    if kind not in (workflow.PRELIMINARY, workflow.FINAL):
        raise ReportError("A report is signed as preliminary or final.")
    report = report_for(user, report_id)
    _require_radiologist(user)
    if report.holder_id != user.pk:
        raise NotAllowed("Only the radiologist holding this report can sign it.")
    if report.status not in (workflow.IN_PROGRESS, workflow.PRELIMINARY):
        raise InvalidTransition(f"This report is {workflow.label(report.status)}; it cannot be signed again. Add an addendum.")
    verify_signature(user, password=password, totp=totp)
    with transaction.atomic():
        report = _locked_for_writing(report, user)
        if report.status not in (workflow.IN_PROGRESS, workflow.PRELIMINARY):
            raise InvalidTransition(f"This report is {workflow.label(report.status)}; it cannot be signed again. Add an addendum.")
        workflow.check_transition(report.status, kind)
        version = _draft_or_new(report, user)
        if sections is not None:
            version.sections = clean_sections(sections)
        if not any(version.section_text(name).strip() for name in ("findings", "impression")):
            raise ReportError("Write the findings or the impression before signing.")
        if kind == workflow.FINAL and (version.critical or report.critical) and not version.critical_told.strip():
            raise ReportError("This is a critical result: record who was told, and when, before signing the final report.")
        now = timezone.now()
        version.critical = version.critical or report.critical
        version.key_images = keyimages.refs_for(user, report.study)
        version.kind = kind
        version.author = user
        version.signed_at = now
        version.save()
        report.status = kind
        if kind == workflow.FINAL:
            report.final_at, report.final_by = now, user
        report.save()
        audit_events.report_signed(actor=user, report=report, version=version)
        if kind == workflow.FINAL:
            delivery.emit_webhook(report, version)
            transaction.on_commit(partial(delivery.report_signed, version.pk))
    return version


def report_add_addendum(
    *,
    report_id,
    user,
    text: str,
    password: str,
    totp: str = "",
    critical: bool = False,
    critical_told: str = "",
    critical_told_at: datetime | None = None,
) -> ReportVersion:
    """After final, the only way to add to a report: a signed addendum, kept with the original."""
    _require_radiologist(user)
    report = report_for(user, report_id)
    text = (text or "").replace("\r\n", "\n").strip()
    if report.status not in workflow.CLOSED:
        raise InvalidTransition(f"This report is {workflow.label(report.status)}; addenda are added to final reports only.")
    if not text:
        raise ReportError("Write the addendum before signing it.")
    if len(text) > MAX_ADDENDUM_CHARS:
        raise ReportError(f"An addendum holds at most {MAX_ADDENDUM_CHARS} characters.")
    if critical and not critical_told.strip():
        raise ReportError("This is a critical result: record who was told, and when.")
    verify_signature(user, password=password, totp=totp)
    with transaction.atomic():
        report = Report.objects.select_for_update().get(pk=report.pk)
        workflow.check_transition(report.status, workflow.AMENDED)
        version = ReportVersion.objects.create(
            report=report,
            number=_next_number(report),
            kind=workflow.ADDENDUM,
            text=text,
            author=user,
            signed_at=timezone.now(),
            critical=critical,
            critical_told=critical_told.strip()[:256],
            critical_told_at=critical_told_at,
        )
        report.status = workflow.AMENDED
        report.critical = report.critical or critical
        report.save()
        audit_events.report_signed(actor=user, report=report, version=version)
        delivery.emit_webhook(report, version)
        transaction.on_commit(partial(delivery.report_signed, version.pk))
    return version


def report_cancel(*, report_id, by, reason: str) -> Report:
    """Cancel a read that has no final text (wrong study, duplicate order…), with a reason."""
    reason = (reason or "").strip()
    if not reason:
        raise ReportError("Give the reason for cancelling.")
    report = report_for(by, report_id)
    if not (report.holder_id == by.pk or roles.is_admin(by) or (report.holder_id is None and roles.is_radiologist(by))):
        raise NotAllowed("Only the radiologist holding this report (or an admin) can cancel it.")
    with transaction.atomic():
        report = Report.objects.select_for_update().get(pk=report.pk)
        workflow.check_transition(report.status, workflow.CANCELLED)
        report.status = workflow.CANCELLED
        report.cancelled_at = timezone.now()
        report.cancel_reason = reason[:1024]
        report.save()
        audit_events.report_cancelled(actor=by, report=report, reason=report.cancel_reason)
    return report


def report_flag_critical(*, report_id, user) -> Report:
    """The holder flags a critical result: the referrer and uploader are notified at once
    (mail and in the app, a link only); the radiologist then records who was told and when."""
    report = report_for(user, report_id)
    with transaction.atomic():
        report = _locked_for_writing(report, user)
        if report.status not in (workflow.IN_PROGRESS, workflow.PRELIMINARY):
            raise InvalidTransition("A critical result is flagged while the report is being written (afterwards: in an addendum).")
        draft = _draft_or_new(report, user)
        draft.critical = True
        draft.save()
        first_time = report.critical_notified_at is None
        report.critical = True
        report.critical_notified_at = report.critical_notified_at or timezone.now()
        report.save()
        audit_events.report_critical(actor=user, report=report)
        if first_time:
            transaction.on_commit(partial(delivery.critical_result, report.pk, user.pk))
    return report


# --- Checks -------------------------------------------------------------------------------------


def verify_signature(user, *, password: str, totp: str = "") -> None:
    """The password again (and the TOTP code for people who have one); raises SignatureRefused.
    Repeated failures lock signing for SIGN_FAILURE_WINDOW seconds."""
    key = f"reports:sign-failures:{user.pk}"
    if (cache.get(key) or 0) >= SIGN_FAILURE_LIMIT:
        raise SignatureRefused("Too many wrong passwords or codes: signing is locked for a while.")
    ok = bool(password) and user.check_password(password)
    twofactor = _twofactor()
    if ok and twofactor is not None and twofactor.has_totp(user):
        if not twofactor.verify_totp(user, totp):
            _count_failure(key)
            audit_events.report_signature_refused(actor=user, reason="totp")
            raise SignatureRefused("The authenticator code is not correct.")
    if not ok:
        _count_failure(key)
        audit_events.report_signature_refused(actor=user, reason="password")
        raise SignatureRefused("The password is not correct.")
    cache.delete(key)


def _count_failure(key: str) -> None:
    if not cache.add(key, 1, timeout=SIGN_FAILURE_WINDOW):
        try:
            cache.incr(key)
        except ValueError:
            cache.set(key, 1, timeout=SIGN_FAILURE_WINDOW)


def needs_totp(user) -> bool:
    twofactor = _twofactor()
    return twofactor is not None and twofactor.has_totp(user)


def _twofactor():
    """accounts.twofactor (TOTP), when that part of the people-and-access work is installed."""
    try:
        from accounts import twofactor
    except ImportError:  # pragma: no cover - present since the TOTP work landed
        return None
    return twofactor


def _require_radiologist(user) -> None:
    if not roles.is_radiologist(user):
        raise NotAllowed("Only a radiologist reads and signs reports.")


def _locked_for_writing(report: Report, user) -> Report:
    """The report row locked; the caller must be the radiologist holding it."""
    _require_radiologist(user)
    locked = Report.objects.select_for_update().get(pk=report.pk)
    if locked.holder_id != user.pk:
        raise NotAllowed("Only the radiologist holding this report can write it. Claim it first.")
    return locked


# --- Templates and macros -----------------------------------------------------------------------


def template_save(*, user, name: str, sections: dict, modality: str = "", body_part: str = "") -> ReportTemplate:
    """A personal template from the editor's current text."""
    _require_radiologist(user)
    if not name:
        raise ReportError("Give the template a name.")
    return ReportTemplate.objects.create(
        name=name[:120], owner=user, modality=modality.upper()[:16], body_part=body_part.upper()[:64], sections=clean_sections(sections)
    )


def macro_save(*, user, name: str, text: str) -> TextMacro:
    _require_radiologist(user)
    name, text = (name or "").strip(), (text or "").strip()
    if not name or not text:
        raise ReportError("A macro needs a name and a text.")
    return TextMacro.objects.create(name=name[:40], text=text[:MAX_SECTION_CHARS], owner=user)


def macro_delete(*, user, macro_id) -> bool:
    return TextMacro.objects.filter(pk=macro_id, owner=user).delete()[0] > 0


# --- Notifications ------------------------------------------------------------------------------


def notification_open(*, user, notification_id) -> Notification:
    """Mark one's own notification read; someone else's answers 404."""
    notification = Notification.objects.filter(pk=notification_id, recipient=user).first()
    if notification is None:
        raise Http404("No such notification")
    if notification.read_at is None:
        Notification.objects.filter(pk=notification.pk, read_at__isnull=True).update(read_at=timezone.now())
    return notification
