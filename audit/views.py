"""The audit trail's page: search, page through, export the filtered set as CSV (streamed).
Reading the trail is itself audited (110101 Audit Log Used, PS3.15 A.5.3.2)."""
from __future__ import annotations

import csv

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, StreamingHttpResponse
from django.shortcuts import render
from django.utils import timezone

from audit.forms import AuditSearchForm
from audit.models import Action, Event
from audit.selectors import can_read_audit, search_events
from audit.services import record

PAGE_SIZE = 100
CSV_COLUMNS = ("occurred_at", "event", "event_name", "action", "outcome", "username", "calling_ae", "ip", "study_uid", "patient_id", "detail")


def _readers_only(request):
    if not can_read_audit(request.user):
        raise Http404("No such page")  # like any page this person has no business knowing about


@login_required
def audit_search(request):
    _readers_only(request)
    form = AuditSearchForm(request.GET)
    page = None
    if form.is_valid():
        page = Paginator(search_events(**form.cleaned_data), PAGE_SIZE).get_page(request.GET.get("page"))
        record(Event.AUDIT_LOG_USED, Action.AUDIT_SEARCH, request=request, detail={"query": request.GET.urlencode()[:1000]})
    query = request.GET.copy()
    query.pop("page", None)
    return render(request, "audit/search.html", {"form": form, "page": page, "query": query.urlencode()})


@login_required
def audit_export(request):
    """The filtered events as CSV, every row, streamed (no page limit, constant memory)."""
    _readers_only(request)
    form = AuditSearchForm(request.GET)
    if not form.is_valid():
        raise Http404("Invalid search")
    events = search_events(**form.cleaned_data)
    record(Event.AUDIT_LOG_USED, Action.AUDIT_EXPORT, request=request, detail={"query": request.GET.urlencode()[:1000]})
    filename = f"lumen-audit-{timezone.now():%Y%m%d-%H%M%S}.csv"
    response = StreamingHttpResponse(csv_lines(events), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


class _Echo:
    def write(self, value):
        return value


def csv_lines(events):
    writer = csv.writer(_Echo())
    yield writer.writerow(CSV_COLUMNS)
    names = dict(Event.choices)
    for e in events.iterator(chunk_size=1000):
        yield writer.writerow([
            e.occurred_at.isoformat(), e.event, names.get(e.event, ""), e.action, e.outcome, safe_cell(e.username), safe_cell(e.calling_ae),
            e.ip or "", safe_cell(e.study_uid), safe_cell(e.patient_id), safe_cell(_json(e.detail)),
        ])


def _json(value) -> str:
    import json

    return json.dumps(value, sort_keys=True, ensure_ascii=False) if value else ""


def safe_cell(text: str) -> str:
    """Usernames, AE titles and patient IDs come from outside: a cell a spreadsheet would read
    as a formula (= + - @, tab, CR) is prefixed with a quote (OWASP CSV injection)."""
    return "'" + text if text and text[0] in "=+-@\t\r" else text
