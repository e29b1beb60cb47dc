"""`manage.py flush` (an operator's command, and how transactional tests reset the database)
still empties the audit table, although the application can never delete a row."""
import pytest
from django.core.management import call_command

from audit.models import Action, AuditEvent, Event
from audit.services import record


@pytest.mark.django_db(transaction=True)
def test_flush_empties_the_audit_table():
    record(Event.APPLICATION_ACTIVITY, Action.UPLOAD, username="system")
    call_command("flush", interactive=False, verbosity=0)
    assert not AuditEvent.objects.exists()
