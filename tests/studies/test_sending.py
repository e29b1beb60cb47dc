"""Send to node: a study or series sent to a registered node over one association (C-STORE SCU),
with DCMTK's storescp as the real peer; the job's progress and per-instance results; the API."""
from __future__ import annotations

import subprocess
import time
from pathlib import Path

import numpy as np
import pytest
from django.urls import reverse
from pydicom import dcmread

from studies import sending
from studies.dimse import nodes
from studies.ingest import Origin, ingest_file
from studies.models import Instance, RemoteNode, SendJob
from studies.storage import dicom_storage
from tests.conftest import CT_ABDOMEN, CT_HEAD, free_port, require_tool, sample
from tests.studies.test_dicomserver import dataset_sha256, series_files

J2K = "compressed/extra/MR2_J2KR.dcm"  # JPEG 2000 lossless, MR


def archive(files, user) -> None:
    for path in files:
        assert ingest_file(Path(path), origin=Origin(user_id=user.id)).ok


def received(folder: Path) -> dict[str, Path]:
    return {str(dcmread(p, stop_before_pixels=True).SOPInstanceUID): p for p in folder.iterdir() if p.is_file()}


@pytest.fixture
def storescp(tmp_path):
    """A DCMTK Storage SCP on a free port, registered as a destination, answering C-ECHO before use.
    Without ``compressed`` it accepts the uncompressed transfer syntaxes only (DCMTK's default)."""
    started = []

    def start(ae_title: str = "VIEWER", *, compressed: bool = False):
        folder = tmp_path / ae_title
        folder.mkdir()
        port = free_port()
        process = subprocess.Popen(
            [require_tool("storescp"), "-aet", ae_title, "+B", *(["+xa"] if compressed else []), "-od", str(folder), str(port)],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        started.append(process)
        node = RemoteNode.objects.create(ae_title=ae_title, host="127.0.0.1", port=port, is_move_destination=True)
        for _ in range(100):  # wait until it listens (a readiness wait, not a timing assertion)
            if nodes.echo(node, timeout=5).ok:
                break
            time.sleep(0.1)
        return node, folder

    yield start
    for process in started:
        process.terminate()
        process.wait(timeout=10)


@pytest.mark.dcmtk
@pytest.mark.django_db
def test_rita_sends_a_series_and_every_instance_arrives_byte_for_byte(radiologist, storescp):
    head = series_files(CT_HEAD)[:4]
    archive(head + series_files(CT_ABDOMEN)[:2], radiologist)
    node, folder = storescp("VIEWER")
    first = dcmread(head[0], stop_before_pixels=True)

    job = sending.send_to_node(user=radiologist, node=node, study_uid=first.StudyInstanceUID, series_uid=first.SeriesInstanceUID)
    sending.run_send_job(job.pk)

    job.refresh_from_db()
    assert job.status == SendJob.Status.DONE, job.error
    assert (job.total, job.completed, job.warning, job.failed) == (4, 4, 0, 0)
    sent = {str(dcmread(p, stop_before_pixels=True).SOPInstanceUID): p for p in head}
    assert [r["result"] for r in job.results] == ["ok"] * 4
    assert {r["sop_instance_uid"] for r in job.results} == set(sent)
    assert {r["status"] for r in job.results} == {0}
    got = received(folder)
    assert set(got) == set(sent)  # the series only, not the abdomen study
    for uid, path in got.items():
        assert dataset_sha256(path) == dataset_sha256(sent[uid])
    assert job.started_at and job.finished_at


@pytest.mark.dcmtk
@pytest.mark.django_db
def test_a_compressed_instance_is_decompressed_for_a_node_that_accepts_only_uncompressed(radiologist, storescp):
    original = dcmread(sample(J2K))
    archive([sample(J2K)], radiologist)
    node, folder = storescp("PLAIN")

    job = sending.send_to_node(user=radiologist, node=node, study_uid=original.StudyInstanceUID)
    sending.run_send_job(job.pk)

    job.refresh_from_db()
    assert (job.status, job.completed, job.failed) == (SendJob.Status.DONE, 1, 0), job.results
    [copy] = [dcmread(p) for p in received(folder).values()]
    assert copy.SOPInstanceUID == original.SOPInstanceUID
    assert not copy.file_meta.TransferSyntaxUID.is_compressed
    assert np.array_equal(copy.pixel_array, original.pixel_array)


@pytest.mark.dcmtk
@pytest.mark.django_db
def test_a_compressed_instance_goes_as_stored_to_a_node_that_accepts_its_syntax(radiologist, storescp):
    archive([sample(J2K)], radiologist)
    node, folder = storescp("J2KVIEWER", compressed=True)
    instance = Instance.objects.select_related("series__study").get()

    job = sending.send_to_node(user=radiologist, node=node, study_uid=instance.series.study.study_instance_uid)
    sending.run_send_job(job.pk)

    [copy] = received(folder).values()
    assert dataset_sha256(copy) == dataset_sha256(Path(dicom_storage().path(instance.storage_key)))


@pytest.mark.django_db
def test_an_unreachable_node_fails_the_job_with_a_message_and_nothing_is_recorded_as_sent(radiologist):
    archive(series_files(CT_HEAD)[:2], radiologist)
    node = RemoteNode.objects.create(ae_title="GONE", host="127.0.0.1", port=free_port(), is_move_destination=True)
    study_uid = Instance.objects.values_list("series__study__study_instance_uid", flat=True).first()

    job = sending.send_to_node(user=radiologist, node=node, study_uid=study_uid)
    sending.run_send_job(job.pk)

    job.refresh_from_db()
    assert job.status == SendJob.Status.FAILED
    assert "GONE at 127.0.0.1" in job.error and "nothing was sent" in job.error
    assert (job.total, job.completed, job.failed, job.results) == (2, 0, 0, [])
    assert job.finished_at is not None


@pytest.mark.dcmtk
@pytest.mark.django_db
def test_running_a_job_twice_sends_it_once(radiologist, storescp):
    archive(series_files(CT_HEAD)[:2], radiologist)
    node, folder = storescp("ONCE")
    study_uid = Instance.objects.values_list("series__study__study_instance_uid", flat=True).first()
    job = sending.send_to_node(user=radiologist, node=node, study_uid=study_uid)

    sending.run_send_job(job.pk)
    finished = SendJob.objects.get(pk=job.pk).finished_at
    sending.run_send_job(job.pk)

    job.refresh_from_db()
    assert (job.status, job.completed, len(job.results), job.finished_at) == (SendJob.Status.DONE, 2, 2, finished)


@pytest.mark.django_db
def test_only_registered_destinations_take_a_send_and_the_series_must_be_in_the_study(radiologist):
    archive(series_files(CT_HEAD)[:1] + series_files(CT_ABDOMEN)[:1], radiologist)
    head, abdomen = (dcmread(series_files(f)[0], stop_before_pixels=True) for f in (CT_HEAD, CT_ABDOMEN))
    modality = RemoteNode.objects.create(ae_title="MODALITY", host="127.0.0.1", port=104)  # may store to us, not a destination
    viewer = RemoteNode.objects.create(ae_title="VIEWER", host="127.0.0.1", port=105, is_move_destination=True)

    with pytest.raises(sending.SendRefused, match="not a node images may be sent to"):
        sending.send_to_node(user=radiologist, node=modality, study_uid=head.StudyInstanceUID)
    with pytest.raises(sending.SendRefused, match="not a node images may be sent to"):
        sending.destination_for("MODALITY")
    with pytest.raises(sending.SendRefused, match="not part of this study"):
        sending.send_to_node(user=radiologist, node=viewer, study_uid=head.StudyInstanceUID, series_uid=abdomen.SeriesInstanceUID)
    assert sending.destination_for(str(viewer.pk)) == sending.destination_for("VIEWER") == viewer
    assert not SendJob.objects.exists()


# --- The API ------------------------------------------------------------------------------------


@pytest.fixture
def ritas_study(radiologist):
    """Rita uploaded it (and so sees it); sending is for Admin and Radiologist roles."""
    archive(series_files(CT_HEAD)[:2], radiologist)
    return dcmread(series_files(CT_HEAD)[0], stop_before_pixels=True)


@pytest.mark.django_db
def test_rita_queues_a_send_through_the_api_and_follows_it(client, radiologist, ritas_study, django_capture_on_commit_callbacks, monkeypatch):
    viewer = RemoteNode.objects.create(ae_title="VIEWER", host="127.0.0.1", port=105, is_move_destination=True)
    queued = []
    monkeypatch.setattr("studies.tasks.send_job.delay", queued.append)
    client.force_login(radiologist)

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("api:study-send", args=[ritas_study.StudyInstanceUID]),
            {"node": "VIEWER", "series": ritas_study.SeriesInstanceUID},
            content_type="application/json",
        )

    assert response.status_code == 202, response.content
    body = response.json()
    job = SendJob.objects.get()
    assert queued == [job.pk]  # enqueued once the request's transaction committed
    assert body["url"] == response["Location"] == reverse("api:send-job-detail", args=[job.pk])
    assert (body["status"], body["total"], body["node"]["id"], job.requested_by) == ("queued", 2, viewer.pk, radiologist)
    status = client.get(body["url"]).json()
    assert (status["id"], status["status"], status["done"], status["results"]) == (job.pk, "queued", 0, [])
    assert status["series_instance_uid"] == ritas_study.SeriesInstanceUID


@pytest.mark.django_db
def test_the_api_says_why_a_send_is_refused(client, radiologist, ritas_study):
    RemoteNode.objects.create(ae_title="MODALITY", host="127.0.0.1", port=104)
    client.force_login(radiologist)
    url = reverse("api:study-send", args=[ritas_study.StudyInstanceUID])

    for body, message in [({}, "Name the node"), ({"node": "MODALITY"}, "not a node images may be sent to"), ({"node": 9999}, "not a node")]:
        response = client.post(url, body, content_type="application/json")
        assert response.status_code == 400 and message in response.json()["detail"], (body, response.content)
    assert not SendJob.objects.exists()


@pytest.mark.django_db
def test_charlie_can_neither_send_ritas_study_nor_see_her_job(client, radiologist, charlie, ritas_study):
    RemoteNode.objects.create(ae_title="VIEWER", host="127.0.0.1", port=105, is_move_destination=True)
    node = RemoteNode.objects.get()
    job = sending.send_to_node(user=radiologist, node=node, study_uid=ritas_study.StudyInstanceUID)
    client.force_login(charlie)

    send = client.post(reverse("api:study-send", args=[ritas_study.StudyInstanceUID]), {"node": "VIEWER"}, content_type="application/json")
    missing = client.post(reverse("api:study-send", args=["1.2.3.4"]), {"node": "VIEWER"}, content_type="application/json")
    status = client.get(reverse("api:send-job-detail", args=[job.pk]))

    assert send.status_code == missing.status_code == 404
    assert status.status_code == 404
    assert SendJob.objects.count() == 1


@pytest.mark.django_db
def test_staff_may_follow_anybodys_send_job_and_strangers_must_log_in(client, admin_user, radiologist, ritas_study):
    node = RemoteNode.objects.create(ae_title="VIEWER", host="127.0.0.1", port=105, is_move_destination=True)
    job = sending.send_to_node(user=radiologist, node=node, study_uid=ritas_study.StudyInstanceUID)
    url = reverse("api:send-job-detail", args=[job.pk])

    assert client.get(url).status_code == 401
    client.force_login(admin_user)
    assert client.get(url).json()["id"] == job.pk


@pytest.mark.dcmtk
@pytest.mark.django_db(transaction=True)
def test_a_send_through_the_api_is_done_by_the_celery_worker(client, radiologist, storescp, worker):
    archive(series_files(CT_HEAD)[:3], radiologist)
    node, folder = storescp("WORKERVIEW")
    study_uid = Instance.objects.values_list("series__study__study_instance_uid", flat=True).first()
    client.force_login(radiologist)

    response = client.post(reverse("api:study-send", args=[study_uid]), {"node": node.pk}, content_type="application/json")
    assert response.status_code == 202, response.content
    status = response.json()
    for _ in range(600):  # until the worker finishes (a wait, not a timing assertion)
        status = client.get(status["url"]).json()
        if status["status"] in ("done", "failed"):
            break
        time.sleep(0.2)

    assert (status["status"], status["total"], status["completed"], status["done"]) == ("done", 3, 3, 3), status
    assert {r["result"] for r in status["results"]} == {"ok"}
    assert len(received(folder)) == 3
