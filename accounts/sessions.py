"""Django's database sessions (same table, same rows), read by SQL compiled once per process
(studies/prepared.py): the web UI and the viewer, which asks for a CT series one frame per
request, load the session on every request; the ORM spent longer compiling that lookup than
PostgreSQL answering it.
"""
from __future__ import annotations

from django.contrib.sessions.backends import db
from django.contrib.sessions.models import Session
from django.utils import timezone

from studies.prepared import PreparedQuery


class SessionStore(db.SessionStore):
    def _get_session_from_db(self):
        """Django's lookup (the row if it has not expired, else None and no key)."""
        found = _session_by_key.rows(key=self.session_key) if self.session_key else []
        if found:
            data, expire_date = found[0]
            if expire_date > timezone.now():
                return Session(session_key=self.session_key, session_data=data, expire_date=expire_date)
        self._session_key = None
        return None


_session_by_key = PreparedQuery(
    lambda shape, key: Session.objects.filter(session_key=key).values_list("session_data", "expire_date"), key=str
)
