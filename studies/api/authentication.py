"""The token authentication of the REST API and of DICOMweb.

A module of its own (no view imports), so settings can name it in DRF's
DEFAULT_AUTHENTICATION_CLASSES without a circular import of ``rest_framework.views``.
"""
from __future__ import annotations

import functools

from django.db import DEFAULT_DB_ALIAS
from django.db.models import OuterRef
from rest_framework import exceptions
from rest_framework.authentication import TokenAuthentication

from accounts.people import person_columns, person_from_row
from accounts.roles import role_subquery
from studies.prepared import PreparedQuery

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
        """DRF's lookup, with the person's role in the same query (studies/selectors.py asks for it
        next), compiled once per process: every API and DICOMweb request runs it."""
        model = self.get_model()
        found = _token_query(model).rows(key=key)
        if not found:
            raise exceptions.AuthenticationFailed("Invalid token.")
        created, role, *user_values = found[0]
        user = person_from_row(user_values, role)
        if not user.is_active:
            raise exceptions.AuthenticationFailed("User inactive or deleted.")
        token = model.from_db(DEFAULT_DB_ALIAS, ["key", "user_id", "created"], [key, user.pk, created])
        token.user = user
        return user, token

    def authenticate_header(self, request) -> str:
        return f'Bearer realm="{self.realm}"'


@functools.cache
def _token_query(model) -> PreparedQuery:
    return PreparedQuery(
        lambda shape, key: model.objects.filter(key=key)
        .annotate(role=role_subquery(OuterRef("user_id")))
        .values_list("created", "role", *person_columns("user__")),
        key=str,
    )
