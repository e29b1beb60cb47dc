"""Audit rows can be written once and never changed or removed: not through the ORM, not
through a bulk query, not through raw SQL (the database trigger), on PostgreSQL and SQLite."""
import pytest
from django.db import DatabaseError, connection, transaction

from audit.models import Action, AppendOnly, AuditEvent, Event, Outcome
from audit.services import record

pytestmark = pytest.mark.django_db


@pytest.fixture
def row(admin_user):
    return record(Event.INSTANCES_ACCESSED, Action.STUDY_VIEW, user=admin_user, ip="10.0.0.7", study_uid="1.2.3", patient_id="P-1")


def test_a_recorded_event_keeps_who_what_and_outcome(row, admin_user):
    stored = AuditEvent.objects.get(pk=row.pk)
    assert (stored.event, stored.action, stored.outcome) == ("110103", "study-view", Outcome.SUCCESS)
    assert (stored.user_id, stored.username, stored.ip, stored.study_uid, stored.patient_id) == (admin_user.pk, "admin", "10.0.0.7", "1.2.3", "P-1")


def test_saving_a_recorded_event_again_is_refused(row):
    row.outcome = Outcome.SERIOUS_FAILURE
    with pytest.raises(AppendOnly):
        row.save()
    assert AuditEvent.objects.get(pk=row.pk).outcome == Outcome.SUCCESS


def test_deleting_an_event_through_the_orm_is_refused(row):
    with pytest.raises(AppendOnly):
        row.delete()
    with pytest.raises(AppendOnly):
        AuditEvent.objects.filter(pk=row.pk).delete()
    with pytest.raises(AppendOnly):
        AuditEvent.objects.filter(pk=row.pk).update(outcome=Outcome.MAJOR_FAILURE)
    assert AuditEvent.objects.filter(pk=row.pk, outcome=Outcome.SUCCESS).exists()


def test_the_database_refuses_a_raw_update(row):
    with pytest.raises(DatabaseError, match="append-only"):
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("UPDATE audit_auditevent SET outcome = 12 WHERE id = %s", [row.pk])
    assert AuditEvent.objects.get(pk=row.pk).outcome == Outcome.SUCCESS


def test_the_database_refuses_a_raw_delete(row):
    with pytest.raises(DatabaseError, match="append-only"):
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("DELETE FROM audit_auditevent WHERE id = %s", [row.pk])
    assert AuditEvent.objects.filter(pk=row.pk).exists()


def test_deleting_a_user_leaves_their_trail_intact(row, admin_user):
    admin_user.delete()
    stored = AuditEvent.objects.get(pk=row.pk)
    assert stored.username == "admin"


def test_an_event_that_cannot_be_written_is_logged_when_not_strict(settings, caplog):
    settings.LUMEN_AUDIT_STRICT = False
    # An IP that is not an address fails at the database on PostgreSQL (inet) and on the
    # model's length/type on neither; force a failure with a detail that cannot be JSON.
    assert record(Event.QUERY, Action.QIDO, detail={"bad": object()}) is None
    assert "AUDIT EVENT NOT RECORDED" in caplog.text
    assert not AuditEvent.objects.exists()


def test_an_event_that_cannot_be_written_raises_when_strict():
    with pytest.raises(TypeError):
        record(Event.QUERY, Action.QIDO, detail={"bad": object()})
