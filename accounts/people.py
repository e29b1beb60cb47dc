"""A person loaded with their role in the same query: what every request's authentication does
(API token, session), since every request then asks the role (studies/selectors.py)."""
from __future__ import annotations

from django.contrib.auth import get_user_model
from django.db import DEFAULT_DB_ALIAS

from accounts.roles import remember_role


def person_columns(path: str = "") -> list[str]:
    """The person's columns for ``values_list``, reached through ``path`` (e.g. ``"user__"``)."""
    return [path + field.attname for field in get_user_model()._meta.concrete_fields]


def person_from_row(values, role: str | None):
    """The person whose ``person_columns`` are ``values``, with the role read alongside remembered."""
    user = get_user_model().from_db(DEFAULT_DB_ALIAS, person_columns(), values)
    remember_role(user, role)
    return user
