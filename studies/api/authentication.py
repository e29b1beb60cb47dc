"""The token authentication of the REST API and of DICOMweb.

A module of its own (no view imports), so settings can name it in DRF's
DEFAULT_AUTHENTICATION_CLASSES without a circular import of ``rest_framework.views``.
"""
from __future__ import annotations

from django.db.models import OuterRef
from rest_framework import exceptions
from rest_framework.authentication import TokenAuthentication

from accounts.roles import remember_role, role_subquery

REALM = "Lumen"


class TokenOrBearerAuthentication(TokenAuthentication):
    """DRF's token, sent as ``Token <key>`` (DRF's spelling) or ``Bearer <key>`` (what viewers send)."""

    keywords = (b"token", b"bearer")
    realm = REALM

    def authenticate(self, request):
        parts = request.META.get("HTTP_AUTHORIZATION", "").encode("latin-1", "replace").split()
        if not parts or parts[0].lower() not in self.keywords:
            return None
        if len(parts) != 2:
            raise exceptions.AuthenticationFailed("Invalid token header: expected `Bearer <key>` or `Token <key>`.")
        try:
            key = parts[1].decode("ascii")
        except UnicodeError:
            raise exceptions.AuthenticationFailed("Invalid token header: the key has invalid characters.") from None
        return self.authenticate_credentials(key)

    def authenticate_credentials(self, key):
        """DRF's lookup, with the person's role in the same query (studies/selectors.py asks for it next)."""
        model = self.get_model()
        try:
            token = model.objects.select_related("user").annotate(role=role_subquery(OuterRef("user_id"))).get(key=key)
        except model.DoesNotExist:
            raise exceptions.AuthenticationFailed("Invalid token.") from None
        if not token.user.is_active:
            raise exceptions.AuthenticationFailed("User inactive or deleted.")
        remember_role(token.user, token.role)
        return token.user, token

    def authenticate_header(self, request) -> str:
        return f'Bearer realm="{self.realm}"'
