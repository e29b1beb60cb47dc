"""The worklist: studies waiting to be read, for radiologists and admins; claim, assign, release."""
from __future__ import annotations

from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from accounts import roles
from reports import selectors, services, workflow
from reports.models import Report
from reports.views.common import refused
from reports.workflow import ReportError

PAGE_ROWS = 100


@login_required
def worklist(request):
    if not selectors.is_reader(request.user):
        raise Http404("No such page")
    criteria = _criteria(request.GET)
    page = Paginator(selectors.worklist(request.user, criteria), PAGE_ROWS).get_page(request.GET.get("page"))
    rows = list(page.object_list)
    parts = selectors.body_parts_of(r.study_id for r in rows)
    now = timezone.now()
    context = {
        "rows": [{"report": r, "body_parts": parts.get(r.study_id, []), "waiting": now - r.complete_at} for r in rows],
        "criteria": criteria,
        "statuses": Report.Status.choices,
        "priorities": Report.Priority.choices,
        "sorts": [("priority", "priority, then waiting"), ("waiting", "longest waiting"), ("-waiting", "newest"), ("status", "status"), ("patient", "patient")],
        "is_admin": roles.is_admin(request.user),
        "radiologists": _radiologists() if roles.is_admin(request.user) else [],
        "is_radiologist": roles.is_radiologist(request.user),
        "page": page,
        "query": _without_page(request.GET),
    }
    return render(request, "reports/worklist.html", context)


def _criteria(params) -> selectors.WorklistFilter:
    statuses = tuple(s for s in params.getlist("status") if s in workflow.STATUSES) or workflow.OPEN
    priority = params.get("priority", "")
    sort = params.get("sort", "priority")
    return selectors.WorklistFilter(
        statuses=statuses,
        priority=priority if priority in Report.Priority.values else "",
        modality=params.get("modality", "").strip()[:16],
        body_part=params.get("body_part", "").strip()[:64],
        holder=params.get("holder", "").strip()[:150],
        sort=sort if sort in selectors.SORTS else "priority",
    )


def _without_page(params) -> str:
    """The filters as a query string, for the pager's links."""
    query = params.copy()
    query.pop("page", None)
    return query.urlencode()


def _radiologists():
    return get_user_model().objects.filter(groups__name=roles.RADIOLOGIST, is_active=True).order_by("username")


@login_required
@require_POST
def claim(request, report_id: int):
    try:
        report = services.report_claim(report_id=report_id, user=request.user)
    except ReportError as exc:
        refused(request, exc)
        return redirect("worklist")
    return redirect("report-edit", report.pk)


@login_required
@require_POST
def assign(request, report_id: int):
    try:
        report = services.report_assign(report_id=report_id, by=request.user, username=request.POST.get("radiologist", ""))
    except ReportError as exc:
        refused(request, exc)
    else:
        messages.success(request, f"Report {report.pk} is assigned to {report.holder.get_username()}.")
    return redirect("worklist")


@login_required
@require_POST
def release(request, report_id: int):
    try:
        services.report_release(report_id=report_id, by=request.user)
    except ReportError as exc:
        refused(request, exc)
    return redirect("worklist")
