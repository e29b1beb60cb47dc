"""Invitations and password resets: a mail with a one-time, expiring link; the set-password page
applies the validators; after use (or expiry, or a newer link) the link is dead."""
import re
from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from accounts.models import AccountLink
from accounts.roles import role_of
from audit.models import AuditEvent

pytestmark = pytest.mark.django_db

GOOD_PASSWORD = "violet-harbour-lantern-42"
LINK = re.compile(r"(https?://\S+/account/set-password/[^/\s]+/)")


def invite(client, **fields):
    data = {"email": "nora@example.org", "first_name": "Nora", "last_name": "Quist", "role": "Referrer", **fields}
    return client.post(reverse("user-invite"), data)


def link_in(message) -> str:
    [url] = LINK.findall(message.body)
    return url


def path_of(url: str) -> str:
    return "/" + url.split("://", 1)[1].split("/", 1)[1]


@pytest.fixture
def admin_client(client, admin_user):
    client.force_login(admin_user)
    return client


def test_an_invitation_mails_a_link_that_sets_the_password_once(admin_client, client, settings, django_user_model):
    settings.LUMEN_BASE_URL = "https://pacs.example.org"
    response = invite(admin_client)
    nora = django_user_model.objects.get(username="nora@example.org")
    assert response.status_code == 302 and response["Location"] == reverse("user-detail", args=[nora.pk])
    assert (nora.email, nora.first_name, role_of(nora), nora.has_usable_password()) == ("nora@example.org", "Nora", "Referrer", False)

    [message] = mail.outbox
    assert message.to == ["nora@example.org"]
    url = link_in(message)
    assert url.startswith("https://pacs.example.org/account/set-password/")
    token = url.rstrip("/").rsplit("/", 1)[1]
    link = AccountLink.objects.get(user=nora)
    assert token not in link.token_hash and len(link.token_hash) == 64  # only the hash is kept
    assert link.expires_at - link.created_at == timedelta(days=settings.LUMEN_INVITATION_DAYS)

    anonymous = client.__class__()
    page = anonymous.get(path_of(url))
    assert page.status_code == 200 and b"nora@example.org" in page.content
    weak = anonymous.post(path_of(url), {"new_password1": "12345678", "new_password2": "12345678"})
    assert weak.status_code == 200 and b"too common" in weak.content  # the password validators apply
    nora.refresh_from_db()
    assert not nora.has_usable_password()

    done = anonymous.post(path_of(url), {"new_password1": GOOD_PASSWORD, "new_password2": GOOD_PASSWORD})
    assert done.status_code == 302 and done["Location"] == reverse("login")
    assert anonymous.post(reverse("login"), {"username": "nora@example.org", "password": GOOD_PASSWORD}).status_code == 302
    assert "_auth_user_id" in anonymous.session

    again = client.__class__()
    assert again.get(path_of(url)).status_code == 404
    replay = again.post(path_of(url), {"new_password1": "another-" + GOOD_PASSWORD, "new_password2": "another-" + GOOD_PASSWORD})
    assert replay.status_code == 404
    nora.refresh_from_db()
    assert nora.check_password(GOOD_PASSWORD)

    assert AuditEvent.objects.filter(detail__change="invited", detail__target="nora@example.org").count() == 1
    [set_row] = AuditEvent.objects.filter(detail__change="password-set")
    assert set_row.user_id == nora.pk


def test_an_expired_link_is_refused(admin_client, client, django_user_model):
    invite(admin_client)
    url = link_in(mail.outbox[0])
    AccountLink.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    anonymous = client.__class__()
    assert anonymous.get(path_of(url)).status_code == 404
    refused = anonymous.post(path_of(url), {"new_password1": GOOD_PASSWORD, "new_password2": GOOD_PASSWORD})
    assert refused.status_code == 404
    assert not django_user_model.objects.get(username="nora@example.org").has_usable_password()


def test_a_made_up_token_is_refused(client):
    assert client.get(reverse("set-password", args=["x" * 43])).status_code == 404


def test_a_second_invitation_for_the_same_address_is_refused(admin_client, django_user_model):
    invite(admin_client)
    again = invite(admin_client, email="NORA@example.org")
    assert again.status_code == 200 and b"already has an account" in again.content
    assert django_user_model.objects.filter(email__iexact="nora@example.org").count() == 1
    assert len(mail.outbox) == 1


def test_a_reset_link_replaces_older_links_and_sets_a_new_password(admin_client, client, alice, settings):
    first = admin_client.post(reverse("user-reset-password", args=[alice.pk]))
    second = admin_client.post(reverse("user-reset-password", args=[alice.pk]))
    assert first.status_code == second.status_code == 302
    old_url, new_url = link_in(mail.outbox[0]), link_in(mail.outbox[1])
    anonymous = client.__class__()
    assert anonymous.get(path_of(old_url)).status_code == 404
    link = AccountLink.objects.get(user=alice, used_at__isnull=True)
    assert (link.purpose, link.expires_at - link.created_at) == ("password-reset", timedelta(hours=settings.LUMEN_PASSWORD_RESET_HOURS))
    done = anonymous.post(path_of(new_url), {"new_password1": GOOD_PASSWORD, "new_password2": GOOD_PASSWORD})
    assert done.status_code == 302
    alice.refresh_from_db()
    assert alice.check_password(GOOD_PASSWORD)
    assert AuditEvent.objects.filter(detail__change="password-reset-sent", detail__target="alice").count() == 2


def test_a_link_of_a_deactivated_person_is_dead(admin_client, client, alice):
    admin_client.post(reverse("user-reset-password", args=[alice.pk]))
    url = link_in(mail.outbox[0])
    admin_client.post(reverse("user-deactivate", args=[alice.pk]))
    assert client.__class__().get(path_of(url)).status_code == 404


def test_nothing_is_kept_when_the_invitation_mail_cannot_be_sent(admin_client, settings, django_user_model):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", 9  # nothing listens on the discard port
    response = invite(admin_client)
    assert response.status_code == 200 and b"could not be sent" in response.content
    assert not django_user_model.objects.filter(username="nora@example.org").exists()
    assert not AccountLink.objects.exists()
    assert get_user_model().objects.count() == 1
