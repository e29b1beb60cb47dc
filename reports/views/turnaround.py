"""Turnaround for admins: study complete → final report, per study and per radiologist."""
from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import render

from accounts import roles
from reports import selectors


@login_required
def turnaround(request):
    if not roles.is_admin(request.user):
        raise Http404("No such page")
    context = {"studies": selectors.turnaround_per_study(), "radiologists": selectors.turnaround_per_radiologist()}
    return render(request, "reports/turnaround.html", context)
