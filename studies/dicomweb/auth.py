"""Who may call /dicomweb/, and the base view every DICOMweb resource derives from.

Three ways to authenticate, tried in this order:
``Authorization: Token <key>`` or ``Authorization: Bearer <key>`` (DRF's authtoken keys),
``Authorization: Basic`` (username and password), and the browser session of the web UI
(CSRF-checked on POST, as DRF does). Without credentials the answer is 401 with a
``WWW-Authenticate`` challenge (RFC 9110 11.6.1), never a redirect to the login page.

Errors are answered as ``{"detail": "..."}`` JSON with the status PS3.18 8.5 asks for, and
the DRF content negotiation is switched off: DICOMweb negotiates its own media types.
"""
from __future__ import annotations

from django.http import Http404, JsonResponse
from rest_framework import exceptions
from rest_framework.authentication import BasicAuthentication, SessionAuthentication
from rest_framework.negotiation import BaseContentNegotiation
from rest_framework.parsers import BaseParser
from rest_framework.permissions import IsAuthenticated
from rest_framework.renderers import JSONRenderer
from rest_framework.views import APIView

from audit import events as audit_events
from studies.api.authentication import TokenOrBearerAuthentication as _TokenOrBearer

REALM = "Lumen DICOMweb"


class DicomwebError(Exception):
    """A request DICOMweb refuses, with the HTTP status and a message for the client."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status
        self.message = message


class TokenOrBearerAuthentication(_TokenOrBearer):
    """The REST API's token authentication (studies/api/authentication.py), with the DICOMweb realm."""

    realm = REALM

    def authenticate_header(self, request) -> str:
        # Both challenges a client can answer here (RFC 9110 11.6.1 allows a list).
        return f'Bearer realm="{REALM}", Basic realm="{REALM}"'


class PasswordBasicAuthentication(BasicAuthentication):
    """HTTP Basic for accounts that log in with a password alone.

    A password is only half of a two-factor login: a person with an authenticator (or whose role
    must have one) uses an API token here, as a script would, never the password by itself.
    """

    def authenticate_credentials(self, userid, password, request=None):
        from accounts.twofactor import has_totp, requires_2fa

        user, auth = super().authenticate_credentials(userid, password, request)
        if has_totp(user) or requires_2fa(user):
            raise exceptions.AuthenticationFailed(
                "This account uses two-factor login: send an API token (Authorization: Bearer <key>) instead of the password."
            )
        return user, auth


class BodyLeftUnread(BaseParser):
    """Accepts any body without reading it: STOW-RS streams the body itself (multipart.py).

    Without a parser DRF's CSRF check (which looks at ``request.POST``) would answer 415 before
    the view could say what it does accept.
    """

    media_type = "*/*"

    def parse(self, stream, media_type=None, parser_context=None):
        return {}


class AcceptIgnored(BaseContentNegotiation):
    """DICOMweb answers in DICOM media types the resources negotiate themselves (406 there)."""

    def select_parser(self, request, parsers):
        return parsers[0]

    def select_renderer(self, request, renderers, format_suffix=None):
        return renderers[0], renderers[0].media_type


class DicomwebView(APIView):
    """Authentication, permission and error answers shared by every DICOMweb resource."""

    authentication_classes = [TokenOrBearerAuthentication, PasswordBasicAuthentication, SessionAuthentication]
    permission_classes = [IsAuthenticated]
    parser_classes = [BodyLeftUnread]
    renderer_classes = [JSONRenderer]
    content_negotiation_class = AcceptIgnored

    def handle_exception(self, exc):
        if isinstance(exc, DicomwebError):
            return error(exc.status, exc.message)
        if isinstance(exc, Http404):
            audit_events.access_denied(self.request, study_uid=self.kwargs.get("study_uid", ""))  # the trail only
            return error(404, str(exc) or "Not found.")
        if isinstance(exc, (exceptions.NotAuthenticated, exceptions.AuthenticationFailed)):
            response = error(401, str(exc.detail))
            response["WWW-Authenticate"] = self.get_authenticate_header(self.request)
            return response
        if isinstance(exc, exceptions.APIException):
            return error(exc.status_code, str(exc.detail))
        return super().handle_exception(exc)


def error(status: int, message: str) -> JsonResponse:
    return JsonResponse({"detail": message}, status=status)
