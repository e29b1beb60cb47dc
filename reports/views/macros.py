"""A radiologist's own text macros (global ones are kept by admins in Django admin)."""
from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from accounts import roles
from reports import selectors, services
from reports.workflow import ReportError


@login_required
def macros(request):
    if not roles.is_radiologist(request.user):
        raise Http404("No such page")
    if request.method == "POST":
        try:
            services.macro_save(user=request.user, name=request.POST.get("name", ""), text=request.POST.get("text", ""))
        except ReportError as exc:
            messages.error(request, str(exc))
        return redirect("report-macros")
    return render(request, "reports/macros.html", {"macros": selectors.macros_for(request.user)})


@login_required
@require_POST
def macro_delete(request, macro_id: int):
    if not services.macro_delete(user=request.user, macro_id=macro_id):
        raise Http404("No such macro")
    return redirect("report-macros")
