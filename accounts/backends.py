"""Loading a person with their role in one query, for the session (``ModelBackend``) and the API
token (studies/api/authentication.py): every request then asks the role (studies/selectors.py).
"""
from __future__ import annotations

import functools

from django.contrib.auth import backends, get_user_model
from django.db import DEFAULT_DB_ALIAS
from django.db.models import OuterRef

from accounts.roles import remember_role, role_subquery
from studies.prepared import PreparedQuery


class ModelBackend(backends.ModelBackend):
    """Django's ModelBackend; ``get_user``, which loads the person of every session request, brings
    the role along by SQL compiled once per process: one round trip instead of two, and no ORM
    compilation (a viewer makes one request per frame)."""

    def get_user(self, user_id):
        found = _person_by_id().rows(user_id=user_id)
        if not found:
            return None
        role, *values = found[0]
        user = person_from_row(values, role)
        return user if self.user_can_authenticate(user) else None


def person_columns(path: str = "") -> list[str]:
    """The person's columns for ``values_list``, reached through ``path`` (e.g. ``"user__"``)."""
    return [path + field.attname for field in get_user_model()._meta.concrete_fields]


def person_from_row(values, role: str | None):
    """The person whose ``person_columns`` are ``values``, with the role read alongside remembered."""
    user_model = get_user_model()
    user = user_model.from_db(DEFAULT_DB_ALIAS, person_columns(), values)
    remember_role(user, role)
    return user


@functools.cache
def _person_by_id() -> PreparedQuery:
    return PreparedQuery(
        lambda shape, user_id: get_user_model()
        .objects.filter(pk=user_id)
        .annotate(role=role_subquery(OuterRef("pk")))
        .values_list("role", *person_columns()),
        user_id=int,
    )
