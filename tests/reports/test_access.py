"""Who sees a report: everyone who can see the study (the one visibility rule), signed text only
for the portal; a referrer never sees a report on a study that is not theirs (404, like a report
that does not exist); the notification link needs a login and opens only one's own."""
import pytest
from django.urls import reverse

from reports import services
from reports.models import Notification
from tests.reports.conftest import FINDINGS, make_study, write

pytestmark = pytest.mark.django_db


def test_the_uploader_reads_the_final_report_and_an_outsider_gets_404(client, final_report, alice, charlie):
    url = reverse("report-page", args=[final_report.pk])
    client.force_login(alice)
    page = client.get(url)
    assert page.status_code == 200 and FINDINGS in page.content.decode()
    client.force_login(charlie)
    assert client.get(url).status_code == 404
    assert client.get(reverse("report-pdf", args=[final_report.pk])).status_code == 404
    assert client.get(reverse("report-page", args=[final_report.pk + 1000])).status_code == 404


def test_a_referrer_never_sees_a_report_on_someone_elses_study(client, tmp_path, radiologist, django_user_model, django_capture_on_commit_callbacks):
    from tests.conftest import _person

    bob = _person(django_user_model, "bob", "Referrer")
    other_study = make_study(tmp_path, owner=bob, PatientID="P-BOB")
    report = services.worklist_enter(study=other_study)
    services.report_claim(report_id=report.pk, user=radiologist)
    write(report, radiologist, findings="BOB-ONLY")
    with django_capture_on_commit_callbacks(execute=False):
        services.report_sign(report_id=report.pk, user=radiologist, kind="final", password="rita-password-123")
    alice = _person(django_user_model, "alice2", "Referrer")
    client.force_login(alice)
    for name in ("report-page", "report-pdf", "report-edit"):
        assert client.get(reverse(name, args=[report.pk])).status_code == 404, name
    api = client.get(reverse("reports-api:report-detail", args=[report.pk]))
    assert api.status_code == 404 and api.json()["code"] == "not_found"
    assert client.get(reverse("reports-api:report-list")).json()["results"] == []


def test_the_portal_does_not_see_a_draft(client, claimed, radiologist, alice):
    write(claimed, radiologist, findings="DRAFT-TEXT")
    client.force_login(alice)
    assert client.get(reverse("report-page", args=[claimed.pk])).status_code == 404
    assert client.get(reverse("reports-api:report-list")).json()["results"] == []
    client.force_login(radiologist)
    assert "DRAFT-TEXT" in client.get(reverse("report-edit", args=[claimed.pk])).content.decode()


def test_a_radiologist_does_not_see_a_report_outside_the_pool(client, tmp_path, alice, radiologist, django_user_model):
    from reports.models import Report
    from tests.conftest import _person

    private = make_study(tmp_path, owner=alice, for_reading=False, PatientID="P-PRIV")
    report = Report.objects.create(study=private, complete_at=private.created_at)
    client.force_login(radiologist)
    assert client.get(reverse("report-edit", args=[report.pk])).status_code == 404
    assert client.post(reverse("report-claim", args=[report.pk])).status_code == 404


def test_the_notification_link_requires_login_and_opens_only_ones_own(client, final_report, alice, charlie):
    services_path = reverse("report-page", args=[final_report.pk])
    response = client.get(services_path)
    assert response.status_code == 302 and response.url.startswith(reverse("login"))
    notification = Notification.objects.create(recipient=alice, report=final_report, kind="report-final", message="A report is ready", link=services_path)
    client.force_login(charlie)
    assert client.post(reverse("notification-open", args=[notification.pk])).status_code == 404
    client.force_login(alice)
    page = client.get(reverse("notifications")).content.decode()
    assert "A report is ready" in page
    opened = client.post(reverse("notification-open", args=[notification.pk]))
    assert opened.status_code == 302 and opened.url == services_path
    notification.refresh_from_db()
    assert notification.read_at is not None


def test_the_study_page_and_my_uploads_show_the_report(client, final_report, alice):
    client.force_login(alice)
    study_page = client.get(reverse("study-detail", args=[final_report.study.study_instance_uid])).content.decode()
    assert reverse("report-page", args=[final_report.pk]) in study_page
    uploads = client.get(reverse("my-uploads")).content.decode()
    assert '<td class="status">reported</td>' in uploads
    assert reverse("report-pdf", args=[final_report.pk]) in uploads


def test_viewing_a_report_is_audited(client, final_report, alice):
    from audit.models import AuditEvent

    client.force_login(alice)
    client.get(reverse("report-page", args=[final_report.pk]))
    row = AuditEvent.objects.get(action="report-view", username="alice")
    assert row.study_uid == final_report.study.study_instance_uid and row.detail["report"] == final_report.pk
