"""The study page's "Send to…" form: staff pick a destination node and a series, the send is
queued, and the page follows the job's progress (send.js polling the status API)."""
from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.urls import reverse
from pydicom import dcmread

from studies.ingest import Origin, ingest_file
from studies.models import RemoteNode, SendJob
from tests.conftest import CT_HEAD
from tests.studies.test_dicomserver import series_files
from tests.frontend.test_browser_upload_and_view import browser_page  # noqa: F401  (a fixture)
from tests.studies.test_sending import received, storescp  # noqa: F401  (a fixture)


@pytest.fixture
def study(alice):
    """Alice's three head slices; staff see every study."""
    files = series_files(CT_HEAD)[:3]
    for path in files:
        assert ingest_file(Path(path), origin=Origin(user_id=alice.id)).ok
    return dcmread(files[0], stop_before_pixels=True)


@pytest.fixture
def nodes(db):
    viewer = RemoteNode.objects.create(ae_title="VIEWER", host="127.0.0.1", port=105, is_move_destination=True, description="<b>reading room</b>")
    modality = RemoteNode.objects.create(ae_title="MODALITY", host="127.0.0.1", port=104)  # sends to us; not a destination
    return viewer, modality


@pytest.mark.django_db
def test_staff_see_the_destinations_and_the_series_in_the_send_form(client, admin_user, study, nodes):
    client.force_login(admin_user)
    page = client.get(reverse("study-detail", args=[study.StudyInstanceUID])).content.decode()

    form = page[page.index('id="send-form"'):page.index("</form>", page.index('id="send-form"'))]
    assert f'action="{reverse("study-send", args=[study.StudyInstanceUID])}"' in page
    assert "csrfmiddlewaretoken" in form
    assert re.findall(r'<option value="(\d+)">([A-Z]+) ', form) == [(str(nodes[0].pk), "VIEWER")]  # not MODALITY
    assert "&lt;b&gt;reading room&lt;/b&gt;" in form  # node descriptions are escaped
    assert f'value="{study.SeriesInstanceUID}"' in form and '<option value="">The whole study</option>' in form
    assert 'id="send-progress"' not in page and "send.js" not in page


@pytest.mark.django_db
def test_alice_who_is_not_staff_gets_no_send_form(client, alice, study, nodes):
    client.force_login(alice)
    page = client.get(reverse("study-detail", args=[study.StudyInstanceUID])).content.decode()
    assert "Send to…" not in page and 'id="send-form"' not in page


@pytest.mark.django_db
def test_sending_from_the_page_queues_the_job_and_shows_its_progress(client, admin_user, study, nodes, django_capture_on_commit_callbacks, monkeypatch):
    queued = []
    monkeypatch.setattr("studies.tasks.send_job.delay", queued.append)
    client.force_login(admin_user)

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("study-send", args=[study.StudyInstanceUID]), {"node": nodes[0].pk, "series": study.SeriesInstanceUID})

    job = SendJob.objects.get()
    assert queued == [job.pk]
    assert (job.node, job.series_instance_uid, job.total, job.requested_by) == (nodes[0], study.SeriesInstanceUID, 3, admin_user)
    assert response.status_code == 302
    assert response["Location"] == f"{reverse('study-detail', args=[study.StudyInstanceUID])}?send={job.pk}#send-progress"
    page = client.get(response["Location"]).content.decode()
    assert f'data-status-url="{reverse("api:send-job-detail", args=[job.pk])}"' in page
    assert "Sending to VIEWER (one series)" in page and "frontend/send.js" in page and "<progress" in page


@pytest.mark.django_db
def test_a_refused_send_comes_back_to_the_page_with_the_reason(client, admin_user, study, nodes):
    client.force_login(admin_user)
    response = client.post(reverse("study-send", args=[study.StudyInstanceUID]), {"node": nodes[1].pk}, follow=True)
    assert "is not a node images may be sent to" in response.content.decode()
    assert not SendJob.objects.exists()


@pytest.mark.django_db
def test_charlie_cannot_send_alices_study_nor_watch_a_job_on_it(client, admin_user, charlie, study, nodes):
    client.force_login(admin_user)
    client.post(reverse("study-send", args=[study.StudyInstanceUID]), {"node": "VIEWER"})
    job = SendJob.objects.get()  # the admin's job on Alice's study (Alice herself may not send: accounts roles)
    client.force_login(charlie)

    assert client.post(reverse("study-send", args=[study.StudyInstanceUID]), {"node": "VIEWER"}).status_code == 404
    assert client.get(reverse("study-detail", args=[study.StudyInstanceUID]) + f"?send={job.pk}").status_code == 404
    assert client.get(reverse("study-send", args=[study.StudyInstanceUID])).status_code in (404, 405)
    assert SendJob.objects.count() == 1


# --- In Chromium, with the real worker and a DCMTK peer --------------------------------------------


@pytest.mark.browser
@pytest.mark.dcmtk
@pytest.mark.django_db(transaction=True)
def test_an_administrator_sends_a_series_and_watches_every_instance_arrive(browser_page, admin_user, study, storescp):  # noqa: F811
    node, folder = storescp("BROWSERVIEW")
    page = browser_page
    page.goto("/login/")
    page.fill("#id_username", "admin")
    page.fill("#id_password", "correct horse battery staple")
    page.click("button[type=submit]")
    page.wait_for_selector("#study-table, #no-results")

    page.goto(reverse("study-detail", args=[study.StudyInstanceUID]))
    page.select_option("#send-node", str(node.pk))
    page.select_option("#send-series", study.SeriesInstanceUID)
    page.click("#send-form button[type=submit]")
    page.wait_for_selector("#send-progress[data-state=done]", timeout=120_000)

    assert page.locator("#send-bar").evaluate("bar => bar.value / bar.max") == 1
    assert page.locator("#send-counts").inner_text() == "3 of 3 sent · 3 ok"
    assert page.locator("#send-results li").count() == 3
    assert page.locator("#send-results li").first.inner_text().endswith(": ok (0x0000)")
    assert len(received(folder)) == 3
