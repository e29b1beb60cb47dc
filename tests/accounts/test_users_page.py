"""The admin's users page: Admin role only; role change, (de)activation, 2FA flag; each audited."""
import pytest
from django.core import mail
from django.urls import reverse
from rest_framework.authtoken.models import Token

from accounts import twofactor
from accounts.roles import role_of
from audit.models import AuditEvent
from tests.accounts.totp import code_for

pytestmark = pytest.mark.django_db

POSTS = ["user-change-role", "user-deactivate", "user-reactivate", "user-reset-password", "user-reset-2fa", "user-require-2fa", "user-unrequire-2fa"]


@pytest.fixture
def admin_client(client, admin_user):
    client.force_login(admin_user)
    return client


def test_the_admin_lists_people_with_role_status_2fa_and_last_login(admin_client, alice, radiologist, charlie):
    device = twofactor.pending_device(radiologist)
    twofactor.confirm_totp(radiologist, code_for(device))
    page = admin_client.get(reverse("user-list"))
    assert page.status_code == 200
    rows = {p.username: p for p in page.context["page"]}
    assert set(rows) == {"admin", "alice", "rita", "charlie"}
    assert (rows["rita"].lumen_role, rows["rita"].has_2fa) == ("Radiologist", True)
    assert (rows["alice"].lumen_role, rows["alice"].has_2fa, rows["charlie"].lumen_role) == ("Referrer", False, None)
    assert b'id="nav-users"' in page.content

    found = admin_client.get(reverse("user-list"), {"q": "ali"})
    assert [p.username for p in found.context["page"]] == ["alice"]
    by_role = admin_client.get(reverse("user-list"), {"role": "Radiologist"})
    assert [p.username for p in by_role.context["page"]] == ["rita"]


@pytest.mark.parametrize("persona", ["alice", "radiologist", "patient_user", "charlie"])
def test_nobody_but_an_admin_reaches_the_page_or_its_posts(client, persona, request, alice):
    user = request.getfixturevalue(persona)
    client.force_login(user)
    assert client.get(reverse("user-list")).status_code == 403
    assert client.get(reverse("user-detail", args=[alice.pk])).status_code == 403
    assert client.post(reverse("user-invite"), {"email": "x@example.org", "first_name": "X", "role": "Admin"}).status_code == 403
    for name in POSTS:
        assert client.post(reverse(name, args=[alice.pk]), {"role": "Admin"}).status_code == 403, name
    assert b'id="nav-users"' not in client.get(reverse("study-list")).content
    alice.refresh_from_db()
    assert (role_of(alice), alice.is_active, alice.require_2fa) == ("Referrer", True, False)
    assert not AuditEvent.objects.filter(action="role-change").exists() and not mail.outbox


def test_anonymous_visitors_are_sent_to_the_login_page(client, alice):
    response = client.get(reverse("user-list"))
    assert response.status_code == 302 and response["Location"].startswith(reverse("login"))
    assert client.post(reverse("user-deactivate", args=[alice.pk])).status_code == 302
    alice.refresh_from_db()
    assert alice.is_active


def test_the_actions_are_post_only_and_need_the_csrf_token(admin_user, alice):
    from django.test import Client

    browser = Client(enforce_csrf_checks=True)
    browser.force_login(admin_user)
    assert browser.get(reverse("user-deactivate", args=[alice.pk])).status_code == 405
    assert browser.post(reverse("user-deactivate", args=[alice.pk])).status_code == 403
    alice.refresh_from_db()
    assert alice.is_active


def test_a_role_change_writes_one_role_change_row(admin_client, admin_user, alice):
    response = admin_client.post(reverse("user-change-role", args=[alice.pk]), {"role": "Radiologist"})
    assert response.status_code == 302
    assert role_of(type(alice).objects.get(pk=alice.pk)) == "Radiologist"
    [row] = AuditEvent.objects.filter(action="role-change")
    assert (row.event, row.user_id, row.detail) == ("110113", admin_user.pk, {"target": "alice", "target_id": alice.pk, "from": "Referrer", "to": "Radiologist"})
    # The same role again changes nothing and writes nothing.
    admin_client.post(reverse("user-change-role", args=[alice.pk]), {"role": "Radiologist"})
    assert AuditEvent.objects.filter(action="role-change").count() == 1


def test_an_unknown_role_is_refused(admin_client, alice):
    admin_client.post(reverse("user-change-role", args=[alice.pk]), {"role": "Overlord"})
    assert role_of(type(alice).objects.get(pk=alice.pk)) == "Referrer"
    assert not AuditEvent.objects.filter(action="role-change").exists()


def test_an_admin_cannot_deactivate_or_demote_themselves(admin_client, admin_user):
    admin_client.post(reverse("user-deactivate", args=[admin_user.pk]))
    admin_client.post(reverse("user-change-role", args=[admin_user.pk]), {"role": "Referrer"})
    admin_user.refresh_from_db()
    assert admin_user.is_active and admin_user.is_superuser and not admin_user.groups.exists()
    assert not AuditEvent.objects.filter(action="role-change").exists()


def test_a_deactivated_person_can_neither_log_in_nor_use_their_token(admin_client, client, alice):
    token = Token.objects.create(user=alice)
    api = client.__class__()
    assert api.get(reverse("api:study-list"), HTTP_AUTHORIZATION=f"Token {token.key}").status_code == 200
    session = client.__class__()
    session.force_login(alice)

    assert admin_client.post(reverse("user-deactivate", args=[alice.pk])).status_code == 302
    alice.refresh_from_db()
    assert not alice.is_active
    assert api.get(reverse("api:study-list"), HTTP_AUTHORIZATION=f"Token {token.key}").status_code == 401
    assert session.get(reverse("study-list")).status_code == 302  # the open session ended
    login = client.__class__()
    login.post(reverse("login"), {"username": "alice", "password": "alice-password-123"})
    assert "_auth_user_id" not in login.session
    assert AuditEvent.objects.filter(detail__change="deactivated", detail__target="alice").count() == 1

    admin_client.post(reverse("user-reactivate", args=[alice.pk]))
    login.post(reverse("login"), {"username": "alice", "password": "alice-password-123"})
    assert "_auth_user_id" in login.session


def test_the_admin_requires_2fa_of_one_person(admin_client, client, alice):
    admin_client.post(reverse("user-require-2fa", args=[alice.pk]))
    alice.refresh_from_db()
    assert alice.require_2fa
    detail = admin_client.get(reverse("user-detail", args=[alice.pk]))
    assert b"(required)" in detail.content
    client.force_login(alice)
    assert client.get(reverse("study-list"))["Location"] == reverse("twofactor-enrol")
    assert AuditEvent.objects.filter(detail__change="2fa-required", detail__target="alice").count() == 1
