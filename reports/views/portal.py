"""The report as the people who sent the study read it: the signed text, addenda, the PDF.
Everyone who can see the study can open it (reports.selectors); a draft is never shown here."""
from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from audit import events as audit_events
from reports import selectors, services
from reports.documents import communication, document_for
from reports.outputs.document import SECTIONS


@login_required
def report_page(request, report_id: int):
    report = selectors.report_for(request.user, report_id)
    versions = list(selectors.signed_versions(report))
    base = next((v for v in reversed(versions) if v.kind != "addendum"), None)
    addenda = [v for v in versions if v.kind == "addendum" and base is not None and v.number > base.number]
    audit_events.report_viewed(request, report, what="page")
    context = {
        "report": report,
        "study": report.study,
        "patient": report.study.patient,
        "base": base,
        "sections": [(h, base.section_text(n)) for n, h in SECTIONS if base and base.section_text(n).strip()],
        "addenda": addenda,
        "communications": [communication(v) for v in ([base] if base else []) + addenda if v.critical and communication(v)],
        "is_reader": selectors.is_reader(request.user),
        "earlier": [v for v in versions if base is not None and v.number < base.number],
    }
    return render(request, "reports/report.html", context)


@login_required
def report_pdf(request, report_id: int):
    report = selectors.report_for(request.user, report_id)
    version = selectors.latest_signed(report)
    if version is None:
        raise Http404("This report has no signed text yet")
    try:
        from reports.outputs.pdf import render_pdf
    except ImportError:
        raise Http404("PDF output is not installed") from None
    audit_events.report_viewed(request, report, what="pdf")
    response = HttpResponse(render_pdf(document_for(version)), content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="report-{report.pk}-v{version.number}.pdf"'
    response["Cache-Control"] = "private, no-store"
    return response


@login_required
def notifications(request):
    rows = list(selectors.notifications_of(request.user)[:100])
    return render(request, "reports/notifications.html", {"rows": rows})


@login_required
@require_POST
def notification_open(request, notification_id: int):
    notification = services.notification_open(user=request.user, notification_id=notification_id)
    return redirect(notification.link)
