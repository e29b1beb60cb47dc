"""Request hygiene that holds for every route, before any view runs."""
from __future__ import annotations

from django.http import HttpResponseBadRequest, JsonResponse

JSON_PREFIXES = ("/api/", "/dicomweb/")


class RejectNulMiddleware:
    """400 for a NUL character in the path or the query string.

    No UID, name or key can contain one, and PostgreSQL refuses it in any text comparison:
    left to the views, ``/api/studies/1.2%00/`` or ``/dicomweb/studies?PatientID=%00`` became
    a 500 from the database driver. Form and JSON bodies are covered by Django's and DRF's
    CharField validators (ProhibitNullCharactersValidator).
    """

    message = "NUL characters are not allowed in the URL."

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if "\x00" in request.path or "%00" in request.META.get("QUERY_STRING", ""):
            if request.path.startswith(JSON_PREFIXES):
                return JsonResponse({"detail": self.message, "code": "invalid"}, status=400)
            return HttpResponseBadRequest(self.message, content_type="text/plain")
        return self.get_response(request)
