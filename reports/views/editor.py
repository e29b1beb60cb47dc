"""The report editor, beside the images: the quick series view embedded, the diagnostic viewer
linked when it is installed; sections, templates, macros, autosave, key images, signing."""
from __future__ import annotations

import json

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import F
from django.http import Http404, JsonResponse
from django.shortcuts import redirect, render
from django.urls import Resolver404, resolve, reverse
from django.views.decorators.http import require_POST

from accounts import roles
from audit import events as audit_events
from frontend.views import viewer_config
from reports import keyimages, selectors, services, workflow
from reports.outputs.document import SECTIONS
from reports.views.common import parse_local_datetime, refused
from reports.workflow import ReportError


@login_required
def editor(request, report_id: int):
    if not selectors.is_reader(request.user):
        raise Http404("No such page")
    report = selectors.report_for(request.user, report_id)
    study = report.study
    audit_events.report_viewed(request, report, what="editor")
    draft = selectors.draft_of(report)
    base = draft or selectors.latest_signed(report)
    writable = report.holder_id == request.user.pk and report.status in (workflow.IN_PROGRESS, workflow.PRELIMINARY) and roles.is_radiologist(request.user)
    series = list(study.series.order_by(F("series_number").asc(nulls_last=True), "series_instance_uid"))
    shown = next((s for s in series if s.series_instance_uid == request.GET.get("series")), series[0] if series else None)
    parts = sorted({s.body_part_examined for s in series if s.body_part_examined})
    templates = selectors.templates_for(request.user, modalities=study.modalities, body_parts=parts)
    context = {
        "report": report,
        "study": study,
        "patient": study.patient,
        "draft": draft,
        "base": base,
        "sections": [{"name": n, "heading": h, "text": base.section_text(n) if base else ""} for n, h in SECTIONS],
        "versions": selectors.signed_versions(report),
        "writable": writable,
        "series_list": series,
        "shown_series": shown,
        "viewer_url": diagnostic_viewer_url(study.study_instance_uid),
        "key_images": keyimages.key_images(request.user, study) if writable else [],
        "key_images_available": keyimages.available(),
        "needs_totp": services.needs_totp(request.user),
        "body_parts": parts,
        "editor_config": {
            "draftUrl": reverse("report-draft", args=[report.pk]),
            "templates": [{"id": t.pk, "name": t.name, "personal": t.owner_id is not None, "sections": t.sections} for t in templates],
            "macros": [{"name": m.name, "text": m.text} for m in selectors.macros_for(request.user)],
            "writable": writable,
        },
        "series_config": viewer_config(shown) if shown else None,
        "is_admin": roles.is_admin(request.user),
        "can_cancel": report.status in workflow.OPEN and (report.holder_id == request.user.pk or roles.is_admin(request.user)),
        "can_add_addendum": report.status in workflow.CLOSED and roles.is_radiologist(request.user),
    }
    return render(request, "reports/editor.html", context)


def diagnostic_viewer_url(study_uid: str) -> str | None:
    """/studies/<uid>/viewer/ when the diagnostic viewer is installed (frontend), else None."""
    path = f"/studies/{study_uid}/viewer/"
    try:
        resolve(path)
    except Resolver404:
        return None
    return path


def _sections_from(data) -> dict:
    return {name: data.get(name, "") for name, _ in SECTIONS}


def _critical_from(data) -> dict:
    return {
        "critical": data.get("critical") in ("1", "on", "true", True),
        "critical_told": str(data.get("critical_told") or ""),
        "critical_told_at": parse_local_datetime(str(data.get("critical_told_at") or "")),
    }


@login_required
@require_POST
def save_draft(request, report_id: int):
    """Autosave (editor.js) and the "Save draft" button: JSON in, JSON out."""
    data = _posted(request)
    try:
        draft = services.draft_save(report_id=report_id, user=request.user, sections=_sections_from(data), **_critical_from(data))
    except ReportError as exc:
        return JsonResponse({"detail": str(exc), "code": "refused"}, status=409)
    if request.content_type != "application/json":
        messages.success(request, "Draft saved.")
        return redirect("report-edit", report_id)
    return JsonResponse({"version": draft.number, "saved_at": draft.updated_at.isoformat()})


def _posted(request) -> dict:
    if request.content_type == "application/json":
        try:
            data = json.loads(request.body or b"{}")
        except ValueError:
            return {}
        return data if isinstance(data, dict) else {}
    return request.POST


@login_required
@require_POST
def sign(request, report_id: int):
    data = request.POST
    kind = data.get("kind", "")
    try:
        # The text on screen is what gets signed: save it first (with the critical record).
        services.draft_save(report_id=report_id, user=request.user, sections=_sections_from(data), **_critical_from(data))
        services.report_sign(
            report_id=report_id, user=request.user, kind=kind, password=data.get("password", ""), totp=data.get("totp", "")
        )
    except ReportError as exc:
        refused(request, exc)
        return redirect("report-edit", report_id)
    messages.success(request, f"The report is signed ({workflow.label(kind)}).")
    return redirect("report-page", report_id)


@login_required
@require_POST
def addendum(request, report_id: int):
    data = request.POST
    try:
        services.report_add_addendum(
            report_id=report_id, user=request.user, text=data.get("text", ""), password=data.get("password", ""),
            totp=data.get("totp", ""), **_critical_from(data),
        )
    except ReportError as exc:
        refused(request, exc)
        return redirect("report-edit", report_id)
    messages.success(request, "The addendum is signed.")
    return redirect("report-page", report_id)


@login_required
@require_POST
def cancel(request, report_id: int):
    try:
        services.report_cancel(report_id=report_id, by=request.user, reason=request.POST.get("reason", ""))
    except ReportError as exc:
        refused(request, exc)
        return redirect("report-edit", report_id)
    messages.success(request, "The report is cancelled.")
    return redirect("worklist")


@login_required
@require_POST
def flag_critical(request, report_id: int):
    try:
        services.report_flag_critical(report_id=report_id, user=request.user)
    except ReportError as exc:
        refused(request, exc)
    else:
        messages.warning(request, "Flagged critical: the referrer has been notified. Record who you told, and when.")
    return redirect("report-edit", report_id)


@login_required
@require_POST
def save_template(request, report_id: int):
    """"Save as my template": the current text becomes a personal template for this modality."""
    report = selectors.report_for(request.user, report_id)
    name = request.POST.get("template_name", "").strip()[:120]
    try:
        services.template_save(user=request.user, name=name, sections=_sections_from(request.POST), modality=(report.study.modalities or [""])[0])
    except ReportError as exc:
        refused(request, exc)
    else:
        messages.success(request, f"Template “{name}” saved.")
    return redirect("report-edit", report_id)
