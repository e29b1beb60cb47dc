"""The pages under the Content Security Policy in Chromium: login, study list, study page,
series viewer, upload, my uploads and the audit page load and run their scripts with no
CSP violation; an inline script injected into a page is blocked and reported (the check works)."""

import pytest
from django.test import Client
from django.urls import reverse

from audit.models import AuditEvent
from studies.ingest import Origin, ingest_file
from studies.models import Instance
from tests.conftest import write_dicom

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

WATCH_VIOLATIONS = """
window.__csp = [];
document.addEventListener('securitypolicyviolation', e => window.__csp.push(e.violatedDirective + ' ' + e.blockedURI));
"""


@pytest.fixture
def browser(live_server, chromium):
    return chromium


def open_context(browser, live_server, user=None):
    context = browser.new_context(base_url=live_server.url)
    if user is not None:
        client = Client()
        client.force_login(user)
        context.add_cookies([{"name": "sessionid", "value": client.cookies["sessionid"].value, "url": live_server.url}])
    context.add_init_script(WATCH_VIOLATIONS)
    page = context.new_page()
    console = []
    page.on("console", lambda message: console.append(message.text))
    page.on("pageerror", lambda error: console.append(f"pageerror: {error}"))
    return page, console


def csp_messages(console):
    return [m for m in console if "Content Security Policy" in m or "Content-Security-Policy" in m]


def test_every_page_loads_without_a_csp_violation(browser, live_server, admin_user, tmp_path):
    result = ingest_file(write_dicom(tmp_path / "ct.dcm"), origin=Origin(user_id=admin_user.pk))
    instance = Instance.objects.select_related("series__study").get(pk=result.instance_id)
    study_uid, series_uid = instance.series.study.study_instance_uid, instance.series.series_instance_uid

    page, console = open_context(browser, live_server)
    page.goto(reverse("login"))
    assert page.evaluate("window.__csp") == []

    page, console = open_context(browser, live_server, admin_user)
    for url in (
        reverse("study-list"), reverse("study-detail", args=[study_uid]), reverse("series-view", args=[study_uid, series_uid]),
        reverse("upload"), reverse("my-uploads"), reverse("audit-search"),
    ):
        response = page.goto(url)
        assert response.status == 200, url
        page.wait_for_load_state("networkidle")
        assert page.evaluate("window.__csp") == [], url
    assert csp_messages(console) == [] and not [m for m in console if m.startswith("pageerror")]
    # The series viewer's script ran under the policy: it fetched the rendered frame (audited).
    assert AuditEvent.objects.filter(action="image-download", study_uid=study_uid).exists()


def test_an_injected_inline_script_is_blocked_and_reported(browser, live_server, admin_user):
    page, console = open_context(browser, live_server, admin_user)
    page.goto(reverse("study-list"))
    page.evaluate("() => { const s = document.createElement('script'); s.textContent = 'window.pwned = 1'; document.body.appendChild(s); }")
    page.wait_for_function("window.__csp.length > 0")
    assert page.evaluate("window.pwned") is None
    assert page.evaluate("window.__csp")[0].startswith("script-src")
