"""In Chromium: an admin invites Nora from the users page, Nora opens the link from the mail,
chooses her password and logs in; Rita enrols an authenticator (the QR code is drawn by our
own view under the CSP) and logs in with password and code."""
import re

import pytest
from django.core import mail
from django.test import Client
from django.urls import reverse
from django_otp.plugins.otp_totp.models import TOTPDevice

from tests.accounts.totp import code_for

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

NORA_PASSWORD = "violet-harbour-lantern-42"
WATCH_VIOLATIONS = """
window.__csp = [];
document.addEventListener('securitypolicyviolation', e => window.__csp.push(e.violatedDirective + ' ' + e.blockedURI));
"""


def new_page(browser, live_server, user=None):
    context = browser.new_context(base_url=live_server.url)
    context.add_init_script(WATCH_VIOLATIONS)
    if user is not None:
        client = Client()
        client.force_login(user)
        context.add_cookies([{"name": "sessionid", "value": client.cookies["sessionid"].value, "url": live_server.url}])
    return context.new_page()


def log_in(page, username, password):
    page.goto(reverse("login"))
    page.fill("#id_username", username)
    page.fill("#id_password", password)
    page.click("main button[type=submit]")


def test_an_invited_person_sets_a_password_from_the_mail_and_logs_in(chromium, live_server, admin_user, settings):
    settings.LUMEN_BASE_URL = live_server.url
    admin = new_page(chromium, live_server, admin_user)
    admin.goto(reverse("user-list"))
    admin.click("#invite-link")
    admin.fill("#id_email", "nora@example.org")
    admin.fill("#id_first_name", "Nora")
    admin.fill("#id_last_name", "Quist")
    admin.select_option("#id_role", "Referrer")
    admin.click("#invite-form button[type=submit]")
    admin.wait_for_selector("#person-username")
    assert admin.text_content("#person-username") == "nora@example.org"
    assert "invited" in admin.text_content("#person-status")
    assert admin.evaluate("window.__csp") == []

    [message] = mail.outbox
    [url] = re.findall(r"(http://\S+/account/set-password/\S+/)", message.body)
    nora = new_page(chromium, live_server)
    nora.goto(url)
    assert nora.text_content("#set-password-username") == "nora@example.org"
    nora.fill("#id_new_password1", NORA_PASSWORD)
    nora.fill("#id_new_password2", NORA_PASSWORD)
    nora.click("main button[type=submit]")
    nora.wait_for_url(f"**{reverse('login')}")
    assert "Your password is set" in nora.content()

    log_in(nora, "nora@example.org", NORA_PASSWORD)
    nora.wait_for_url(live_server.url + reverse("study-list"))
    assert nora.text_content(".who") == "nora@example.org"
    assert nora.evaluate("window.__csp") == []

    again = new_page(chromium, live_server)
    response = again.goto(url)
    assert response.status == 404 and again.is_visible("#link-invalid")


def test_rita_enrols_an_authenticator_and_logs_in_with_a_code(chromium, live_server, radiologist):
    page = new_page(chromium, live_server, radiologist)
    page.goto(reverse("twofactor-enrol"))
    page.wait_for_function("document.querySelector('#twofactor-qr').complete")
    assert page.evaluate("document.querySelector('#twofactor-qr').naturalWidth") > 0  # drawn by our own view
    assert page.text_content("#twofactor-uri").startswith("otpauth://totp/")
    device = TOTPDevice.objects.get(user=radiologist, confirmed=False)
    page.fill("#id_code", code_for(device))
    page.click("#enrol-form button[type=submit]")
    page.wait_for_url(live_server.url + reverse("study-list"))
    assert "Two-factor login is on" in page.content()
    assert page.evaluate("window.__csp") == []

    fresh = new_page(chromium, live_server)
    log_in(fresh, "rita", "rita-password-123")
    fresh.wait_for_url(f"**{reverse('login-code')}")
    device.refresh_from_db()
    fresh.fill("#id_code", code_for(device, offset_steps=1))
    fresh.click("#code-form button[type=submit]")
    fresh.wait_for_url(live_server.url + reverse("study-list"))
    assert fresh.text_content(".who") == "rita"
