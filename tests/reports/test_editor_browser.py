"""In Chromium: Rita opens the worklist, claims a study, writes in the editor beside the
embedded quick view (autosave, a macro), signs with her password and lands on the signed
report. The patient name and the clinical question are script payloads: they show as text
and no script runs (CSP forbids inline scripts; the pages escape every DICOM text)."""
import pytest
from django.test import Client

from reports import services
from reports.models import Report, TextMacro
from studies.models import UploadJob
from tests.reports.conftest import make_study

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PAYLOAD = '<img src=x onerror="window.pwned=1">^<script>window.pwned=1</script>'
QUESTION = '<script>window.pwned=2</script> chest pain'


@pytest.fixture
def page(live_server, chromium, radiologist):
    context = chromium.new_context(base_url=live_server.url)
    client = Client()
    client.force_login(radiologist)
    context.add_cookies([{"name": "sessionid", "value": client.cookies["sessionid"].value, "url": live_server.url}])
    page = context.new_page()
    errors = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    yield page
    assert errors == []


def test_rita_claims_writes_and_signs_a_report_in_the_browser(page, tmp_path, alice):
    job = UploadJob.objects.create(owner=alice, status="done", upload_complete=True, submit_for_reading=True, priority="stat", reason_for_exam=QUESTION)
    study = make_study(tmp_path, owner=alice, job=job, patient_name=PAYLOAD, images=3)
    report = services.worklist_enter(study=study)
    TextMacro.objects.create(name="no effusion", text="No pleural effusion.")

    page.goto("/worklist/")
    row = page.locator(f"tr[data-report='{report.pk}']")
    assert row.locator("td.patient").inner_text().splitlines()[0] == PAYLOAD
    assert row.locator("td.question").inner_text() == QUESTION
    assert row.locator("td.priority").inner_text() == "STAT"
    row.locator("button.claim").click()
    page.wait_for_selector("#report-form")
    assert page.locator("#patient-name").inner_text() == PAYLOAD
    assert page.locator("#clinical-question").inner_text() == QUESTION
    # The quick view is embedded and shows the first image.
    page.wait_for_function("() => { const i = document.getElementById('image'); return i.dataset.state === 'loaded' && i.naturalWidth > 0; }")
    assert page.locator("#position").inner_text() == "Image 1 / 3"

    page.fill("#section-findings", "Right lower lobe consolidation.")
    page.wait_for_selector("#autosave-status[data-state=saved]")
    assert Report.objects.get(pk=report.pk).versions.get().section_text("findings") == "Right lower lobe consolidation."
    page.click("#section-impression")
    page.select_option("#macro-pick", label="no effusion")
    page.click("#insert-macro")
    assert page.input_value("#section-impression") == "No pleural effusion."

    page.fill("#sign-password", "rita-password-123")
    page.click("#sign-final")
    page.wait_for_selector("#report-sections")
    assert "/reports/" in page.url and page.locator("#report-status").inner_text() == "final"
    assert "Right lower lobe consolidation." in page.locator("#report-sections").inner_text()
    assert "No pleural effusion." in page.locator("#report-sections").inner_text()
    assert page.locator("#patient-name").inner_text() == PAYLOAD
    assert page.evaluate("() => window.pwned") is None
    report.refresh_from_db()
    assert report.status == "final" and report.versions.get().kind == "final"


def test_a_wrong_password_keeps_the_text_and_says_so(page, tmp_path, alice, radiologist):
    study = make_study(tmp_path, owner=alice, for_reading=True)
    report = services.worklist_enter(study=study)
    services.report_claim(report_id=report.pk, user=radiologist)
    page.goto(f"/reports/{report.pk}/edit/")
    page.fill("#section-findings", "Findings kept.")
    page.fill("#sign-password", "not-my-password")
    page.click("#sign-final")
    page.wait_for_selector(".message.error")
    assert "password is not correct" in page.locator(".message.error").inner_text()
    assert page.input_value("#section-findings") == "Findings kept."
    report.refresh_from_db()
    assert report.status == "in_progress"
