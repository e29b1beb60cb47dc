"""On PostgreSQL an audit row written outside a transaction commits without waiting for the WAL
flush (audit/services.py), in one round trip, and the setting ends with that row's transaction."""
import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from audit.models import Action, AuditEvent, Event
from audit.services import record

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL's synchronous_commit"),
]


def synchronous_commit() -> str:
    with connection.cursor() as cursor:
        cursor.execute("SHOW synchronous_commit")
        return cursor.fetchone()[0]


def test_a_row_is_written_in_one_statement_and_later_commits_wait_for_the_flush_again(settings):
    settings.LUMEN_AUDIT_ASYNC_COMMIT = True
    assert synchronous_commit() == "on"

    with CaptureQueriesContext(connection) as queries:
        row = record(Event.QUERY, Action.QIDO, username="rita", ip="127.0.0.1", detail={"results": 3})

    assert row is not None and row.pk is not None
    assert [q["sql"].split()[0] for q in queries] == ["INSERT"]
    assert "SET LOCAL synchronous_commit TO OFF" in queries[0]["sql"]
    assert AuditEvent.objects.get(pk=row.pk).detail == {"results": 3}
    assert synchronous_commit() == "on"  # SET LOCAL ended with the row's implicit transaction
