"""A complete study joins the worklist through studies.signals.study_completed: once, with the
priority and clinical question of the upload that asked for the read; not when nobody asked."""
import pytest

from reports.models import Report
from studies.signals import study_completed
from tests.reports.conftest import make_study

pytestmark = pytest.mark.django_db


def fire(study):
    study_completed.send(sender=type(study), study=study)


def test_a_study_submitted_for_reading_enters_the_worklist_with_the_uploads_details(study, upload_job):
    fire(study)
    report = Report.objects.get(study=study)
    assert (report.status, report.priority, report.holder) == ("unread", "urgent", None)
    assert report.clinical_question == upload_job.reason_for_exam
    assert report.referring_physician == "Dr. Who"
    assert report.upload_job == upload_job and report.complete_at is not None


def test_the_signal_twice_makes_one_report(study):
    fire(study)
    fire(study)
    assert Report.objects.filter(study=study).count() == 1


def test_a_study_received_over_dicom_is_read_at_routine_priority(tmp_path):
    study = make_study(tmp_path, owner=None)
    fire(study)
    report = Report.objects.get(study=study)
    assert (report.priority, report.clinical_question, report.upload_job) == ("routine", "", None)


def test_an_upload_kept_private_does_not_enter_the_worklist(tmp_path, alice):
    study = make_study(tmp_path, owner=alice, for_reading=False)
    fire(study)
    assert not Report.objects.filter(study=study).exists()


def test_a_cancelled_read_lets_the_study_enter_again(study, radiologist, admin_user):
    from reports import services

    fire(study)
    first = Report.objects.get(study=study)
    services.report_cancel(report_id=first.pk, by=admin_user, reason="duplicate order")
    fire(study)
    assert list(Report.objects.filter(study=study).order_by("id").values_list("status", flat=True)) == ["cancelled", "unread"]


def test_the_worklist_sorts_stat_first_and_filters(client, tmp_path, alice, radiologist):
    from studies.models import UploadJob

    def job(priority):
        return UploadJob.objects.create(owner=alice, status="done", upload_complete=True, submit_for_reading=True, priority=priority)

    routine = make_study(tmp_path, owner=alice, job=job("routine"), patient_name="ROUTINE^R", PatientID="P-R")
    stat = make_study(tmp_path, owner=alice, job=job("stat"), patient_name="STAT^S", PatientID="P-S", Modality="MR")
    fire(routine)
    fire(stat)
    client.force_login(radiologist)
    response = client.get("/worklist/")
    page = response.content.decode()
    assert page.index("STAT^S") < page.index("ROUTINE^R")
    page = client.get("/worklist/?modality=MR").content.decode()
    assert "STAT^S" in page and "ROUTINE^R" not in page
    page = client.get("/worklist/?priority=routine&sort=waiting").content.decode()
    assert "ROUTINE^R" in page and "STAT^S" not in page
    page = client.get("/worklist/?holder=me").content.decode()
    assert "Nothing waiting to be read." in page


def test_the_worklist_is_for_radiologists_and_admins_only(client, alice, charlie, radiologist, admin_user):
    for person, status in ((alice, 404), (charlie, 404), (radiologist, 200), (admin_user, 200)):
        client.force_login(person)
        assert client.get("/worklist/").status_code == status, person


def test_the_worklist_pages_through_every_waiting_study_keeping_the_filters(client, tmp_path, alice, radiologist, monkeypatch):
    from reports.views import worklist

    monkeypatch.setattr(worklist, "PAGE_ROWS", 2)
    for n in range(5):
        fire(make_study(tmp_path, owner=alice, patient_name=f"PAGED^{n}", PatientID=f"P-{n}"))
    client.force_login(radiologist)
    seen = []
    for number in (1, 2, 3):
        html = client.get("/worklist/", {"sort": "patient", "page": number}).content.decode()
        seen += [f"PAGED^{n}" for n in range(5) if f"PAGED^{n}" in html]
        assert f"Reports {2 * number - 1}–{min(2 * number, 5)} of 5" in html
        if number < 3:
            assert f"sort=patient&amp;page={number + 1}" in html  # the pager keeps the filters
    assert sorted(seen) == [f"PAGED^{n}" for n in range(5)] and len(seen) == 5
