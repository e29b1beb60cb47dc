"""Django's database sessions (same table, same rows), read by SQL compiled once per process
(studies/prepared.py), and with the session's person in the same query once the process knows
who that is. The web UI and the viewer, which asks for a CT series one frame per request, load
the session and then its person on every request: one round trip instead of two.

The person is known from the session's key: a key never changes person (Django's ``login``
gives the session a new key, ``logout`` deletes it), and every load still decodes the session
and checks that it names that person before ``ModelBackend.get_user`` takes the row.
"""
from __future__ import annotations

from contextvars import ContextVar

from django.contrib.auth import SESSION_KEY, get_user_model
from django.contrib.sessions.backends import db
from django.contrib.sessions.models import Session
from django.db.models import OuterRef, Subquery
from django.utils import timezone

from accounts.people import person_columns, person_from_row
from accounts.roles import role_subquery
from studies.prepared import PreparedQuery

# Session key -> the person's id, as this process last read it; bounded: cleared when full.
_person_of_key: dict[str, str] = {}
MAX_KNOWN_KEYS = 10_000
# The person loaded with this request's session, until ModelBackend.get_user takes it.
_loaded_person: ContextVar = ContextVar("lumen_session_person", default=None)


class SessionStore(db.SessionStore):
    def __init__(self, session_key=None):
        super().__init__(session_key)
        _loaded_person.set(None)  # one store per request: nothing loaded before it may be handed on

    def _get_session_from_db(self):
        """Django's lookup (the row if it has not expired, else None and no key)."""
        key = self.session_key
        if not key:
            return None
        found = _with_person(key)
        if found is None:
            found = _session_by_key.rows(key=key)
        if found and found[0][0] is not None and found[0][1] > timezone.now():
            data, expire_date = found[0][:2]
            return Session(session_key=key, session_data=data, expire_date=expire_date)
        _person_of_key.pop(key, None)
        _loaded_person.set(None)
        self._session_key = None
        return None

    def load(self):
        data = super().load()
        person = _loaded_person.get()
        person_id = data.get(SESSION_KEY)
        if person is not None and str(person.pk) != person_id:
            _loaded_person.set(None)  # the session names someone else: get_user asks for them itself
        if person_id is not None and self.session_key:
            if len(_person_of_key) >= MAX_KNOWN_KEYS:
                _person_of_key.clear()
            _person_of_key[self.session_key] = person_id
        return data


def _with_person(key: str):
    """The session row with its person and role, when this process knows whose it is; None when it
    does not or the person is gone (the plain lookup then answers)."""
    person_id = _person_of_key.get(key)
    if person_id is None:
        return None
    found = _session_with_person.rows(key=key, user_id=get_user_model()._meta.pk.to_python(person_id))
    if not found:
        return None
    role, *values = found[0][2:]
    _loaded_person.set(person_from_row(values, role))
    return found


def take_loaded_person(user_id):
    """The person loaded with this request's session if it is ``user_id``, else None; once."""
    person = _loaded_person.get()
    _loaded_person.set(None)
    return person if person is not None and person.pk == user_id else None


_session_by_key = PreparedQuery(
    lambda shape, key: Session.objects.filter(session_key=key).values_list("session_data", "expire_date"), key=str
)


def _session_with_person_query(shape, *, key: str, user_id: int):
    session = Session.objects.filter(session_key=key)
    return (
        get_user_model()
        .objects.filter(pk=user_id)
        .annotate(
            session_data=Subquery(session.values("session_data")),
            session_expiry=Subquery(session.values("expire_date")),
            role=role_subquery(OuterRef("pk")),
        )
        .values_list("session_data", "session_expiry", "role", *person_columns())
    )


_session_with_person = PreparedQuery(_session_with_person_query, key=str, user_id=int)
