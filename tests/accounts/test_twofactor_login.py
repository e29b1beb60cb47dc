"""Two-factor login: enrol an authenticator, then log in with password + code; wrong codes are
failed logins (audited, counted towards the lockout); required roles enrol before anything else."""
import pytest
from django.conf import settings
from django.urls import reverse
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts import twofactor
from audit.models import AuditEvent, Outcome
from tests.accounts.totp import code_for

pytestmark = pytest.mark.django_db

RITA_PASSWORD = "rita-password-123"


def enrolled_device(user):
    device = twofactor.pending_device(user)
    assert twofactor.confirm_totp(user, code_for(device))
    device.refresh_from_db()
    return device


def password_step(client, username="rita", password=RITA_PASSWORD, ip="10.9.0.1"):
    return client.post(reverse("login"), {"username": username, "password": password}, REMOTE_ADDR=ip)


def logged_in(client) -> bool:
    return "_auth_user_id" in client.session


def wrong(code: str) -> str:
    return f"{(int(code) + 500000) % 1000000:06d}"


def test_rita_enrols_with_the_code_her_app_computes_from_the_page(client, radiologist):
    client.force_login(radiologist)
    page = client.get(reverse("twofactor-enrol"))
    assert page.status_code == 200
    device = TOTPDevice.objects.get(user=radiologist, confirmed=False)
    assert device.config_url in page.content.decode().replace("&amp;", "&")
    assert page.content.decode().count("otpauth://totp/") == 1

    qr = client.get(reverse("twofactor-qr"))
    assert qr.status_code == 200 and qr["Content-Type"] == "image/svg+xml" and b"<svg" in qr.content
    assert "no-store" in qr["Cache-Control"]

    refused = client.post(reverse("twofactor-enrol"), {"code": wrong(code_for(device))})
    assert refused.status_code == 200 and not twofactor.has_totp(radiologist)

    device.refresh_from_db()
    device.throttle_reset()  # the wrong code above throttles the device for a second
    done = client.post(reverse("twofactor-enrol"), {"code": code_for(device)})
    assert done.status_code == 302 and twofactor.has_totp(radiologist)
    [row] = AuditEvent.objects.filter(detail__change="2fa-enrolled")
    assert (row.event, row.user_id, row.detail["target"]) == ("110113", radiologist.pk, "rita")


def test_the_qr_code_is_only_for_an_authenticator_being_set_up(client, radiologist):
    enrolled_device(radiologist)
    client.force_login(radiologist)
    assert client.get(reverse("twofactor-qr")).status_code == 404
    assert b"otpauth://" not in client.get(reverse("twofactor-enrol")).content


def test_with_an_authenticator_the_password_alone_does_not_log_in(client, radiologist):
    enrolled_device(radiologist)
    response = password_step(client)
    assert response.status_code == 302 and response["Location"] == reverse("login-code")
    assert not logged_in(client)
    assert client.get(reverse("study-list")).status_code == 302  # still the login page
    assert not AuditEvent.objects.filter(action="login").exists()


def test_password_then_the_right_code_logs_in_with_one_login_row(client, radiologist):
    device = enrolled_device(radiologist)
    password_step(client)
    page = client.get(reverse("login-code"))
    assert page.status_code == 200 and b"rita" in page.content
    response = client.post(reverse("login-code"), {"code": code_for(device, offset_steps=1)}, REMOTE_ADDR="10.9.0.1")
    assert response.status_code == 302 and response["Location"] == reverse(settings.LOGIN_REDIRECT_URL)
    assert logged_in(client) and int(client.session["_auth_user_id"]) == radiologist.pk
    [row] = AuditEvent.objects.filter(action="login")
    assert (row.event, row.user_id, row.outcome) == ("110114", radiologist.pk, Outcome.SUCCESS)


def test_a_wrong_code_is_refused_and_audited_as_a_failed_login(client, radiologist):
    device = enrolled_device(radiologist)
    password_step(client)
    response = client.post(reverse("login-code"), {"code": wrong(code_for(device, offset_steps=1))}, REMOTE_ADDR="10.9.0.1")
    assert response.status_code == 200 and not logged_in(client)
    assert b"not right" in response.content
    [row] = AuditEvent.objects.filter(action="login-failed")
    assert (row.event, row.outcome, row.username, row.user_id) == ("110114", Outcome.MINOR_FAILURE, "rita", None)


def test_wrong_codes_count_towards_the_lockout(client, radiologist):
    device = enrolled_device(radiologist)
    limit = settings.AXES_FAILURE_LIMIT
    password_step(client)
    for n in range(limit):
        TOTPDevice.objects.filter(pk=device.pk).update(throttling_failure_count=0)  # django-otp's own throttle aside
        response = client.post(reverse("login-code"), {"code": wrong(code_for(device, offset_steps=1))}, REMOTE_ADDR=f"10.9.1.{n}")
    assert response.status_code == 429 and not logged_in(client)
    assert AuditEvent.objects.filter(action="login-failed").count() == limit - 1
    assert AuditEvent.objects.filter(action="lockout", username="rita").count() == 1
    # Locked: the right password does not even reach the code step.
    refused = password_step(client, ip="10.9.2.1")
    assert refused.status_code == 429 and not logged_in(client)


def test_the_code_step_without_a_password_step_goes_back_to_login(client, radiologist):
    enrolled_device(radiologist)
    response = client.post(reverse("login-code"), {"code": "123456"})
    assert response.status_code == 302 and response["Location"] == reverse("login")
    assert not logged_in(client)


def test_a_required_role_must_enrol_before_anything_else(client, radiologist, settings):
    settings.LUMEN_REQUIRE_2FA_ROLES = ["Admin", "Radiologist"]
    response = password_step(client)
    assert response.status_code == 302 and logged_in(client)  # no device yet: password only
    for url in (reverse("study-list"), reverse("upload"), reverse("my-uploads")):
        blocked = client.get(url)
        assert blocked.status_code == 302 and blocked["Location"] == reverse("twofactor-enrol")
    api = client.get(reverse("api:study-list"))
    assert api.status_code == 403 and api.json()["code"] == "2fa_enrolment_required"
    page = client.get(reverse("twofactor-enrol"))
    assert page.status_code == 200 and b"must use two-factor" in page.content

    device = TOTPDevice.objects.get(user=radiologist, confirmed=False)
    assert client.post(reverse("twofactor-enrol"), {"code": code_for(device)}).status_code == 302
    assert client.get(reverse("study-list")).status_code == 200


def test_roles_not_listed_are_not_forced(client, alice, settings):
    settings.LUMEN_REQUIRE_2FA_ROLES = ["Radiologist"]
    client.force_login(alice)
    assert client.get(reverse("study-list")).status_code == 200


def test_the_per_person_flag_forces_enrolment_too(client, alice):
    alice.require_2fa = True
    alice.save()
    client.force_login(alice)
    assert client.get(reverse("study-list"))["Location"] == reverse("twofactor-enrol")


def test_django_admin_login_goes_through_our_login(client):
    response = client.get("/admin/login/?next=/admin/")
    assert response.status_code == 302 and response["Location"] == reverse("login") + "?next=/admin/"


def test_after_an_admin_reset_rita_logs_in_with_her_password_and_must_enrol_again(client, admin_user, radiologist, settings):
    settings.LUMEN_REQUIRE_2FA_ROLES = ["Radiologist"]
    enrolled_device(radiologist)
    admin = client.__class__()
    admin.force_login(admin_user)
    assert admin.post(reverse("user-reset-2fa", args=[radiologist.pk])).status_code == 302
    assert not TOTPDevice.objects.filter(user=radiologist).exists()
    assert AuditEvent.objects.filter(detail__change="2fa-reset", user=admin_user, detail__target="rita").count() == 1

    assert password_step(client).status_code == 302 and logged_in(client)
    assert client.get(reverse("study-list"))["Location"] == reverse("twofactor-enrol")
