"""The audit page: the admin searches the trail by user, AE, event, study, date and outcome,
pages through it and exports the filtered set as CSV; reading it is itself audited (110101).
Alice (not an admin) gets a 404, as for a page that does not exist."""
import csv
import datetime as dt
import io

import pytest
from django.urls import reverse
from django.utils import timezone

from audit.models import Action, AuditEvent, Event, Outcome
from audit.services import record

pytestmark = pytest.mark.django_db


@pytest.fixture
def trail(alice):
    record(Event.USER_AUTHENTICATION, Action.LOGIN_FAILED, user=None, username="alice", ip="10.0.0.9", outcome=Outcome.MINOR_FAILURE)
    record(Event.INSTANCES_ACCESSED, Action.STUDY_VIEW, user=alice, study_uid="1.2.3.4", patient_id="=HYPERLINK(\"http://x\")")
    record(Event.INSTANCES_TRANSFERRED, Action.C_STORE, ae="CT_SCANNER", ip="10.0.0.50", study_uid="1.2.3.4", detail={"stored": 3, "failed": 0})


@pytest.fixture
def admin_client(client, admin_user):
    client.force_login(admin_user)
    return client


def shown_actions(response) -> list[str]:
    """The listed actions, without the admin's own login and searches (audited too)."""
    return [e.action for e in response.context["page"].object_list if e.action not in ("audit-search", "login")]


def test_the_admin_sees_the_trail_newest_first_and_the_nav_link(admin_client, trail):
    response = admin_client.get(reverse("audit-search"))
    assert response.status_code == 200
    assert shown_actions(response)[:3] == ["c-store", "study-view", "login-failed"]
    assert b'id="nav-audit"' in response.content


@pytest.mark.parametrize(
    "query, expected",
    [
        ({"user": "ali"}, ["study-view", "login-failed"]),
        ({"ae": "ct_scanner"}, ["c-store"]),
        ({"event": "110103"}, ["study-view"]),
        ({"study_uid": "1.2.3.4"}, ["c-store", "study-view"]),
        ({"outcome": "4"}, ["login-failed"]),
        ({"action": "c-store"}, ["c-store"]),
    ],
)
def test_the_admin_filters_the_trail(admin_client, trail, query, expected):
    response = admin_client.get(reverse("audit-search"), query)
    assert shown_actions(response) == expected


def test_a_date_range_selects_by_day(admin_client, trail):
    today = timezone.localdate()
    assert len(admin_client.get(reverse("audit-search"), {"date_from": today, "date_to": today}).context["page"].object_list) >= 3
    yesterday = today - dt.timedelta(days=1)
    assert not admin_client.get(reverse("audit-search"), {"date_to": yesterday}).context["page"].object_list


def test_pages_hold_a_hundred_events(admin_client):
    for n in range(130):
        record(Event.QUERY, Action.QIDO, username=f"u{n}")
    first = admin_client.get(reverse("audit-search"), {"action": "qido"})
    second = admin_client.get(reverse("audit-search"), {"action": "qido", "page": 2})
    assert len(first.context["page"].object_list) == 100 and len(second.context["page"].object_list) == 30
    assert b'rel="next"' in first.content


def test_searching_and_exporting_are_themselves_audited(admin_client, admin_user, trail):
    admin_client.get(reverse("audit-search"), {"user": "alice"})
    response = admin_client.get(reverse("audit-export"), {"user": "alice"})
    b"".join(response.streaming_content)
    used = list(AuditEvent.objects.filter(event=Event.AUDIT_LOG_USED).order_by("id").values_list("action", "user_id"))
    assert used == [("audit-search", admin_user.pk), ("audit-export", admin_user.pk)]


def test_the_csv_export_streams_the_filtered_set_with_formulas_defused(admin_client, trail):
    response = admin_client.get(reverse("audit-export"), {"study_uid": "1.2.3.4"})
    assert response.status_code == 200 and response.streaming
    assert response["Content-Type"].startswith("text/csv") and "attachment" in response["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert [r["action"] for r in rows] == ["c-store", "study-view"]
    assert rows[0]["calling_ae"] == "CT_SCANNER" and rows[0]["event"] == "110104" and rows[0]["detail"] == '{"failed": 0, "stored": 3}'
    assert rows[1]["patient_id"] == "'=HYPERLINK(\"http://x\")"


def test_alice_who_is_not_an_admin_cannot_find_the_page(client, alice, trail):
    client.force_login(alice)
    assert client.get(reverse("audit-search")).status_code == 404
    assert client.get(reverse("audit-export")).status_code == 404
    assert b'id="nav-audit"' not in client.get(reverse("study-list")).content


def test_an_admin_by_role_reads_the_trail(client, django_user_model):
    from accounts.roles import ADMIN, set_role

    dana = django_user_model.objects.create_user("dana", "dana@example.org", "dana-password-123")
    set_role(dana, ADMIN)
    client.force_login(dana)
    assert client.get(reverse("audit-search")).status_code == 200


def test_the_audit_permission_given_to_a_person_or_to_their_group_opens_the_trail(client, alice, radiologist, trail):
    from django.contrib.auth.models import Group, Permission

    view = Permission.objects.get(content_type__app_label="audit", codename="view_auditevent")
    alice.user_permissions.add(view)
    officers = Group.objects.create(name="Privacy officers")
    officers.permissions.add(view)
    radiologist.groups.add(officers)
    for person in (alice, radiologist):
        client.force_login(person)
        assert client.get(reverse("audit-search")).status_code == 200
        assert b'id="nav-audit"' in client.get(reverse("study-list")).content

    officers.permissions.remove(view)
    client.force_login(radiologist)
    assert client.get(reverse("audit-search")).status_code == 404
    assert b'id="nav-audit"' not in client.get(reverse("study-list")).content


def test_the_django_admin_shows_events_read_only(admin_client, trail):
    event = AuditEvent.objects.first()
    assert admin_client.get(reverse("admin:audit_auditevent_changelist")).status_code == 200
    assert admin_client.get(reverse("admin:audit_auditevent_delete", args=[event.pk])).status_code == 403
    assert admin_client.post(reverse("admin:audit_auditevent_change", args=[event.pk]), {"action": "x"}).status_code == 403
