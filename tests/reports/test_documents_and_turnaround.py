"""The ReportDocument of a signed version (what the PDF, SR and FHIR read): sections in order,
addenda, the critical communication, key images from the viewer rendered to PNG; and the
admins' turnaround page (study complete → final, per study and per radiologist)."""
from datetime import timedelta

import pytest
from django.urls import reverse

from annotations.models import KeyImage
from reports import services
from reports.documents import document_for
from reports.models import Report
from studies.models import Instance
from tests.reports.conftest import FINDINGS, write

pytestmark = pytest.mark.django_db
PASSWORD = "rita-password-123"


def test_the_document_of_an_addendum_holds_the_original_and_the_addenda(claimed, radiologist, django_capture_on_commit_callbacks):
    write(claimed, radiologist, technique="Low-dose CT.")
    services.draft_save(report_id=claimed.pk, user=radiologist, sections={"findings": FINDINGS, "technique": "Low-dose CT."},
                        critical=True, critical_told="Dr. Who", critical_told_at=None)
    with django_capture_on_commit_callbacks(execute=False):
        final = services.report_sign(report_id=claimed.pk, user=radiologist, kind="final", password=PASSWORD)
        addendum = services.report_add_addendum(report_id=claimed.pk, user=radiologist, text="Also a nodule.", password=PASSWORD)
    doc = document_for(final)
    assert (doc.status, doc.version) == ("final", 1)
    assert doc.sections == (("Technique", "Low-dose CT."), ("Findings", FINDINGS))
    assert doc.critical and doc.critical_communication == "Told Dr. Who" and doc.signed_by == "rita"
    later = document_for(addendum)
    assert (later.status, later.version, [a.text for a in later.addenda]) == ("amended", 2, ["Also a nodule."])
    assert later.sections == doc.sections and later.patient_name == "DOE^JANE"


def test_key_images_marked_in_the_viewer_are_figured_when_signing(client, claimed, radiologist, django_capture_on_commit_callbacks):
    instance = Instance.objects.filter(series__study=claimed.study).order_by("instance_number").first()
    KeyImage.objects.create(user=radiologist, study=claimed.study, instance=instance, frame=1, note="the effusion")
    client.force_login(radiologist)
    editor = client.get(reverse("report-edit", args=[claimed.pk])).content.decode()
    assert "the effusion" in editor and instance.sop_instance_uid in editor
    write(claimed, radiologist)
    with django_capture_on_commit_callbacks(execute=False):
        version = services.report_sign(report_id=claimed.pk, user=radiologist, kind="final", password=PASSWORD)
    assert version.key_images == [{"series_instance_uid": instance.series.series_instance_uid, "sop_instance_uid": instance.sop_instance_uid,
                                   "frame": 1, "note": "the effusion"}]
    KeyImage.objects.all().delete()  # the signed version keeps its figures
    (figure,) = document_for(version).key_images
    assert figure.png.startswith(b"\x89PNG") and figure.caption == "the effusion" and figure.sop_class_uid == instance.sop_class_uid


def test_turnaround_per_study_and_radiologist_for_admins_only(client, final_report, admin_user, radiologist):
    Report.objects.filter(pk=final_report.pk).update(complete_at=final_report.final_at - timedelta(hours=2, minutes=30))
    client.force_login(radiologist)
    assert client.get(reverse("turnaround")).status_code == 404
    client.force_login(admin_user)
    page = client.get(reverse("turnaround")).content.decode()
    assert "<td>rita</td><td class=\"num\">1</td><td class=\"num\">2 h 30 min</td>" in page
    assert f'data-report="{final_report.pk}"' in page and '<td class="num turnaround">2 h 30 min</td>' in page


def test_an_admin_assigns_and_reassigns_and_the_radiologist_then_sees_the_study(client, tmp_path, alice, admin_user, radiologist, django_user_model):
    from studies.selectors import visible_studies
    from tests.conftest import _person
    from tests.reports.conftest import make_study

    private = make_study(tmp_path, owner=alice, for_reading=False, PatientID="P-PRIV")
    report = Report.objects.create(study=private, complete_at=private.created_at)
    assert not visible_studies(radiologist).filter(pk=private.pk).exists()
    client.force_login(admin_user)
    client.post(reverse("report-assign", args=[report.pk]), {"radiologist": "rita"})
    report.refresh_from_db()
    assert (report.holder, report.status) == (radiologist, "in_progress")
    assert visible_studies(radiologist).filter(pk=private.pk).exists()
    ravi = _person(django_user_model, "ravi", "Radiologist")
    client.post(reverse("report-assign", args=[report.pk]), {"radiologist": "ravi"})
    report.refresh_from_db()
    assert report.holder == ravi
    client.post(reverse("report-assign", args=[report.pk]), {"radiologist": "alice"})  # not a radiologist
    report.refresh_from_db()
    assert report.holder == ravi


def test_a_radiologist_keeps_personal_macros_and_the_editor_offers_them(client, claimed, radiologist, alice, django_user_model):
    from reports.models import TextMacro
    from tests.conftest import _person

    client.force_login(radiologist)
    client.post(reverse("report-macros"), {"name": "nad", "text": "No acute abnormality."})
    macro = TextMacro.objects.get(owner=radiologist)
    assert "No acute abnormality." in client.get(reverse("report-edit", args=[claimed.pk])).content.decode()
    ravi = _person(django_user_model, "ravi", "Radiologist")
    client.force_login(ravi)
    assert "No acute abnormality." not in client.get(reverse("report-macros")).content.decode()
    assert client.post(reverse("report-macro-delete", args=[macro.pk])).status_code == 404
    client.force_login(alice)
    assert client.get(reverse("report-macros")).status_code == 404
    client.force_login(radiologist)
    client.post(reverse("report-macro-delete", args=[macro.pk]))
    assert not TextMacro.objects.exists()
