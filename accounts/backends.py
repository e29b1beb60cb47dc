"""Django's ModelBackend, loading a session's person with their role in one query."""
from __future__ import annotations

from django.contrib.auth import backends, get_user_model
from django.db.models import OuterRef

from accounts.people import person_columns, person_from_row
from accounts.roles import role_subquery
from accounts.sessions import take_loaded_person
from studies.prepared import PreparedQuery


class ModelBackend(backends.ModelBackend):
    """Django's ModelBackend. ``get_user``, which loads the person of every session request, takes
    the person the session's own query brought along (accounts/sessions.py), else reads them with
    their role by SQL compiled once per process: no ORM compilation, no second look at the groups."""

    def get_user(self, user_id):
        user = take_loaded_person(user_id) or _person_by_id(user_id)
        return user if user is not None and self.user_can_authenticate(user) else None


def _person_by_id(user_id):
    found = _person_query.rows(user_id=user_id)
    if not found:
        return None
    role, *values = found[0]
    return person_from_row(values, role)


_person_query = PreparedQuery(
    lambda shape, user_id: get_user_model()
    .objects.filter(pk=user_id)
    .annotate(role=role_subquery(OuterRef("pk")))
    .values_list("role", *person_columns()),
    user_id=int,
)
