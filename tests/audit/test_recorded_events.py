"""Every audited action writes exactly one audit row with the right DICOM event id and outcome.
The admin (who sees everything) reads, downloads and searches; Alice uploads; Charlie, the
outsider, is refused a study that exists (the trail knows, the response does not say)."""
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from audit.models import AuditEvent, Outcome
from studies.ingest import Origin, ingest_file
from studies.models import Instance
from studies.uploads import upload_complete, upload_job_create, upload_process, upload_receive_batch
from tests.conftest import write_dicom

pytestmark = pytest.mark.django_db


@pytest.fixture
def instance(tmp_path, admin_user):
    result = ingest_file(write_dicom(tmp_path / "ct.dcm", PatientID="PAT-7"), origin=Origin(user_id=admin_user.pk))
    return Instance.objects.select_related("series__study").get(pk=result.instance_id)


@pytest.fixture
def admin_client(client, admin_user):
    client.force_login(admin_user)
    return client


def only_row(action: str) -> AuditEvent:
    rows = list(AuditEvent.objects.filter(action=action))
    assert len(rows) == 1, rows
    return rows[0]


def uids(instance):
    return instance.series.study.study_instance_uid, instance.series.series_instance_uid, instance.sop_instance_uid


def test_the_admin_opening_a_study_page_records_one_study_view(admin_client, admin_user, instance):
    study_uid = instance.series.study.study_instance_uid
    assert admin_client.get(reverse("study-detail", args=[study_uid])).status_code == 200
    row = only_row("study-view")
    assert (row.event, row.outcome, row.user_id, row.study_uid, row.patient_id) == ("110103", Outcome.SUCCESS, admin_user.pk, study_uid, "PAT-7")
    assert row.ip == "127.0.0.1"


def test_the_series_viewer_records_one_study_view_with_the_series(admin_client, instance):
    study_uid, series_uid, _ = uids(instance)
    assert admin_client.get(reverse("series-view", args=[study_uid, series_uid])).status_code == 200
    row = only_row("study-view")
    assert row.detail == {"series": series_uid}


def test_a_rest_frame_image_records_one_image_download(admin_client, instance):
    response = admin_client.get(reverse("api:frame-image", args=[*uids(instance), 1]))
    assert response.status_code == 200
    row = only_row("image-download")
    assert (row.event, row.outcome, row.study_uid) == ("110103", Outcome.SUCCESS, uids(instance)[0])
    assert row.detail == {"sop": instance.sop_instance_uid, "frame": 1, "kind": "frame"}


def test_scrolling_through_a_series_records_one_image_download_per_window(admin_client, instance):
    for _ in range(3):
        assert admin_client.get(reverse("api:frame-image", args=[*uids(instance), 1]) + "?window=40,400").status_code == 200
    assert admin_client.get(reverse("dicomweb:rendered-frame", args=[*uids(instance), "1"])).status_code == 200
    assert only_row("image-download").detail["frame"] == 1


def test_a_dicomweb_rendered_frame_records_one_image_download(admin_client, instance):
    response = admin_client.get(reverse("dicomweb:rendered-frame", args=[*uids(instance), "1"]), HTTP_ACCEPT="image/png")
    assert response.status_code == 200
    assert only_row("image-download").event == "110103"


def test_a_wado_rs_instance_retrieve_records_one_transfer(admin_client, instance):
    response = admin_client.get(reverse("dicomweb:instance", args=uids(instance)), HTTP_ACCEPT="application/dicom")
    assert response.status_code == 200
    b"".join(response.streaming_content)
    row = only_row("wado")
    assert (row.event, row.outcome, row.study_uid) == ("110104", Outcome.SUCCESS, uids(instance)[0])
    assert row.detail["instances"] == 1 and row.detail["sop_uid"] == instance.sop_instance_uid


def test_a_wado_rs_study_retrieve_records_one_transfer(admin_client, instance):
    response = admin_client.get(reverse("dicomweb:study", args=uids(instance)[:1]), HTTP_ACCEPT='multipart/related; type="application/dicom"')
    assert response.status_code == 200
    b"".join(response.streaming_content)
    assert only_row("wado").detail == {"what": "instances", "instances": 1}


def test_a_viewer_fetching_a_series_frame_by_frame_records_one_access_per_window(admin_client, instance):
    url = reverse("dicomweb:frames", args=[*uids(instance), "1"])
    for _ in range(3):
        response = admin_client.get(url, HTTP_ACCEPT='multipart/related; type="application/octet-stream"')
        assert response.status_code == 200
        b"".join(response.streaming_content)
    row = only_row("wado")
    assert (row.event, row.study_uid) == ("110103", uids(instance)[0])
    assert row.detail == {"what": "frames", "series_uid": uids(instance)[1], "sop_uid": uids(instance)[2], "frames": "1", "instances": 1}


def test_a_qido_rs_search_records_one_query(admin_client, instance):
    response = admin_client.get(reverse("dicomweb:studies") + "?PatientID=PAT-7", HTTP_ACCEPT="application/dicom+json")
    assert response.status_code == 200 and len(response.json()) == 1
    row = only_row("qido")
    assert (row.event, row.outcome) == ("110112", Outcome.SUCCESS)
    assert row.detail == {"level": "study", "query": "PatientID=PAT-7", "results": 1}


def test_alices_finished_upload_records_one_import_for_the_whole_job(alice, tmp_path):
    files = [write_dicom(tmp_path / f"{n}.dcm", StudyInstanceUID="1.2.826.0.1.77", InstanceNumber=n) for n in (1, 2, 3)]
    job = upload_job_create(owner=alice)
    upload_receive_batch(job=job, files=[(p.name, SimpleUploadedFile(p.name, p.read_bytes())) for p in files])
    upload_complete(job=job)
    upload_process(job_id=job.id)
    upload_process(job_id=job.id)  # the task may run twice: still one row

    row = only_row("upload")
    assert (row.event, row.outcome, row.user_id, row.study_uid) == ("110107", Outcome.SUCCESS, alice.pk, "1.2.826.0.1.77")
    assert row.detail["items"] == {"stored": 3}


def test_an_upload_with_a_rejected_file_is_a_minor_failure(alice, tmp_path):
    good = write_dicom(tmp_path / "good.dcm")
    job = upload_job_create(owner=alice)
    bad = write_dicom(tmp_path / "bad.dcm", StudyInstanceUID="not a UID").read_bytes()
    upload_receive_batch(job=job, files=[("good.dcm", SimpleUploadedFile("good.dcm", good.read_bytes())), ("bad.dcm", SimpleUploadedFile("bad.dcm", bad))])
    upload_complete(job=job)
    upload_process(job_id=job.id)
    row = only_row("upload")
    assert row.outcome == Outcome.MINOR_FAILURE and row.detail["items"]["rejected"] == 1


def test_charlie_guessing_an_existing_study_gets_a_plain_404_and_one_denied_row(client, charlie, instance):
    client.force_login(charlie)
    study_uid = instance.series.study.study_instance_uid
    denied = client.get(reverse("study-detail", args=[study_uid]))
    missing = client.get(reverse("study-detail", args=["1.2.3.404"]))
    assert denied.status_code == missing.status_code == 404
    assert denied.content.replace(study_uid.encode(), b"") == missing.content.replace(b"1.2.3.404", b"")
    row = only_row("access-denied")
    assert (row.event, row.outcome, row.user_id, row.study_uid) == ("110113", Outcome.MINOR_FAILURE, charlie.pk, study_uid)
    assert not AuditEvent.objects.filter(action="study-view").exists()


def test_a_role_change_and_a_share_each_record_one_row(admin_user, alice, charlie, instance):
    from audit import events

    events.role_changed(actor=admin_user, user=alice, old_role=None, new_role="Referrer")
    events.study_shared(actor=admin_user, study=instance.series.study, with_username="charlie")
    role = only_row("role-change")
    assert (role.event, role.user_id, role.detail) == ("110113", admin_user.pk, {"target": "alice", "target_id": alice.pk, "from": None, "to": "Referrer"})
    share = only_row("share")
    assert (share.event, share.study_uid, share.patient_id, share.detail["with"]) == ("110106", instance.series.study.study_instance_uid, "PAT-7", "charlie")


def test_sharing_a_study_through_the_service_records_one_share_and_withdrawing_another(admin_user, charlie, instance):
    from studies.sharing import share_with_user, unshare_with_user

    study_uid = instance.series.study.study_instance_uid
    share_with_user(by=admin_user, study_uid=study_uid, username="charlie")
    unshare_with_user(by=admin_user, study_uid=study_uid, username="charlie")
    rows = list(AuditEvent.objects.filter(action="share").order_by("id"))
    assert [(r.event, r.user_id, r.study_uid, r.detail["with"], r.detail["revoked"]) for r in rows] == [
        ("110106", admin_user.pk, study_uid, "charlie", False), ("110106", admin_user.pk, study_uid, "charlie", True)
    ]


def test_charlie_asking_dicomweb_for_an_existing_study_gets_the_same_404_and_one_denied_row(client, charlie, instance):
    client.force_login(charlie)
    study_uid = instance.series.study.study_instance_uid
    denied = client.get(reverse("dicomweb:study-metadata", args=[study_uid]), HTTP_ACCEPT="application/dicom+json")
    missing = client.get(reverse("dicomweb:study-metadata", args=["1.2.3.404"]), HTTP_ACCEPT="application/dicom+json")
    assert denied.status_code == missing.status_code == 404 and denied.json() == missing.json()
    row = only_row("access-denied")
    assert (row.event, row.user_id, row.study_uid, row.detail["path"]) == ("110113", charlie.pk, study_uid, f"/dicomweb/studies/{study_uid}/metadata")


def test_a_missing_series_in_a_study_the_admin_sees_is_no_denial(admin_client, instance):
    study_uid = instance.series.study.study_instance_uid
    assert admin_client.get(reverse("series-view", args=[study_uid, "1.2.3.404"])).status_code == 404
    assert admin_client.get(reverse("dicomweb:series-metadata", args=[study_uid, "1.2.3.404"]), HTTP_ACCEPT="application/dicom+json").status_code == 404
    assert not AuditEvent.objects.filter(action="access-denied").exists()
