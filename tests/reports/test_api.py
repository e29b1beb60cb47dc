"""/api/reports/ for a RIS: list with filters, detail, versions, PDF, SR (404 until stored) and
FHIR, all through the visibility rule with token authentication."""
import pytest
from django.urls import reverse

from audit.models import AuditEvent
from reports import services
from tests.conftest import client_with_token
from tests.reports.conftest import FINDINGS

pytestmark = pytest.mark.django_db


def test_the_list_filters_by_status_study_and_priority(client, final_report, alice):
    api = client_with_token(alice)
    url = reverse("reports-api:report-list")
    uid = final_report.study.study_instance_uid
    assert [r["id"] for r in api.get(url).json()["results"]] == [final_report.pk]
    assert [r["id"] for r in api.get(url, {"status": "final"}).json()["results"]] == [final_report.pk]
    assert api.get(url, {"status": "amended"}).json()["results"] == []
    assert [r["study_instance_uid"] for r in api.get(url, {"study": uid}).json()["results"]] == [uid]
    assert api.get(url, {"priority": "stat"}).json()["results"] == []
    assert api.get(url, {"priority": "urgent"}).json()["count"] == 1
    assert api.get(url, {"status": "bogus"}).status_code == 400


def test_detail_and_versions_carry_the_signed_text(client, final_report, radiologist, alice, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False):
        services.report_add_addendum(report_id=final_report.pk, user=radiologist, text="Addendum text.", password="rita-password-123")
    api = client_with_token(alice)
    detail = api.get(reverse("reports-api:report-detail", args=[final_report.pk])).json()
    assert detail["status"] == "amended" and detail["final_by"] == "rita"
    assert detail["current"]["sections"]["findings"] == FINDINGS and detail["current"]["kind"] == "final"
    assert [a["text"] for a in detail["addenda"]] == ["Addendum text."]
    versions = api.get(reverse("reports-api:report-versions", args=[final_report.pk])).json()
    assert [(v["number"], v["kind"]) for v in versions] == [(1, "final"), (2, "addendum")]


def test_without_a_token_the_api_answers_401(client, final_report):
    response = client.get(reverse("reports-api:report-detail", args=[final_report.pk]))
    assert response.status_code == 401 and response.json()["code"] == "not_authenticated"


def test_the_pdf_holds_the_findings(client, final_report, alice):
    import io

    import pypdf

    response = client_with_token(alice).get(reverse("reports-api:report-pdf", args=[final_report.pk]))
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    text = " ".join(page.extract_text() for page in pypdf.PdfReader(io.BytesIO(response.content)).pages)
    assert "Small left pleural effusion" in " ".join(text.split())


def test_the_sr_is_404_until_it_is_stored_then_it_downloads(client, final_report, alice):
    import io

    import pydicom

    from reports.outputs_store import store_sr_for_version

    api = client_with_token(alice)
    url = reverse("reports-api:report-sr", args=[final_report.pk])
    assert api.get(url).status_code == 404
    uid = store_sr_for_version(final_report.versions.get().pk)
    assert uid and store_sr_for_version(final_report.versions.get().pk) == uid  # a second run stores nothing new
    stored = AuditEvent.objects.get(action="report-sr")  # once: the second run stored nothing
    assert (stored.event, stored.study_uid, stored.detail["sop"], stored.detail["version"]) == ("110107", final_report.study.study_instance_uid, uid, 1)
    response = api.get(url)
    assert response.status_code == 200 and response["Content-Type"] == "application/dicom"
    ds = pydicom.dcmread(io.BytesIO(b"".join(response.streaming_content)))
    assert ds.Modality == "SR" and ds.StudyInstanceUID == final_report.study.study_instance_uid


def test_fhir_diagnostic_report_references_the_study(client, final_report, alice):
    response = client_with_token(alice).get(reverse("reports-api:report-fhir", args=[final_report.pk]))
    body = response.json()
    assert response.status_code == 200 and body["resourceType"] == "DiagnosticReport"
    assert final_report.study.study_instance_uid in str(body)
    assert response["Content-Type"].startswith("application/fhir+json")


def test_a_draft_is_not_in_the_api_for_the_portal_but_readers_see_it(client, claimed, radiologist, alice):
    services.draft_save(report_id=claimed.pk, user=radiologist, sections={"findings": "DRAFT"})
    assert client_with_token(alice).get(reverse("reports-api:report-detail", args=[claimed.pk])).status_code == 404
    versions = client_with_token(radiologist).get(reverse("reports-api:report-versions", args=[claimed.pk])).json()
    assert [(v["kind"], v["sections"]["findings"], v["signed_at"]) for v in versions] == [("draft", "DRAFT", None)]
    pdf = client_with_token(radiologist).get(reverse("reports-api:report-pdf", args=[claimed.pk]))
    assert pdf.status_code == 404


def test_storing_the_sr_of_a_private_study_keeps_it_out_of_the_reading_pool(tmp_path, alice, admin_user, radiologist, django_user_model, django_capture_on_commit_callbacks):
    from reports.models import Report
    from reports.outputs_store import store_sr_for_version
    from studies.selectors import visible_studies
    from tests.conftest import _person
    from tests.reports.conftest import make_study, write

    private = make_study(tmp_path, owner=alice, for_reading=False, PatientID="P-PRIV")
    report = Report.objects.create(study=private, complete_at=private.created_at)
    services.report_assign(report_id=report.pk, by=admin_user, username="rita")
    write(report, radiologist)
    with django_capture_on_commit_callbacks(execute=False):
        version = services.report_sign(report_id=report.pk, user=radiologist, kind="final", password="rita-password-123")
    assert store_sr_for_version(version.pk)
    ravi = _person(django_user_model, "ravi", "Radiologist")
    assert not visible_studies(ravi).filter(pk=private.pk).exists()
    assert visible_studies(radiologist).filter(pk=private.pk).exists()
