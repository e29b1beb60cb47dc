"""Logging in: each attempt is one User Authentication row (DCM 110114); repeated failures lock
the account (per username) and the address (per IP) out, even for the right password, and the
session id changes at login and lives SESSION_COOKIE_AGE seconds."""
import pytest
from django.conf import settings
from django.urls import reverse

from audit.models import AuditEvent, Outcome

pytestmark = pytest.mark.django_db

ALICE_PASSWORD = "alice-password-123"


def login(client, username, password, ip="10.1.1.1"):
    return client.post(reverse("login"), {"username": username, "password": password}, REMOTE_ADDR=ip)


def logged_in(client) -> bool:
    return "_auth_user_id" in client.session


def rows(action):
    return list(AuditEvent.objects.filter(action=action))


def test_alice_logging_in_gets_a_new_session_id_and_one_login_row(client, alice):
    session = client.session
    session["before-login"] = True
    session.save()
    before = session.session_key
    client.cookies[settings.SESSION_COOKIE_NAME] = before

    response = login(client, "alice", ALICE_PASSWORD)

    assert response.status_code == 302 and logged_in(client)
    assert client.cookies[settings.SESSION_COOKIE_NAME].value != before  # rotated: no session fixation
    assert client.session.get_expiry_age() == settings.SESSION_COOKIE_AGE == 8 * 3600
    [row] = rows("login")
    assert (row.event, row.outcome, row.user_id, row.username, row.ip) == ("110114", Outcome.SUCCESS, alice.pk, "alice", "10.1.1.1")


def test_a_wrong_password_is_one_failed_login_row_without_the_password(client, alice):
    response = login(client, "alice", "guess-1")
    assert response.status_code == 200 and not logged_in(client)
    [row] = rows("login-failed")
    assert (row.event, row.outcome, row.user_id, row.username) == ("110114", Outcome.MINOR_FAILURE, None, "alice")
    assert "guess-1" not in str(row.detail)


def test_repeated_wrong_passwords_lock_alice_out_even_with_the_right_one(client, alice):
    limit = settings.AXES_FAILURE_LIMIT
    for n in range(limit):
        login(client, "alice", f"guess-{n}", ip=f"10.2.0.{n}")  # a new address each time: the username locks

    assert len(rows("login-failed")) == limit - 1
    assert [(r.event, r.outcome, r.username) for r in rows("lockout")] == [("110114", Outcome.SERIOUS_FAILURE, "alice")]

    refused = login(client, "alice", ALICE_PASSWORD, ip="10.2.1.1")
    assert refused.status_code == 429 and not logged_in(client)
    assert b"Sign-in temporarily locked" in refused.content
    assert len(rows("lockout")) == 2 and not rows("login")


def test_one_address_trying_many_usernames_is_locked_out_for_everyone(client, alice, charlie):
    for n in range(settings.AXES_FAILURE_LIMIT):
        login(client, f"nobody{n}", "whatever", ip="10.3.3.3")

    assert login(client, "alice", ALICE_PASSWORD, ip="10.3.3.3").status_code == 429
    assert login(client, "charlie", "charlie-password-123", ip="10.4.4.4").status_code == 302  # another address is fine


def test_a_success_before_the_limit_resets_the_count(client, alice):
    for n in range(settings.AXES_FAILURE_LIMIT - 1):
        login(client, "alice", f"guess-{n}")
    assert login(client, "alice", ALICE_PASSWORD).status_code == 302
    client.logout()
    for n in range(settings.AXES_FAILURE_LIMIT - 1):
        login(client, "alice", f"again-{n}")
    assert login(client, "alice", ALICE_PASSWORD).status_code == 302
    assert not rows("lockout")


def test_logging_out_is_one_logout_row(client, alice):
    login(client, "alice", ALICE_PASSWORD)
    client.post(reverse("logout"))
    [row] = rows("logout")
    assert (row.event, row.outcome, row.user_id) == ("110114", Outcome.SUCCESS, alice.pk)
