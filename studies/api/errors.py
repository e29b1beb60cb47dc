"""Every error of the REST API answers JSON: ``{"detail": "<message>", "code": "<stable code>"}``.

Validation errors add ``"errors"`` with the per-field messages. Django's own 404 and 500
(a URL no view matches, an unhandled exception) answer the same shape under /api/; the
other paths keep Django's HTML pages.
"""
from __future__ import annotations

from django.http import Http404, JsonResponse
from django.views import defaults
from rest_framework import exceptions
from rest_framework.views import exception_handler as drf_exception_handler

API_PREFIX = "/api/"


def exception_handler(exc, context):
    if isinstance(exc, (Http404, exceptions.NotFound)):
        _record_denial(context)
    response = drf_exception_handler(exc, context)
    if response is None:
        return None  # an unhandled exception: Django's 500 (server_error below)
    data = response.data
    if isinstance(exc, exceptions.ValidationError) or not (isinstance(data, dict) and "detail" in data):
        response.data = {"detail": "Invalid input.", "code": "invalid", "errors": data}
    else:
        code = getattr(data["detail"], "code", None) or getattr(exc, "default_code", None) or "error"
        response.data = {"detail": str(data["detail"]), "code": code}
    return response


def _record_denial(context) -> None:
    """A 404 for a study (or a series or instance of a study) that exists but this user may not
    see writes the same access-denied row as the pages and DICOMweb (audit.events.access_denied);
    the answer stays the plain 404."""
    from audit import events
    from studies.models import Instance, Series

    view, request = context.get("view"), context.get("request")
    kwargs = getattr(view, "kwargs", None) or {}
    study_uid = kwargs.get("study_uid", "")
    if not study_uid and "\x00" not in kwargs.get("series_uid", "") + kwargs.get("sop_uid", ""):
        if kwargs.get("series_uid"):
            study_uid = Series.objects.filter(series_instance_uid=kwargs["series_uid"]).values_list("study__study_instance_uid", flat=True).first()
        elif kwargs.get("sop_uid"):
            study_uid = Instance.objects.filter(sop_instance_uid=kwargs["sop_uid"]).values_list("series__study__study_instance_uid", flat=True).first()
    if study_uid and request is not None:
        events.access_denied(request, study_uid=study_uid)


def page_not_found(request, exception):
    if request.path.startswith(API_PREFIX):
        return JsonResponse({"detail": "Not found.", "code": "not_found"}, status=404)
    return defaults.page_not_found(request, exception)


def server_error(request):
    if request.path.startswith(API_PREFIX):
        return JsonResponse({"detail": "Internal server error.", "code": "server_error"}, status=500)
    return defaults.server_error(request)
