"""In Chromium, without logging in: a shared link shows the study, its thumbnail, and the quick
series view steps through the images; once revoked, the same URL shows nothing of the study.
The patient name is a script payload: it shows as text and no script runs."""
from datetime import timedelta

import pytest
from pydicom.uid import generate_uid

from studies import sharing
from studies.ingest import Origin, ingest_file
from tests.conftest import write_dicom

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PAYLOAD = '<img src=x onerror="window.pwned=1">^<script>window.pwned=1</script>'


@pytest.fixture
def page(live_server, chromium):
    page = chromium.new_context(base_url=live_server.url).new_page()
    errors = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    yield page
    assert errors == []


def test_a_visitor_with_the_link_views_the_series_until_it_is_revoked(page, alice, tmp_path):
    study_uid, series_uid = generate_uid(), generate_uid()
    for number in (1, 2, 3):
        path = write_dicom(tmp_path / f"{number}.dcm", StudyInstanceUID=study_uid, SeriesInstanceUID=series_uid,
                           InstanceNumber=number, PatientName=PAYLOAD, StudyDescription="Shared head CT")
        assert ingest_file(path, origin=Origin(user_id=alice.id)).ok
    link, token = sharing.create_link(by=alice, study_uid=study_uid, lifetime=timedelta(days=1))

    page.goto(f"/shared/{token}/")
    assert page.locator("#patient-name").inner_text() == PAYLOAD
    thumbnail = page.locator("#series-list img")
    thumbnail.scroll_into_view_if_needed()
    page.wait_for_function("() => { const i = document.querySelector('#series-list img'); return i.complete && i.naturalWidth > 0; }")

    page.click("#series-list a.open-series")
    page.wait_for_function("() => { const i = document.getElementById('image'); return i.dataset.state === 'loaded' && i.naturalWidth > 0; }")
    assert page.locator("#position").inner_text() == "Image 1 / 3"
    page.focus("#stage")
    page.keyboard.press("ArrowRight")
    assert page.locator("#position").inner_text() == "Image 2 / 3"
    assert "/shared/" in page.locator("#image").get_attribute("src")
    assert page.evaluate("() => window.pwned") is None

    sharing.revoke_link(by=alice, link_id=link.pk)
    response = page.goto(f"/shared/{token}/")
    assert response.status == 404
    assert "Shared head CT" not in page.content()
